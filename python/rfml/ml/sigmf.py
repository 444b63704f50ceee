# SPDX-License-Identifier: GPL-3.0-or-later
"""SigMF recordings: metadata written through the ``sigmf`` library, any recording read.

Writing (``rfml capture``): the metadata follows the SigMF version of the installed
``sigmf`` library and is checked by its validator before it is written; ``core:sha512``
is the hash of the data file. Each labelled segment is one annotation with the class in
``core:label`` and, in the SigMF ``signal`` extension, in ``signal:detail``
(modulation class, order, ...). gr-rfml's own keys (SNR, vector length, transmitter
parameters) live in the ``gr_rfml`` extension namespace, declared in ``core:extensions``
and documented key by key in ``docs/sigmf.md``.

Reading: any conforming single-channel complex recording (``cf32``, ``ci16``, ``ci8``,
``cu8`` ... little or big endian), also those made by other tools with no gr-rfml keys.
Every defect of the metadata is a :class:`SigMFError` (a ValueError) naming the file and
the field.
"""

import json
import math
import re
from pathlib import Path

import numpy as np

NAMESPACE = "gr_rfml"
EXTENSION = {"name": NAMESPACE, "version": "1.0.0", "optional": True}
SIGNAL_EXTENSION = {"name": "signal", "version": "1.0.0", "optional": True}
# Keys of recordings made before the namespace got its own name (read, never written).
LEGACY_NAMESPACE = "rfml"

# The modulation of each class in the SigMF signal extension (annotation "signal:detail").
SIGNAL_DETAIL = {
    "OOK": {"type": "digital", "mod_class": "ook", "carrier_variant": "single_carrier",
            "order": 2},
    "GFSK": {"type": "digital", "mod_class": "fsk", "carrier_variant": "single_carrier",
             "order": 2, "class_variant": "gaussian"},
    "GMSK": {"type": "digital", "mod_class": "msk", "carrier_variant": "single_carrier",
             "order": 2, "class_variant": "gaussian"},
    "DBPSK": {"type": "digital", "mod_class": "psk", "carrier_variant": "single_carrier",
              "symbol_variant": "differential", "order": 2},
    "DQPSK": {"type": "digital", "mod_class": "psk", "carrier_variant": "single_carrier",
              "symbol_variant": "differential", "order": 4},
    "OFDM": {"type": "digital", "mod_class": "psk", "carrier_variant": "multi_carrier",
             "multiplexing": "ofdm", "order": 4},
}  # fmt: skip

_DATATYPE = re.compile(r"^(?P<kind>[rc])(?P<fmt>[fiu])(?P<bits>8|16|32|64)(?P<end>_le|_be)?$")
# Largest metadata file read (JSON is parsed whole): far above any real recording's.
MAX_META_BYTES = 64 * 2**20


class SigMFError(ValueError):
    """A SigMF recording is incomplete, malformed or of a kind gr-rfml cannot read."""


