# SPDX-License-Identifier: GPL-3.0-or-later
"""Data set files: the gr-rfml HDF5 contract, RadioML 2016.10A and RadioML 2018.01A.

gr-rfml HDF5 (DESIGN.md, "Data contracts")::

    iq       (N, 2, L) float32   noisy vectors, row 0 = I, row 1 = Q
    clean    (N, 2, L) float32   the same vectors before noise
    label    (N,)      int64     index into the ``classes`` attribute
    snr_db   (N,)      float32   per-vector SNR (signal power measured before noise)
    params/<name> (N,)           per-vector generation parameters (randomised data sets)
    attributes: format, format_version, classes, sample_rate, samples_per_symbol, radio,
                seed, module_version, generation (JSON of every generation parameter)

Files are written without time stamps and with attributes in a fixed order, so the same
content gives a byte-identical file. :func:`read_dataset` detects the format.
"""

import io
import json
import math
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from . import sigmf
from .contract import DEFAULT_VECTOR_LENGTH

FORMAT_NAME = "gr-rfml"
FORMAT_VERSION = 1

# RadioML 2018.01A stores one-hot labels only; this is the corrected class order
# ("classes-fixed.txt" of the DeepSig release), index = column of Y.
RADIOML2018_CLASSES = (
    "OOK", "4ASK", "8ASK", "BPSK", "QPSK", "8PSK", "16PSK", "32PSK", "16APSK", "32APSK",
    "64APSK", "128APSK", "16QAM", "32QAM", "64QAM", "128QAM", "256QAM", "AM-SSB-WC",
    "AM-SSB-SC", "AM-DSB-WC", "AM-DSB-SC", "FM", "GMSK", "OQPSK",
)  # fmt: skip

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_REQUIRED_ATTRS = ("classes", "sample_rate", "samples_per_symbol", "radio", "seed")


class DatasetError(ValueError):
    """A data set file is missing, corrupt, of a foreign layout or inconsistent."""


@dataclass
class Dataset:
    """Labelled IQ vectors in memory.

    Attributes:
        iq (numpy.ndarray): ``(N, 2, L)`` float32, row 0 = I, row 1 = Q.
        clean (numpy.ndarray | None): ``(N, 2, L)`` float32 before noise, or None when the
            source has no clean copy (RadioML).
        label (numpy.ndarray): ``(N,)`` int64 index into ``classes``.
        snr_db (numpy.ndarray): ``(N,)`` float32.
        classes (tuple[str, ...]): class names, index = label.
        attrs (dict): file attributes (``generation`` decoded from JSON).
        params (dict[str, numpy.ndarray]): per-vector generation parameters, each ``(N,)``.
        format (str): ``"gr-rfml"``, ``"radioml2016"``, ``"radioml2018"`` or ``"sigmf"``.
    """

    iq: np.ndarray
    clean: np.ndarray | None
    label: np.ndarray
    snr_db: np.ndarray
    classes: tuple
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    format: str = FORMAT_NAME

    def __len__(self):
        return len(self.label)

    @property
    def vector_length(self):
        return self.iq.shape[-1]

    def subset(self, index):
        """A new Dataset with the vectors ``index`` (slice, bool mask or integer array)."""
        return Dataset(
            iq=self.iq[index],
            clean=None if self.clean is None else self.clean[index],
            label=self.label[index],
            snr_db=self.snr_db[index],
            classes=self.classes,
            attrs=dict(self.attrs),
            params={k: v[index] for k, v in self.params.items()},
            format=self.format,
        )

    def summary(self):
        """Multi-line human-readable summary: size, classes, SNRs, key attributes."""
        return _summary(len(self), self.vector_length, self.format, self.classes, self.label,
                        self.snr_db, self.attrs, self.params)  # fmt: skip


