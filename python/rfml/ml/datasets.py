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

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from . import sigmf

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
    if path.is_file() and h5py.is_hdf5(path):
        try:
            with h5py.File(path, "r") as f:
                if "iq" in f and "label" in f and "classes" in f.attrs:
                    attrs = {k: _decode(v) for k, v in f.attrs.items()}
                    return _summary(len(f["label"]), f["iq"].shape[-1], FORMAT_NAME,
                                    tuple(attrs["classes"]), f["label"][()], f["snr_db"][()],
                                    attrs, list(f["params"]) if "params" in f else [])  # fmt: skip
        except OSError as e:
            raise DatasetError(f"{path} is not a readable HDF5 file: {e}") from e
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


def read_dataset(path, *, select=None, clean=True):
    """Reads a data set file, detecting its format.

    Args:
        path (str | Path): a gr-rfml HDF5 file, a RadioML 2016.10A pickle
            (``RML2016.10a_dict.pkl``), a RadioML 2018.01A HDF5 file
            (``GOLD_XYZ_OSC.0001_1024.hdf5``) or a SigMF recording of ``rfml capture``.
        select (slice | numpy.ndarray | None): vectors to read (a slice or increasing
            indices); all when None. HDF5 formats read only these from disk.
        clean (bool): also read the clean vectors (gr-rfml files only).

    Returns:
        Dataset

    Raises:
        FileNotFoundError: no such file.
        DatasetError: corrupt file, foreign layout, or inconsistent contents.
    """
    path = Path(path)
    if path.suffix in (".sigmf-meta", ".sigmf-data") or sigmf.meta_path(path).is_file():
        ds = read_sigmf(path)
        return ds if select is None else ds.subset(select)
    if not path.is_file():
        raise FileNotFoundError(f"data set {path} does not exist; make one with `rfml generate`")
    with open(path, "rb") as f:
        head = f.read(8)
    if head == _HDF5_SIGNATURE:
        return _read_hdf5(path, select, clean)
    if head[:1] == b"\x80" or path.suffix in (".pkl", ".pickle"):
        ds = read_radioml2016(path)
        return ds if select is None else ds.subset(select)
    raise DatasetError(
        f"{path} is neither HDF5 nor a pickle: expected a gr-rfml or RadioML 2018 HDF5 file "
        "or a RadioML 2016 pickle"
    )


def _read_hdf5(path, select, clean):
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        msg = f"{path} is not a readable HDF5 file (truncated or corrupt?): {e}"
        raise DatasetError(msg) from e
    with f:
        sel = slice(None) if select is None else select
        try:
            if "iq" in f and "label" in f:
                return _read_rfml(path, f, sel, clean)
            if "X" in f and "Y" in f and "Z" in f:
                return _read_radioml2018(path, f, sel)
        except (OSError, KeyError) as e:
            raise DatasetError(f"{path}: cannot read its data (corrupt or truncated?): {e}") from e
        raise DatasetError(
            f"{path} is an HDF5 file of another layout (datasets: {sorted(f.keys())}); expected "
            "gr-rfml (iq, clean, label, snr_db) or RadioML 2018.01A (X, Y, Z)"
        )