def base_path(path):
    """The recording's path without ``.sigmf-data`` / ``.sigmf-meta``."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".sigmf-data", ".sigmf-meta") else p


def data_path(path):
    return base_path(path).with_name(base_path(path).name + ".sigmf-data")


def meta_path(path):
    return base_path(path).with_name(base_path(path).name + ".sigmf-meta")


# --------------------------------------------------------------------------- writing


def spec_version():
    """The SigMF specification version of the installed ``sigmf`` library."""
    import sigmf

    return sigmf.__specification__


def write_meta(meta_file, data_file, *, datatype, sample_rate, annotations, captures=None,
               global_fields=None):  # fmt: skip
    """Writes SigMF metadata for ``data_file``, validated by the ``sigmf`` library.

    Args:
        meta_file (str | Path): the ``.sigmf-meta`` file to write.
        data_file (str | Path): the finished data file (hashed into ``core:sha512``).
        datatype (str): ``"cf32_le"`` or ``"ci16_le"``.
        sample_rate (float): Hz.
        annotations (list[dict]): each with ``core:sample_start`` and ``core:sample_count``.
        captures (list[dict] | None): capture segments; default one at sample 0.
        global_fields (dict | None): more ``global`` keys (``core:description``, ...).

    Returns:
        dict: the metadata written.

    Raises:
        jsonschema.ValidationError: the metadata breaks the SigMF schema (a bug here).
    """
    from sigmf import SigMFFile
    from sigmf.hashing import calculate_sha512

    meta = SigMFFile(
        metadata={
            "global": {
                "core:datatype": datatype,
                "core:sample_rate": float(sample_rate),
                "core:version": spec_version(),
                "core:sha512": calculate_sha512(filename=str(data_file)),
                "core:extensions": [EXTENSION, SIGNAL_EXTENSION],
                **(global_fields or {}),
            },
            "captures": captures or [{"core:sample_start": 0}],
            "annotations": sorted(annotations, key=lambda a: a["core:sample_start"]),
        }
    )
    meta.validate()
    with open(meta_file, "w") as f:
        meta.dump(f, pretty=True)
        f.write("\n")
    return meta.ordered_metadata()


def key(name):
    """``name`` in gr-rfml's extension namespace (``"snr_db"`` -> ``"gr_rfml:snr_db"``)."""
    return f"{NAMESPACE}:{name}"


def get(fields, name, default=None):
    """A gr-rfml key of a metadata object, also under the legacy ``rfml:`` prefix."""
    for prefix in (NAMESPACE, LEGACY_NAMESPACE):
        if f"{prefix}:{name}" in fields:
            return fields[f"{prefix}:{name}"]
    return default


# --------------------------------------------------------------------------- reading


def _sample_format(mp, datatype):
    """(numpy dtype of one component, complex?, integer offset, full scale) of a datatype."""
    m = _DATATYPE.match(datatype) if isinstance(datatype, str) else None
    if not m:
        raise SigMFError(f"{mp}: core:datatype {datatype!r} is not a SigMF datatype "
                         "(e.g. cf32_le, ci16_le, cu8)")  # fmt: skip
    bits = int(m["bits"])
    if m["kind"] == "r":
        raise SigMFError(f"{mp}: core:datatype {datatype} holds real samples; gr-rfml reads "
                         "complex (I/Q) recordings (c... datatypes)")  # fmt: skip
    if (bits > 8) != bool(m["end"]) or (m["fmt"] == "f" and bits not in (32, 64)):
        raise SigMFError(f"{mp}: core:datatype {datatype!r} is not a SigMF datatype")
    order = "<" if m["end"] != "_be" else ">"
    dtype = np.dtype(f"{order}{m['fmt']}{bits // 8}")
    if m["fmt"] == "f":
        return dtype, 1.0, 0.0
    offset = 2.0 ** (bits - 1) if m["fmt"] == "u" else 0.0
    return dtype, 2.0 ** (bits - 1), offset  # the sigmf library's scaling of integers


def _int(mp, where, fields, name, default=None):
    value = fields.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SigMFError(f"{mp}: {where} {name} is {value!r}, expected a whole number >= 0")
    return value