def _summary(n, length, fmt, classes, label, snr_db, attrs, params):
    counts = np.bincount(label, minlength=len(classes))
    snrs = np.unique(np.round(snr_db, 2))
    snr_text = (
        ", ".join(f"{s:g}" for s in snrs)
        if len(snrs) <= 12
        else f"{snrs.min():g} .. {snrs.max():g} dB ({len(snrs)} distinct values)"
    )
    lines = [
        f"{n} vectors of {length} samples ({fmt})",
        "classes: " + ", ".join(f"{c} {k}" for c, k in zip(classes, counts, strict=True)),
        f"SNR (dB): {snr_text}",
    ]
    for key in ("radio", "sample_rate", "samples_per_symbol", "seed", "module_version"):
        if key in attrs:
            lines.append(f"{key}: {attrs[key]}")
    if params:
        lines.append("per-vector parameters: " + ", ".join(sorted(params)))
    return "\n".join(lines)


def describe(path):
    """:meth:`Dataset.summary` of a data set file; a gr-rfml file's vectors are not read."""
    path = Path(path)
    with open(path, "rb") if path.is_file() else io.BytesIO() as f:
        hdf5 = f.read(8) == _HDF5_SIGNATURE
    if hdf5:
        return _read_hdf5(path, None, False, read_limit(path), vectors=False).summary()
    return read_dataset(path, clean=False).summary()


# --------------------------------------------------------------------------- writing


def _attr_value(value):
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return np.array(value, dtype=h5py.string_dtype())
    return value


class DatasetWriter:
    """Writes a gr-rfml HDF5 file of known size, slice by slice.

    The layout is contiguous (no chunking, no compression), time stamps are off and
    attributes are written in the order given, so identical content gives identical bytes.

    Args:
        path (str | Path): output file (overwritten).
        n_vectors (int): N.
        vector_length (int): L.
        classes (Sequence[str]): class names, index = label.
        attrs (dict): attributes; must hold sample_rate, samples_per_symbol, radio, seed.
            Dicts are stored as JSON strings.
        param_names (dict[str, numpy.dtype]): per-vector parameter datasets to create
            under ``params/``.
    """

    def __init__(self, path, n_vectors, vector_length, classes, attrs, param_names=None):
        missing = [k for k in _REQUIRED_ATTRS if k != "classes" and k not in attrs]
        if missing:
            raise ValueError(f"data set attributes {missing} are required (DESIGN.md contract)")
        if n_vectors < 1 or vector_length < 1:
            raise ValueError(f"cannot write {n_vectors} vectors of {vector_length} samples")
        self.path = Path(path)
        self.n_vectors = int(n_vectors)
        # No creation-order tracking: it adds time stamps to the group headers.
        self._f = h5py.File(self.path, "w", libver="earliest")
        f = self._f
        shape = (self.n_vectors, 2, int(vector_length))
        # Every row is written, so no fill values (they would double the writes).
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
        kw = {"track_times": False, "dcpl": dcpl}
        self.iq = f.create_dataset("iq", shape=shape, dtype=np.float32, **kw)
        self.clean = f.create_dataset("clean", shape=shape, dtype=np.float32, **kw)
        self.label = f.create_dataset("label", shape=(self.n_vectors,), dtype=np.int64, **kw)
        self.snr_db = f.create_dataset("snr_db", shape=(self.n_vectors,), dtype=np.float32, **kw)
        self.params = {}
        if param_names:
            group = f.create_group("params")
            for name, dtype in param_names.items():
                self.params[name] = group.create_dataset(
                    name, shape=(self.n_vectors,), dtype=dtype, **kw
                )
        head = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "classes": classes}
        for key, value in {**head, **attrs}.items():
            if isinstance(value, dict):
                value = json.dumps(value, sort_keys=True)
            f.attrs[key] = _attr_value(value)

    def write(self, start, iq, clean, label, snr_db, params=None):
        """Writes vectors ``start .. start + len(label)``.

        Args:
            start (int): first vector index.
            iq (numpy.ndarray): ``(n, 2, L)`` float32 or ``(n, L)`` complex.
            clean (numpy.ndarray): same shape as ``iq``.
            label (numpy.ndarray): ``(n,)``.
            snr_db (numpy.ndarray): ``(n,)``.
            params (dict[str, numpy.ndarray] | None): ``(n,)`` per name given at creation.
        """
        stop = start + len(label)
        if stop > self.n_vectors:
            raise ValueError(f"vectors {start}..{stop} exceed the file's {self.n_vectors}")
        self.iq[start:stop] = as_tensor(iq)
        self.clean[start:stop] = as_tensor(clean)
        self.label[start:stop] = label
        self.snr_db[start:stop] = snr_db
        for name, values in (params or {}).items():
            self.params[name][start:stop] = values

    def close(self):
        if self._f:
            self._f.close()
            self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_dataset(path, ds):
    """Writes a :class:`Dataset` (which must have ``clean``) as a gr-rfml HDF5 file."""
    if ds.clean is None:
        raise ValueError("the gr-rfml format needs the clean vectors; this data set has none")
    params = {k: v.dtype for k, v in ds.params.items()}
    with DatasetWriter(path, len(ds), ds.vector_length, ds.classes, ds.attrs, params) as w:
        w.write(0, ds.iq, ds.clean, ds.label, ds.snr_db, ds.params)