def _decode(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _read_rfml(path, f, sel, clean):
    attrs = {k: _decode(v) for k, v in f.attrs.items()}
    missing = [k for k in _REQUIRED_ATTRS if k not in attrs]
    if missing:
        raise DatasetError(f"{path}: attributes {missing} are missing; regenerate the file")
    if isinstance(attrs.get("generation"), str):
        attrs["generation"] = json.loads(attrs["generation"])
    classes = tuple(attrs.pop("classes"))
    iq = f["iq"][sel]
    label = f["label"][sel].astype(np.int64)
    snr = f["snr_db"][sel].astype(np.float32)
    cl = f["clean"][sel] if clean and "clean" in f else None
    params = {k: v[sel] for k, v in f["params"].items()} if "params" in f else {}
    if iq.ndim != 3 or iq.shape[1] != 2 or iq.dtype != np.float32:
        msg = f"{path}: iq has shape {iq.shape} {iq.dtype}, expected (N, 2, L) float32"
        raise DatasetError(msg)
    for name, arr in (("label", label), ("snr_db", snr), *params.items()):
        if arr.shape != (len(iq),):
            raise DatasetError(f"{path}: {name} has shape {arr.shape}, expected ({len(iq)},)")
    if cl is not None and cl.shape != iq.shape:
        raise DatasetError(f"{path}: clean has shape {cl.shape}, iq {iq.shape}")
    if len(label) and (label.min() < 0 or label.max() >= len(classes)):
        raise DatasetError(f"{path}: labels outside 0..{len(classes) - 1} ({len(classes)} classes)")
    return Dataset(iq, cl, label, snr, classes, attrs, params, FORMAT_NAME)


def _read_radioml2018(path, f, sel):
    x, y, z = f["X"], f["Y"], f["Z"]
    if x.ndim != 3 or x.shape[2] != 2 or y.shape != (x.shape[0], len(RADIOML2018_CLASSES)):
        raise DatasetError(
            f"{path}: X {x.shape} / Y {y.shape} do not match RadioML 2018.01A "
            f"(X (N, 1024, 2), Y (N, {len(RADIOML2018_CLASSES)}) one-hot, Z (N, 1))"
        )
    iq = np.ascontiguousarray(np.transpose(x[sel], (0, 2, 1)), dtype=np.float32)
    onehot = y[sel]
    if not np.all(onehot.sum(axis=1) == 1):
        raise DatasetError(f"{path}: rows of Y are not one-hot")
    label = np.argmax(onehot, axis=1).astype(np.int64)
    snr = np.asarray(z[sel], dtype=np.float32).reshape(-1)
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


def read_radioml2016(path):
    """Reads RadioML 2016.10A/B (``{(modulation, snr): (n, 2, 128) float32}``) safely.

    Classes are the sorted modulation names. Raises DatasetError for anything else.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = _RestrictedUnpickler(f, encoding="latin1").load()
    except DatasetError as e:
        raise DatasetError(f"{path}: {e}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise DatasetError(f"{path} is not a readable pickle (truncated or corrupt?): {e}") from e
    if not isinstance(data, dict) or not data:
        raise DatasetError(f"{path}: expected a non-empty dict {{(modulation, snr): array}}")
    for key, value in data.items():
        ok_key = (
            isinstance(key, tuple)
            and len(key) == 2
            and isinstance(key[0], str | bytes)
            and isinstance(key[1], int | float | np.integer | np.floating)
        )
        ok_value = (
            isinstance(value, np.ndarray)
            and value.dtype.kind == "f"
            and value.ndim == 3
            and value.shape[1] == 2
        )
        if not (ok_key and ok_value):
            shape = getattr(value, "shape", type(value).__name__)
            raise DatasetError(
                f"{path}: entry {key!r} -> {shape} is not RadioML 2016 "
                "((modulation, snr) -> (n, 2, L) float array)"
            )
    keys = sorted(data, key=lambda k: (_text(k[0]), float(k[1])))
    lengths = {data[k].shape[2] for k in keys}
    if len(lengths) != 1:
        raise DatasetError(f"{path}: vectors of different lengths {sorted(lengths)}")
    classes = tuple(sorted({_text(k[0]) for k in keys}))
    iq = np.concatenate([data[k] for k in keys]).astype(np.float32, copy=False)
    label = np.concatenate([np.full(len(data[k]), classes.index(_text(k[0]))) for k in keys])
    snr = np.concatenate([np.full(len(data[k]), float(k[1])) for k in keys])
    attrs = {"source": "RadioML 2016", "radio": "unknown"}
    return Dataset(iq, None, label.astype(np.int64), snr.astype(np.float32), classes, attrs, {},
                   "radioml2016")  # fmt: skip


def _text(s):
    return s.decode("latin1") if isinstance(s, bytes) else s


def read_sigmf(path, vector_length=None):
    """Labelled vectors from a SigMF recording of ``rfml capture``.

    Each annotation with a ``core:label`` that names a class is cut into consecutive
    vectors of ``vector_length`` samples from its start (the SNR of ``rfml:snr_db`` holds
    for each of them); a partial vector at the end of a segment is dropped.

    Args:
        path (str | Path): the recording (base name, ``.sigmf-meta`` or ``.sigmf-data``).
        vector_length (int | None): L; default the recording's ``rfml:vector_length``.
    """
    try:
        samples, meta = sigmf.read_recording(path)
    except ValueError as e:
        raise DatasetError(str(e)) from e
    glob = meta["global"]
    length = int(vector_length or glob.get("rfml:vector_length", 0))
    if length < 1:
        raise DatasetError(f"{path}: no rfml:vector_length in the metadata; pass vector_length")
    classes = tuple(glob.get("rfml:classes", ()))
    if not classes:
        classes = tuple(sorted({a["core:label"] for a in meta["annotations"] if "core:label" in a}))
    iq, label, snr = [], [], []
    for a in meta.get("annotations", []):
        if a.get("core:label") not in classes:
            continue
        n = a["core:sample_count"] // length
        start = a["core:sample_start"]
        seg = np.asarray(samples[start : start + n * length]).reshape(n, length)
        iq.append(as_tensor(seg))
        label.append(np.full(n, classes.index(a["core:label"]), dtype=np.int64))
        snr.append(np.full(n, a.get("rfml:snr_db", np.nan), dtype=np.float32))
    if not iq:
        raise DatasetError(f"{path}: no annotation labels a class ({', '.join(classes)})")
    attrs = {
        "source": "SigMF",
        "sample_rate": glob.get("core:sample_rate"),
        "radio": glob.get("rfml:radio", "unknown"),
        "seed": glob.get("rfml:seed"),
    }
    return Dataset(np.concatenate(iq), None, np.concatenate(label), np.concatenate(snr),
                   classes, attrs, {}, "sigmf")  # fmt: skip
