# SPDX-License-Identifier: GPL-3.0-or-later
"""Data set generation, part 2: the flowgraphs that make the vectors.

Each job is a branch ``mod_source -> loopback -> capture_sink``; several run side by side
in one top block (or, with ``workers > 1``, whole batches in worker processes), and noise is
added per vector with the C++ exact-SNR kernel after the flowgraph ran.
"""

import math
import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
from gnuradio import gr

from ...ml import contract
from .config import OVERSAMPLE_DENOMINATOR, PARAM_DTYPES, draw_job_params, vector_starts


def _resampler(oversample):
    """[] at 1, else a rational resampler by oversample = p / OVERSAMPLE_DENOMINATOR (its
    default Kaiser filter keeps the occupied band and the power)."""
    if oversample == 1.0:
        return []
    from gnuradio import filter as gr_filter

    p = round(oversample * OVERSAMPLE_DENOMINATOR)
    g = math.gcd(p, OVERSAMPLE_DENOMINATOR)
    return [gr_filter.rational_resampler_ccc(p // g, OVERSAMPLE_DENOMINATOR // g)]


class _Run:
    """One flowgraph running a batch of jobs side by side."""

    def __init__(self, cfg, batch):
        from ...loopback import loopback
        from ...mod_source import mod_source
        from ...rfml_python import capture_sink  # the C++ block, built

        self.tb = gr.top_block("rfml_generation")
        self.items, self.blocks = [], []
        for job in batch:
            rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(job.index,)))
            src_kw, imp_kw, rec, symbol_len = draw_job_params(cfg, job, rng)
            starts, total = vector_starts(job.n, cfg.length, symbol_len, rng)
            oversample = float(rec.get("ofdm_oversample", 1.0))
            oversample = 1.0 if math.isnan(oversample) else oversample
            if cfg.radio == "sim":
                # The source ends just past what the capture needs (nothing is made in
                # vain); the drift takes 1 + ppm*1e-6 outputs per input, the OFDM
                # resampler `oversample`.
                ppm = imp_kw.get("timing_drift_ppm", 0.0)
                margin = 16 if oversample == 1.0 else 64  # + the resampler's filter delay
                src_kw["max_samples"] = math.ceil(total / (1 + ppm * 1e-6) / oversample) + margin
            if cfg.radio == "bladerf":
                imp_kw = {
                    "seed": imp_kw["seed"],
                    "device_args": cfg.device_args,
                    "loopback_mode": cfg.loopback_mode,
                    "sample_rate": cfg.sample_rate,
                }
            src = mod_source(**src_kw)
            lb = loopback(radio=cfg.radio, **imp_kw)
            sink = capture_sink(starts.tolist(), cfg.length)
            chain = [src, *_resampler(oversample), lb, sink]
            self.tb.connect(*chain)
            self.blocks += chain  # Python blocks must outlive the run
            self.items.append((job, rng, rec, starts, sink))

    def start(self):
        self.tb.start()
        return self

    def finish(self, cfg):
        """Waits for the flowgraph; returns [(job, clean (n, L), snr (n,), params)]."""
        self.tb.wait()
        out = []
        for job, rng, rec, starts, sink in self.items:
            if sink.position() < sink.total():
                raise RuntimeError(
                    f"job {job.index} ({contract.CLASSES[job.label]}): the flowgraph stopped "
                    f"after {sink.position()} of {sink.total()} samples"
                )
            clean = sink.vectors()
            if job.snr is None:
                snr = rng.uniform(cfg.snr_db.low, cfg.snr_db.high, size=job.n)
            else:
                snr = np.full(job.n, job.snr)
            params = {k: np.full(job.n, v, dtype=PARAM_DTYPES[k]) for k, v in rec.items()}
            params["start"] = starts
            out.append((job, rng, clean, snr.astype(np.float32), params))
        return out


def _add_noise(items, pool=None):
    """Adds the noise to a batch's captured vectors, job by job (in ``pool`` when given:
    the C++ kernel releases the GIL).

    Returns:
        dict: ``row`` (first row), ``iq`` and ``clean`` float32 (n, 2, L), ``label`` (n,),
        ``snr`` (n,), ``params`` {name: (n,)}, ``invalid`` and ``samples`` (captured).
    """
    from ...rfml_python import add_awgn_planar, gaussian_rng  # the C++ kernel, built

    jobs = [item[0] for item in items]
    n, length = sum(j.n for j in jobs), items[0][2].shape[1]
    iq = np.empty((n, 2, length), np.float32)
    clean = np.empty((n, 2, length), np.float32)
    rows = np.cumsum([0] + [j.n for j in jobs])

    def noisy(k):
        job, rng, vectors, snr, _ = items[k]
        noise_rng = gaussian_rng(int(rng.integers(2**63)))
        a, b = rows[k], rows[k + 1]
        return add_awgn_planar(vectors, snr, noise_rng, iq=iq[a:b], clean=clean[a:b])[2]

    invalid = list((pool.map if pool else map)(noisy, range(len(items))))
    return {
        "row": jobs[0].row,
        "iq": iq,
        "clean": clean,
        "label": np.concatenate([np.full(j.n, j.label, dtype=np.int64) for j in jobs]),
        "snr": np.concatenate([item[3] for item in items]),
        "params": {k: np.concatenate([item[4][k] for item in items]) for k in PARAM_DTYPES},
        "invalid": sum(invalid),
        "samples": sum(int(item[4]["start"][-1]) + length for item in items),
    }


def _run_batch(cfg, batch):
    """Runs one flowgraph batch and adds the noise (in a worker process)."""
    return _add_noise(_Run(cfg, batch).start().finish(cfg))


def _batches_in_process(cfg, batches):
    """Yields each batch's results. Two flowgraphs run at a time (C++ blocks only, a
    thread each), so the cores stay busy while the branches of one finish; meanwhile the
    previous batch's noise is added (the kernel releases the GIL, two threads) and the
    next flowgraph is built."""
    with ThreadPoolExecutor(max_workers=3) as pool:  # a batch's task and two of its jobs
        running = deque(_Run(cfg, batch).start() for batch in batches[:2])
        for b in range(len(batches)):
            results = running.popleft().finish(cfg)
            noisy = pool.submit(_add_noise, results, pool)
            if b + 2 < len(batches):
                running.append(_Run(cfg, batches[b + 2]).start())
            yield noisy.result()


def _batches_in_workers(cfg, batches):
    """Yields each batch's results, in order, from ``cfg.workers`` processes (at most two
    batches per worker in flight)."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with GR threads
    with ProcessPoolExecutor(cfg.workers, mp_context=context) as pool:
        window = deque()
        for batch in batches:
            window.append(pool.submit(_run_batch, cfg, batch))
            if len(window) >= 2 * cfg.workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