def as_tensor(x):
    """Complex ``(..., L)`` -> float32 ``(..., 2, L)`` (I, Q); a float ``(..., 2, L)`` passes."""
    x = np.asarray(x)
    if np.iscomplexobj(x):
        return np.stack([x.real, x.imag], axis=-2).astype(np.float32, copy=False)
    if x.ndim < 2 or x.shape[-2] != 2:
        raise ValueError(f"expected complex (..., L) or float (..., 2, L), got {x.shape}")
    return x.astype(np.float32, copy=False)


# --------------------------------------------------------------------------- reading

# A read may take at most this many bytes of memory per byte of the file on disk (plus
# READ_SLACK_BYTES): real data sets expand little (float16 or 8-bit samples to float32 at
# most 4x, compression a few x), while a file that declares more than it stores (HDF5
# chunks never written, a pickle referencing one array many times) would expand without
# bound. RFML_MAX_READ_BYTES (or max_bytes=) sets the limit in bytes instead.
MAX_READ_RATIO = 16
READ_SLACK_BYTES = 64 * 2**20
MAX_READ_ENV = "RFML_MAX_READ_BYTES"


def read_limit(path, max_bytes=None):
    """The most bytes of memory reading ``path`` may take (see MAX_READ_RATIO)."""
    if max_bytes is None and os.environ.get(MAX_READ_ENV):
        try:
            max_bytes = int(float(os.environ[MAX_READ_ENV]))
        except ValueError:
            raise DatasetError(f"{MAX_READ_ENV}={os.environ[MAX_READ_ENV]!r} is not a number "
                               "of bytes") from None  # fmt: skip
    if max_bytes is None:
        max_bytes = MAX_READ_RATIO * Path(path).stat().st_size + READ_SLACK_BYTES
    return int(max_bytes)


def _check_memory(path, nbytes, limit):
    if nbytes > limit:
        size = Path(path).stat().st_size
        raise DatasetError(
            f"{path}: reading it would take {nbytes / 1e6:.1f} MB of memory, more than the "
            f"{limit / 1e6:.1f} MB allowed for its {size / 1e6:.1f} MB on disk (a file that "
            "declares far more data than it holds). If it is genuine, read fewer vectors "
            f"(select=, --max-vectors) or raise the limit (max_bytes=, or {MAX_READ_ENV}=bytes)"
        )


