# SPDX-License-Identifier: GPL-3.0-or-later
"""Labelled data sets from GNU Radio flowgraphs of the rfml blocks.

Each *job* is one short flowgraph branch ``mod_source -> loopback -> capture`` that yields
``chunk`` vectors of one class (consecutive windows of the stream, separated by random gaps
so that vectors do not start on symbol boundaries); noise is added afterwards with
``rfml.add_awgn_planar`` (the C++ kernel the ``awgn_snr`` block uses, exact SNR per vector,
written straight into the file's (N, 2, L) layout), so ``clean`` and ``iq`` are the same
vector before and after noise. Several jobs run side by side in one
top block, and the next flowgraph runs while the previous one's noise is added and written
(or, with ``workers > 1``, whole batches run in worker processes; the file is the same).

Seeds: job ``j`` (in the canonical order class, SNR value, chunk) draws everything it needs
from ``numpy.random.SeedSequence(seed, spawn_key=(j,))``. A shard ``i/n`` runs a contiguous
range of jobs, so shards never share a seed and the shards, concatenated in order, hold
exactly the vectors of the unsharded file.

With ``randomize=True`` each job also draws the transmitter (samples per symbol, pulse and
roll-off, BT, FSK modulation index, OFDM FFT size / cyclic prefix / occupied carriers) and
the loopback (carrier offset, phase, timing drift, phase noise, IQ imbalance, DC offset)
from a named set of ranges (:data:`RANGE_SETS`: ``"v1"``, what the shipped classifiers
trained on, and ``"wide"``, which covers other people's transmitters: 2..32 samples per
symbol, OFDM resampled to 5..90% of the band, the GFSK/GMSK boundary stated); every drawn
value is written per vector under ``params/``.

The package is split by job: :mod:`.config` (what to generate, parameter draws; no GNU
Radio), :mod:`.runner` (the flowgraphs) and :mod:`.writer` (the file).
"""

from .config import (
    DEFAULT_LENGTH,
    DEFAULT_PER_CLASS,
    DEFAULT_SNR_DB,
    GFSK_GMSK_GAP,
    PARAM_DTYPES,
    RANDOM_RANGES,
    RANGE_SETS,
    TYPICAL_IMPAIRMENTS,
    WIDE_RANGES,
    GenerationConfig,
    SnrSpec,
    draw_job_params,
    resolve_ranges,
    vector_starts,
)
from .writer import generate

__all__ = [
    "DEFAULT_LENGTH",
    "DEFAULT_PER_CLASS",
    "DEFAULT_SNR_DB",
    "GFSK_GMSK_GAP",
    "PARAM_DTYPES",
    "RANDOM_RANGES",
    "RANGE_SETS",
    "TYPICAL_IMPAIRMENTS",
    "WIDE_RANGES",
    "GenerationConfig",
    "SnrSpec",
    "draw_job_params",
    "generate",
    "resolve_ranges",
    "vector_starts",
]
