# SPDX-License-Identifier: GPL-3.0-or-later
"""SigMF recordings (``.sigmf-data`` cf32_le + ``.sigmf-meta`` JSON), written and read.

The metadata follows SigMF 1.0: ``global`` (datatype, sample rate, version, ...),
``captures`` and ``annotations`` (one per labelled segment, with ``core:label`` = the
class). gr-rfml's own keys live in the ``rfml`` extension namespace (``rfml:snr_db``,
``rfml:class_index``, ...), declared in ``core:extensions``.
"""

import json
from pathlib import Path

import numpy as np

SIGMF_VERSION = "1.0.0"
EXTENSION = {"name": "rfml", "version": "1.0.0", "optional": True}


def base_path(path):
    """The recording's path without ``.sigmf-data`` / ``.sigmf-meta``."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".sigmf-data", ".sigmf-meta") else p


def data_path(path):
    return base_path(path).with_name(base_path(path).name + ".sigmf-data")


def meta_path(path):
    return base_path(path).with_name(base_path(path).name + ".sigmf-meta")


def write_meta(path, sample_rate, annotations, *, captures=None, **global_fields):
    """Writes the ``.sigmf-meta`` of a cf32_le recording.

    Args:
        path (str | Path): the recording (with or without a SigMF suffix).
        sample_rate (float): Hz.
        annotations (list[dict]): each with ``core:sample_start`` and ``core:sample_count``;
            sorted by start before writing.
        captures (list[dict] | None): capture segments; default one at sample 0.
        **global_fields: more ``global`` keys (``core:description="..."``, ``rfml:seed=1``).

    Returns:
        Path of the ``.sigmf-meta`` file.
    """
    meta = {
        "global": {
            "core:datatype": "cf32_le",
            "core:sample_rate": float(sample_rate),
            "core:version": SIGMF_VERSION,
            "core:extensions": [EXTENSION],
            **global_fields,
        },
        "captures": captures or [{"core:sample_start": 0}],
        "annotations": sorted(annotations, key=lambda a: a["core:sample_start"]),
    }
    out = meta_path(path)
    out.write_text(json.dumps(meta, indent=2) + "\n")
    return out


def read_recording(path):
    """Reads a cf32_le SigMF recording.

    Args:
        path (str | Path): the recording (base name, ``.sigmf-meta`` or ``.sigmf-data``).

    Returns:
        (samples, meta): complex64 ``(n,)`` (memory-mapped) and the metadata dict.

    Raises:
        FileNotFoundError: a half of the recording is missing.
        ValueError: unreadable metadata, another datatype, or annotations past the data.
    """
    mp, dp = meta_path(path), data_path(path)
    for p in (mp, dp):
        if not p.is_file():
            raise FileNotFoundError(f"SigMF recording {base_path(path)}: {p.name} is missing")
    try:
        meta = json.loads(mp.read_text())
        datatype = meta["global"]["core:datatype"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{mp} is not SigMF metadata (need global/core:datatype): {e}") from e
    if datatype != "cf32_le":
        raise ValueError(f"{mp}: datatype {datatype!r} is not supported; record cf32_le")
    if dp.stat().st_size % 8:
        raise ValueError(f"{dp}: size {dp.stat().st_size} is not a whole number of cf32 samples")
    samples = np.memmap(dp, dtype="<c8", mode="r") if dp.stat().st_size else np.zeros(0, "<c8")
    for a in meta.get("annotations", []):
        if a["core:sample_start"] + a.get("core:sample_count", 0) > len(samples):
            raise ValueError(f"{mp}: an annotation ends past the {len(samples)} samples of {dp}")
    return samples, meta