def _meta(mp):
    size = mp.stat().st_size
    if size > MAX_META_BYTES:
        raise SigMFError(f"{mp}: {size} bytes of metadata, more than the {MAX_META_BYTES} "
                         "read; not a SigMF metadata file?")  # fmt: skip
    try:
        meta = json.loads(mp.read_bytes())
    except (ValueError, RecursionError) as e:
        raise SigMFError(f"{mp} is not JSON SigMF metadata: {e}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("global"), dict):
        raise SigMFError(f"{mp}: SigMF metadata is an object with a 'global' object; "
                         "this file has none")  # fmt: skip
    for section in ("captures", "annotations"):
        items = meta.setdefault(section, [])
        if not isinstance(items, list) or not all(isinstance(a, dict) for a in items):
            raise SigMFError(f"{mp}: '{section}' must be a list of objects")
    return meta


class Recording:
    """An opened SigMF recording: its metadata and its samples, read on demand.

    Args:
        path (str | Path): the recording (base name, ``.sigmf-meta`` or ``.sigmf-data``).

    Attributes:
        meta (dict): the metadata (``captures`` and ``annotations`` always present).
        datatype (str): ``core:datatype``.
        n_samples (int): complex samples in the data file.

    Raises:
        FileNotFoundError: a half of the recording is missing.
        SigMFError: malformed metadata, an unsupported layout, or annotations past the data.
    """

    def __init__(self, path):
        mp, dp = meta_path(path), data_path(path)
        for p in (mp, dp):
            if not p.is_file():
                raise FileNotFoundError(f"SigMF recording {base_path(path)}: {p.name} is missing")
        self.meta_file, self.data_file = mp, dp
        self.meta = meta = _meta(mp)
        glob = meta["global"]
        self.datatype = glob.get("core:datatype")
        self._dtype, self._scale, self._offset = _sample_format(mp, self.datatype)
        unsupported = [k for k in ("core:dataset", "core:metadata_only", "core:trailing_bytes")
                       if glob.get(k)]  # fmt: skip
        unsupported += [k for c in meta["captures"] for k in ("core:header_bytes",) if c.get(k)]
        if glob.get("core:num_channels", 1) != 1:
            unsupported.append("core:num_channels")
        if unsupported:
            raise SigMFError(
                f"{mp}: {', '.join(unsupported)} is not supported: gr-rfml reads "
                "single-channel recordings with a .sigmf-data beside them"
            )
        sample_bytes = 2 * self._dtype.itemsize
        size = dp.stat().st_size
        if size % sample_bytes:
            raise SigMFError(f"{dp}: {size} bytes is not a whole number of {self.datatype} "
                             f"samples ({sample_bytes} bytes each)")  # fmt: skip
        self.n_samples = size // sample_bytes
        self._full_scale = 1.0
        if self._dtype.kind in "iu":
            self._full_scale = full = get(glob, "full_scale", self._scale)
            if isinstance(full, bool) or not isinstance(full, int | float) or not full > 0:
                raise SigMFError(f"{mp}: {key('full_scale')} is {full!r}, expected a positive "
                                 "number (the integer value of 1.0)")  # fmt: skip
        for i, a in enumerate(meta["annotations"]):
            start = _int(mp, f"annotation {i}", a, "core:sample_start")
            # no sample count: the annotation runs to the end of the recording
            count = _int(mp, f"annotation {i}", a, "core:sample_count",
                         max(self.n_samples - start, 0))  # fmt: skip
            if start + count > self.n_samples:
                raise SigMFError(f"{mp}: annotation {i} ends at sample {start + count}, past "
                                 f"the {self.n_samples} samples of {dp}")  # fmt: skip

    @property
    def sample_rate(self):
        """``core:sample_rate`` in Hz, or None when absent or not a positive number."""
        rate = self.meta["global"].get("core:sample_rate")
        ok = isinstance(rate, int | float) and not isinstance(rate, bool)
        return float(rate) if ok and math.isfinite(rate) and rate > 0 else None

    def read(self, start, count):
        """``count`` samples from ``start`` as complex64 ``(count,)``; integers scaled to
        +-1 (a gr-rfml ``full_scale`` key, when present, gives the value of 1.0)."""
        raw = np.fromfile(self.data_file, dtype=self._dtype, count=2 * count,
                          offset=2 * start * self._dtype.itemsize)  # fmt: skip
        if len(raw) != 2 * count:
            raise SigMFError(f"{self.data_file}: samples {start}..{start + count} are not there")
        pairs = (raw.reshape(count, 2).astype(np.float64) - self._offset) / self._full_scale
        with np.errstate(over="ignore"):  # cf64 beyond float32's range becomes inf
            return (pairs[:, 0] + 1j * pairs[:, 1]).astype(np.complex64)
