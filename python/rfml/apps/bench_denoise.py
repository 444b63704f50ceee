# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench denoise`: samples/s through the denomae_denoiser block, batch sizes swept.

Each setting runs a flowgraph vector source -> head -> denomae_denoiser -> null sink beside,
in the same run, the bare model (``runner.denoise`` on the same vectors, no flowgraph) and
the classical low-pass filter of :mod:`gnuradio.rfml.dsp.denoise` (numpy FFT convolution):
the block/bare ratio is what the plumbing costs, the low-pass is what a filter costs. Goal on
the 2-core CPU: 1 MS/s (the classification demo's rate).
"""

import argparse
import os
import time

CPU_GOAL = 1e6


def get_args_parser():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--model", default="", help="denoiser checkpoint (default: shipped)")
    parser.add_argument("--vector-length", type=int, default=1024, help="samples per vector")
    parser.add_argument("--batch-sizes", default="64,256", help="comma-separated batch sizes")
    parser.add_argument("--vectors", type=int, default=1024,
                        help="vectors per measurement (rounded up to whole batches)")  # fmt: skip
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=2, help="measurements; the best counts")
    return parser


def _block_run(blk, vectors, n):
    """Seconds to push n vectors through the denoiser block."""
    from gnuradio import blocks, gr

    length = vectors.shape[1]
    tb = gr.top_block()
    src = blocks.vector_source_c(vectors.ravel().tolist(), True, length)
    tb.connect(src, blocks.head(gr.sizeof_gr_complex * length, n), blk,
               blocks.null_sink(gr.sizeof_gr_complex * length))  # fmt: skip
    start = time.perf_counter()
    tb.run()
    seconds = time.perf_counter() - start
    if blk.denoised_count() != n:
        raise RuntimeError(f"the block denoised {blk.denoised_count()} of {n} vectors")
    return seconds


def _timed(fn, vectors, batch_size, n):
    """Seconds for fn over n vectors in batches, after one warm-up call."""
    fn(vectors[:batch_size])
    start = time.perf_counter()
    for i in range(n // batch_size):
        j = (i * batch_size) % len(vectors)
        fn(vectors[j : j + batch_size])
    return time.perf_counter() - start


def run(args):
    import numpy as np
    from gnuradio import rfml
    from tqdm import tqdm

    from ..dsp.denoise import lowpass
    from .bench_classify import _positive_ints

    sizes = _positive_ints(args.batch_sizes, "--batch-sizes")
    length = args.vector_length
    rng = np.random.default_rng(0)
    pool = max(sizes)
    vectors = ((rng.standard_normal((pool, length)) + 1j * rng.standard_normal((pool, length)))
               / np.sqrt(2)).astype(np.complex64)  # fmt: skip
    rows = []
    for b in tqdm(sizes, desc="batch size", unit="setting"):
        n = -(-max(args.vectors, b) // b) * b
        blk = rfml.denomae_denoiser(args.model, length, b, args.device)
        bare, block, filt = [], [], []
        for _ in range(args.repeats):  # interleaved, so a busy moment hits all alike
            bare.append(_timed(blk.runner.denoise, vectors, b, n))
            block.append(_block_run(rfml.denomae_denoiser(args.model, length, b, args.device),
                                    vectors, n))  # fmt: skip
            filt.append(_timed(lambda v: lowpass(v, 0.2), vectors, b, n))
        rows.append({
            "batch_size": b,
            "vectors": n,
            "block_samples_per_s": n * length / min(block),
            "bare_model_samples_per_s": n * length / min(bare),
            "lowpass_samples_per_s": n * length / min(filt),
            "block_vs_bare": min(bare) / min(block),
        })  # fmt: skip
    best = max(rows, key=lambda r: r["block_samples_per_s"])
    card = blk.card or {}
    return {
        "model": args.model or "shipped",
        "model_kind": card.get("kind"),
        "model_preset": card.get("preset"),
        "vector_length": length,
        "device": f"{blk.runner.device} ({os.cpu_count()} cores)",
        "load_average": os.getloadavg()[0],
        "sweep": rows,
        "best_batch_size": best["batch_size"],
        "samples_per_s": best["block_samples_per_s"],
        "cpu_goal": CPU_GOAL,
        "ratio_vs_cpu_goal": best["block_samples_per_s"] / CPU_GOAL,
    }