def _count(sel, n):
    """Vectors selected by ``sel`` (None, a slice, a bool mask or increasing indices) of n."""
    if sel is None:
        return n
    if isinstance(sel, slice):
        return len(range(*sel.indices(n)))
    index = np.asarray(sel)
    if index.dtype == bool:
        if index.shape != (n,):
            raise ValueError(f"select mask has shape {index.shape}, the file {n} vectors")
        return int(index.sum())
    if index.ndim != 1 or index.dtype.kind not in "iu":
        raise ValueError("select must be a slice, a bool mask or a 1-D array of indices")
    if len(index) and (index.min() < 0 or index.max() >= n or np.any(np.diff(index) <= 0)):
        raise ValueError(f"select indices must increase and lie in 0..{n - 1}")
    return len(index)


def read_dataset(path, *, select=None, clean=True, max_bytes=None, vector_length=None):
    """Reads a data set file, detecting its format.

    Args:
        path (str | Path): a gr-rfml HDF5 file, a RadioML 2016.10A pickle
            (``RML2016.10a_dict.pkl``), a RadioML 2018.01A HDF5 file
            (``GOLD_XYZ_OSC.0001_1024.hdf5``) or a SigMF recording (``rfml capture``'s,
            or any other tool's with ``core:label`` annotations).
        select (slice | numpy.ndarray | None): vectors to read (a slice, a bool mask or
            increasing indices); all when None. HDF5 formats read only these from disk.
        clean (bool): also read the clean vectors (gr-rfml files only).
        max_bytes (int | None): the most memory the read may take; default
            :func:`read_limit` (16 bytes per byte of the file, or ``RFML_MAX_READ_BYTES``).
        vector_length (int | None): SigMF only: samples per vector; default the
            recording's ``gr_rfml:vector_length``, else ``DEFAULT_VECTOR_LENGTH``.

    Returns:
        Dataset

    Raises:
        FileNotFoundError: no such file.
        DatasetError: corrupt file, foreign layout, inconsistent contents, or more memory
            needed than ``max_bytes``.
    """
    path = Path(path)
    if path.suffix in (".sigmf-meta", ".sigmf-data") or sigmf.meta_path(path).is_file():
        ds = read_sigmf(path, vector_length, max_bytes=max_bytes)
        _count(select, len(ds))
        return ds if select is None else ds.subset(select)
    if not path.is_file():
        raise FileNotFoundError(f"data set {path} does not exist; make one with `rfml generate`")
    with open(path, "rb") as f:
        head = f.read(8)
    limit = read_limit(path, max_bytes)
    if head == _HDF5_SIGNATURE:
        return _read_hdf5(path, select, clean, limit)
    if head[:1] == b"\x80" or path.suffix in (".pkl", ".pickle"):
        ds = read_radioml2016(path, max_bytes=limit)
        _count(select, len(ds))
        return ds if select is None else ds.subset(select)
    raise DatasetError(
        f"{path} is neither HDF5 nor a pickle: expected a gr-rfml or RadioML 2018 HDF5 file "
        "or a RadioML 2016 pickle"
    )


def _read_hdf5(path, select, clean, limit, vectors=True):
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as e:
        msg = f"{path} is not a readable HDF5 file (truncated or corrupt?): {e}"
        raise DatasetError(msg) from e
    with f:
        try:
            if "iq" in f and "label" in f:
                return _read_rfml(path, f, select, clean, limit, vectors)
            if "X" in f and "Y" in f and "Z" in f:
                return _read_radioml2018(path, f, select, limit)
            names = sorted(f.keys())
        except DatasetError:
            raise
        except (OSError, KeyError, ValueError, TypeError, RuntimeError) as e:
            # h5py's errors for damaged objects, links to nowhere, unreadable types
            raise DatasetError(f"{path}: cannot read its data (corrupt or truncated?): {e}") from e
        raise DatasetError(
            f"{path} is an HDF5 file of another layout (objects: {names}); expected "
            "gr-rfml (iq, clean, label, snr_db) or RadioML 2018.01A (X, Y, Z)"
        )


