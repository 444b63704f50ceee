# SPDX-License-Identifier: GPL-3.0-or-later
"""Data set generation, part 3: writing the file (HDF5 contract of DESIGN.md)."""

from pathlib import Path

from ...ml import contract
from ...ml.datasets import DatasetWriter
from .config import PARAM_DTYPES
from .runner import _batches_in_process, _batches_in_workers


def generate(cfg, out_path, progress=None):
    """Generates the data set ``cfg`` into ``out_path`` (gr-rfml HDF5).

    Args:
        cfg (GenerationConfig): what to generate.
        out_path (str | Path): the HDF5 file to write (overwritten).
        progress (callable | None): called with the number of vectors finished.

    Returns:
        dict: ``vectors``, ``samples`` (captured, incl. gaps and warm-up) and
        ``invalid`` (vectors that had zero power or NaN; stored as zeros).

    A run that fails (or is interrupted) removes its partial file and re-raises.
    """
    parallel = 1 if cfg.radio == "bladerf" else cfg.parallel
    batches = [cfg.jobs[i : i + parallel] for i in range(0, len(cfg.jobs), parallel)]
    stats = {"vectors": 0, "samples": 0, "invalid": 0}
    writer = DatasetWriter(
        out_path, cfg.n_vectors, cfg.length, contract.CLASSES, cfg.attrs(), PARAM_DTYPES
    )
    # One radio cannot serve several processes; small jobs are not worth starting them.
    in_workers = cfg.workers > 1 and cfg.radio == "sim" and len(batches) > cfg.workers
    source = (_batches_in_workers if in_workers else _batches_in_process)(cfg, batches)
    try:
        with writer:
            _write_batches(cfg, source, writer, stats, progress)
    except BaseException:
        Path(out_path).unlink(missing_ok=True)
        raise
    return stats


def _write_batches(cfg, source, writer, stats, progress):
    for r in source:
        # the jobs of a batch are consecutive rows: one write per data set
        writer.write(r["row"], r["iq"], r["clean"], r["label"], r["snr"], r["params"])
        n = len(r["label"])
        stats["vectors"] += n
        stats["samples"] += r["samples"]
        stats["invalid"] += r["invalid"]
        if progress:
            progress(n)