def _dataset(path, f, name, kinds, ndim):
    """The HDF5 dataset ``name``, checked: a dataset of ``ndim`` dimensions whose values
    are of a numpy kind in ``kinds``, stored inside the file."""
    obj = f.get(name)
    if not isinstance(obj, h5py.Dataset):
        what = "missing" if obj is None else f"a {type(obj).__name__}"
        raise DatasetError(f"{path}: {name} is {what}, expected a dataset")
    if obj.dtype.kind not in kinds or obj.dtype.subdtype is not None:
        names = {"f": "float", "i": "integer", "u": "integer", "c": "complex", "b": "bool"}
        want = " or ".join(dict.fromkeys(names[k] for k in kinds))
        raise DatasetError(f"{path}: {name} holds {obj.dtype} values, expected {want}")
    if obj.ndim not in ((ndim,) if isinstance(ndim, int) else ndim):
        raise DatasetError(f"{path}: {name} has shape {obj.shape}, expected {ndim} dimensions")
    if obj.is_virtual or obj.id.get_create_plist().get_external_count():
        raise DatasetError(f"{path}: {name} keeps its data in other files (a virtual or "
                           "external dataset); copy it into one file first")  # fmt: skip
    return obj


def _nbytes(dset, rows, itemsize=None):
    """Bytes of memory ``rows`` rows of ``dset`` take (as float32 when itemsize=4)."""
    per_row = int(np.prod(dset.shape[1:], dtype=np.int64))
    return rows * per_row * max(dset.dtype.itemsize, itemsize or 0)


def _read_rows(dset, sel):
    return dset[()] if dset.ndim == 0 else dset[slice(None) if sel is None else sel]


def _labels(path, name, values, n_classes):
    """Integer labels in 0..n_classes-1 from an int or integral float array."""
    if values.dtype.kind == "f":
        integral = np.isfinite(values) & (values == np.round(values))
        if not np.all(integral):
            bad = values[~integral][0]
            raise DatasetError(f"{path}: {name} holds {bad!r}, not a whole class index")
    if len(values) and (values.min() < 0 or values.max() >= n_classes):
        raise DatasetError(
            f"{path}: labels outside 0..{n_classes - 1} in {name} ({n_classes} classes)"
        )
    return values.astype(np.int64)


def _class_names(path, value):
    """The ``classes`` attribute as a tuple of distinct names."""
    if isinstance(value, str) or not isinstance(value, tuple | list) or not value:
        raise DatasetError(f"{path}: the classes attribute is {value!r}; expected a list of "
                           "class names (e.g. ['OOK', 'GFSK'])")  # fmt: skip
    names = tuple(value)
    if not all(isinstance(c, str) and c for c in names) or len(set(names)) != len(names):
        raise DatasetError(f"{path}: classes {list(names)} are not distinct names")
    return names


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
        return tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                     for v in value.ravel())  # fmt: skip
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_rfml(path, f, sel, clean, limit, vectors=True):
    attrs = {k: _decode(v) for k, v in f.attrs.items()}
    missing = [k for k in _REQUIRED_ATTRS if k not in attrs]
    if missing:
        raise DatasetError(f"{path}: attributes {missing} are missing; regenerate the file")
    if isinstance(attrs.get("generation"), str):
        try:
            attrs["generation"] = json.loads(attrs["generation"])
        except (ValueError, RecursionError) as e:
            raise DatasetError(f"{path}: the generation attribute is not JSON: {e}") from None
    classes = _class_names(path, attrs.pop("classes"))
    iq = _dataset(path, f, "iq", "f", 3)
    n = len(iq)
    if iq.shape[1] != 2 or iq.shape[2] < 1:
        raise DatasetError(f"{path}: iq has shape {iq.shape}, expected (N, 2, L)")
    fields = {"label": _dataset(path, f, "label", "iuf", 1),
              "snr_db": _dataset(path, f, "snr_db", "iuf", 1)}  # fmt: skip
    params = f.get("params")
    if params is not None and not isinstance(params, h5py.Group):
        raise DatasetError(f"{path}: params is a {type(params).__name__}, expected a group")
    for name in params or ():
        fields[f"params/{name}"] = _dataset(path, f, f"params/{name}", "iuf", 1)
    for name, dset in fields.items():
        if dset.shape != (n,):
            raise DatasetError(f"{path}: {name} has shape {dset.shape}, expected ({n},)")
    cl = _dataset(path, f, "clean", "f", 3) if clean and vectors and "clean" in f else None
    if cl is not None and cl.shape != iq.shape:
        raise DatasetError(f"{path}: clean has shape {cl.shape}, iq {iq.shape}")
    rows = _count(sel, n)
    heavy = [iq, cl] if vectors else []
    _check_memory(path, sum(_nbytes(d, rows, 4) for d in [*heavy, *fields.values()] if d), limit)
    values = {name: _read_rows(dset, sel) for name, dset in fields.items()}
    label = _labels(path, "label", values.pop("label"), len(classes))
    snr = values.pop("snr_db").astype(np.float32)
    params = {name.split("/", 1)[1]: v for name, v in values.items()}
    if vectors:
        iq_rows = _read_rows(iq, sel).astype(np.float32, copy=False)
    else:  # describe(): zeros of the vectors' shape that take no memory
        iq_rows = np.broadcast_to(np.float32(0), (rows, 2, iq.shape[2]))
    cl_rows = None if cl is None else _read_rows(cl, sel).astype(np.float32, copy=False)
    return Dataset(iq_rows, cl_rows, label, snr, classes, attrs, params, FORMAT_NAME)


def _read_radioml2018(path, f, sel, limit):
    x = _dataset(path, f, "X", "fc", (2, 3))
    y = _dataset(path, f, "Y", "iufb", 2)
    z = _dataset(path, f, "Z", "iuf", (1, 2))
    n = len(x)
    layout = (f"RadioML 2018.01A: X (N, L, 2) float, Y (N, {len(RADIOML2018_CLASSES)}) "
              "one-hot, Z (N, 1) SNR in dB")  # fmt: skip
    if x.dtype.kind == "c" and not (x.ndim == 2 or x.shape[2] == 1):
        raise DatasetError(f"{path}: X is complex of shape {x.shape}; complex samples must "
                           f"be (N, L) (or (N, L, 1)): expected {layout}")  # fmt: skip
    if x.dtype.kind == "f" and (x.ndim != 3 or x.shape[2] != 2):
        raise DatasetError(f"{path}: X has shape {x.shape}; expected {layout}")
    if x.shape[1] < 1 or y.shape != (n, len(RADIOML2018_CLASSES)):
        raise DatasetError(f"{path}: X {x.shape} / Y {y.shape} do not match {layout}")
    if z.shape not in ((n,), (n, 1)):
        raise DatasetError(f"{path}: Z has shape {z.shape} but X holds {n} vectors: expected "
                           f"Z ({n}, 1), one SNR per vector ({layout})")  # fmt: skip
    rows = _count(sel, n)
    _check_memory(path, _nbytes(x, rows, 4) * (2 if x.dtype.kind == "c" else 1)
                  + _nbytes(y, rows) + _nbytes(z, rows, 4), limit)  # fmt: skip
    xs = _read_rows(x, sel)
    if xs.dtype.kind == "c":  # (n, L[, 1]) complex -> I, Q rows
        iq = as_tensor(xs.reshape(len(xs), -1))
    else:
        iq = np.ascontiguousarray(np.transpose(xs, (0, 2, 1)), dtype=np.float32)
    onehot = _read_rows(y, sel)
    if not np.all((onehot.sum(axis=1) == 1) & np.all((onehot == 0) | (onehot == 1), axis=1)):
        raise DatasetError(f"{path}: rows of Y are not one-hot (one 1, the rest 0)")
    label = np.argmax(onehot, axis=1).astype(np.int64)
    snr = np.asarray(_read_rows(z, sel), dtype=np.float32).reshape(-1)
    attrs = {"source": "RadioML 2018.01A", "radio": "unknown"}
    return Dataset(iq, None, label, snr, RADIOML2018_CLASSES, attrs, {}, "radioml2018")


class _RestrictedUnpickler(pickle.Unpickler):
    """Loads only dicts, tuples, lists, strings, numbers and numpy arrays.

    Those containers and scalars need no imports; numpy arrays need exactly the globals
    below (``_codecs.encode`` rebuilds the raw bytes of an array in protocol-2 pickles
    written by Python 3). Any other global (a class or function, e.g. ``os.system``) is
    refused before it is looked up, so nothing from the file can run code.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        canonical = module.replace("numpy._core", "numpy.core")
        if (canonical, name) not in self._ALLOWED:
            raise DatasetError(
                f"refusing to unpickle {module}.{name}: a RadioML 2016 pickle holds only dicts, "
                "tuples, strings, numbers and numpy arrays; this file is not one (or was "
                "tampered with)"
            )
        return super().find_class(canonical, name)


def _unpickle(path, limit):
    size = path.stat().st_size
    _check_memory(path, size, limit)
    # From memory: a length field in the stream cannot make a read allocate past the file.
    stream = io.BytesIO(path.read_bytes())
    try:
        return _RestrictedUnpickler(stream, encoding="latin1").load()
    except DatasetError as e:
        raise DatasetError(f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - whatever a damaged stream raises, it is unreadable
        raise DatasetError(f"{path} is not a readable pickle (truncated or corrupt?): "
                           f"{type(e).__name__}: {e}") from None  # fmt: skip


def _radioml2016_entry(path, key, value):
    """(class name, SNR) of one RadioML 2016 entry, after checking it."""
    ok_key = (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str | bytes)
              and isinstance(key[1], int | float | np.integer | np.floating)
              and not isinstance(key[1], bool))  # fmt: skip
    ok_value = (isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim == 3
                and value.shape[1] == 2 and value.shape[2] >= 1)  # fmt: skip
    snr = None
    if ok_key:
        try:
            snr = float(key[1])
        except OverflowError:
            snr = math.inf
    if not (ok_key and ok_value and math.isfinite(snr)):
        shape = getattr(value, "shape", type(value).__name__)
        raise DatasetError(
            f"{path}: entry {key!r:.80} -> {shape} is not RadioML 2016 "
            "((modulation, snr in dB) -> (n, 2, L) float array)"
        )
    return _text(key[0]), snr


def read_radioml2016(path, *, max_bytes=None):
    """Reads RadioML 2016.10A/B (``{(modulation, snr): (n, 2, 128) float32}``) safely.

    Classes are the sorted modulation names. Raises DatasetError for anything else, and
    for entries that would take more memory than ``max_bytes`` (see :func:`read_limit`).
    """
    path = Path(path)
    limit = read_limit(path, max_bytes)
    data = _unpickle(path, limit)
    if not isinstance(data, dict) or not data:
        raise DatasetError(f"{path}: expected a non-empty dict {{(modulation, snr): array}}")
    entries = {k: _radioml2016_entry(path, k, v) for k, v in data.items()}
    lengths = {v.shape[2] for v in data.values()}
    if len(lengths) != 1:
        raise DatasetError(f"{path}: vectors of different lengths {sorted(lengths)}")
    n = sum(len(v) for v in data.values())
    # (an array referenced by many keys is stored once but copied once per key)
    _check_memory(path, n * (8 * lengths.pop() + 12), limit)
    keys = sorted(data, key=lambda k: entries[k])
    classes = tuple(sorted({name for name, _ in entries.values()}))
    iq = np.concatenate([data[k] for k in keys]).astype(np.float32, copy=False)
    label = np.concatenate([np.full(len(data[k]), classes.index(entries[k][0])) for k in keys])
    snr = np.concatenate([np.full(len(data[k]), entries[k][1]) for k in keys])
    attrs = {"source": "RadioML 2016", "radio": "unknown"}
    return Dataset(iq, None, label.astype(np.int64), snr.astype(np.float32), classes, attrs, {},
                   "radioml2016")  # fmt: skip


def _text(s):
    return s.decode("latin1") if isinstance(s, bytes) else s


def _sigmf_classes(path, glob, annotations):
    classes = sigmf.get(glob, "classes")
    if classes is None:  # another tool's recording: the labels it uses
        return tuple(sorted({a["core:label"] for a in annotations
                             if isinstance(a.get("core:label"), str)}))  # fmt: skip
    if not isinstance(classes, list) or not classes:
        raise DatasetError(f"{path}: {sigmf.key('classes')} is {classes!r:.80}, expected a "
                           "list of class names")  # fmt: skip
    return _class_names(path, tuple(classes))


def _sigmf_number(path, fields, name, default):
    value = sigmf.get(fields, name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DatasetError(f"{path}: {sigmf.key(name)} is {value!r:.80}, expected a number")
    return value


def read_sigmf(path, vector_length=None, *, max_bytes=None):
    """Labelled vectors from a SigMF recording (``rfml capture``'s or another tool's).

    Each annotation whose ``core:label`` names a class is cut into consecutive vectors of
    ``vector_length`` samples from its start (the SNR of ``gr_rfml:snr_db`` holds for each
    of them; NaN when the recording gives none); a partial vector at the end of a segment
    is dropped. The classes are ``gr_rfml:classes``, or else every label used.

    Args:
        path (str | Path): the recording (base name, ``.sigmf-meta`` or ``.sigmf-data``).
        vector_length (int | None): L; default the recording's ``gr_rfml:vector_length``,
            else ``ml.contract.DEFAULT_VECTOR_LENGTH`` (the shipped models').
        max_bytes (int | None): memory limit (see :func:`read_limit`).
    """
    try:
        rec = sigmf.Recording(path)
    except sigmf.SigMFError as e:
        raise DatasetError(str(e)) from None
    mp = rec.meta_file
    glob, annotations = rec.meta["global"], rec.meta["annotations"]
    if vector_length is None:
        vector_length = _sigmf_number(mp, glob, "vector_length", DEFAULT_VECTOR_LENGTH)
    if not (math.isfinite(vector_length) and vector_length >= 1
            and vector_length == int(vector_length)):  # fmt: skip
        raise DatasetError(f"{mp}: vector length {vector_length!r} is not a whole number >= 1")
    length = int(vector_length)
    classes = _sigmf_classes(mp, glob, annotations)
    segments = [a for a in annotations if a.get("core:label") in classes]
    if not segments:
        raise DatasetError(f"{mp}: no annotation labels a class ({', '.join(classes) or 'none'})")
    counts = [a.get("core:sample_count", rec.n_samples - a["core:sample_start"]) // length
              for a in segments]  # fmt: skip
    _check_memory(mp, sum(counts) * (8 * length + 12), read_limit(rec.data_file, max_bytes))
    iq, label, snr = [], [], []
    for a, n in zip(segments, counts, strict=True):
        seg = rec.read(a["core:sample_start"], n * length).reshape(n, length)
        iq.append(as_tensor(seg))
        label.append(np.full(n, classes.index(a["core:label"]), dtype=np.int64))
        snr.append(np.full(n, _sigmf_number(mp, a, "snr_db", math.nan), dtype=np.float32))
    attrs = {
        "source": "SigMF",
        "sample_rate": rec.sample_rate,
        "radio": sigmf.get(glob, "radio", "unknown"),
        "seed": sigmf.get(glob, "seed"),
        "datatype": rec.datatype,
    }
    return Dataset(np.concatenate(iq), None, np.concatenate(label), np.concatenate(snr),
                   classes, attrs, {}, "sigmf")  # fmt: skip
