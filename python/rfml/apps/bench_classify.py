# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench classify`: samples/s through the tsddae_classifier block, torch threads and
batch size swept.

Each setting runs a flowgraph vector source -> head -> tsddae_classifier -> null sink, its
message port connected to a message_debug (every vector classified, one message and one tag
each), beside the bare model forward on the same number of vectors in the same run: the
ratio is what the block's plumbing costs. Torch's own threads are swept because on a small
CPU one thread per forward can beat two: every operator of a two-thread forward waits for
both threads, and any other busy thread (a flowgraph's other blocks, other programs) stalls
it. Goal on the 2-core CPU: >= 2 MS/s (a 2 MS/s BladeRF stream classified in real time); on
a GPU the figure is set against 61.44 MS/s, the BladeRF's top rate.
"""

import argparse
import os
import time

BLADERF_MAX_RATE = 61.44e6
CPU_GOAL = 2e6


def get_args_parser():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--model", default="", help="classifier checkpoint (default: shipped)")
    parser.add_argument("--vector-length", type=int, default=1024, help="samples per vector")
    parser.add_argument(
        "--batch-sizes", default="16,64,256", help="comma-separated batch sizes to sweep"
    )
    parser.add_argument(
        "--vectors",
        type=int,
        default=4096,
        help="vectors per measurement (rounded up to whole batches)",
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--repeats", type=int, default=2, help="measurements per batch size; the best counts"
    )
    parser.add_argument(
        "--threads",
        default="auto",
        help="torch CPU threads to sweep, comma-separated; auto = 1 and torch's default on a "
        "CPU, torch's default on a GPU (default %(default)s)",
    )
    return parser


def _bare_forward(predictor, vectors, batch_size, n, warmup_s=1.0):
    """Seconds for the bare model forward over n vectors in batches (tensor already built),
    after at least 5 calls and ``warmup_s`` seconds of the same forward (the first calls of
    a shape are slow)."""
    import torch

    from ..ml.inference import complex_to_iq

    x = torch.from_numpy(complex_to_iq(vectors[:batch_size])).to(predictor.device)
    with torch.inference_mode():
        start, calls = time.perf_counter(), 0
        while calls < 5 or time.perf_counter() - start < warmup_s:
            predictor.model(x).cpu()
            calls += 1
        _sync(predictor.device)
        start = time.perf_counter()
        for _ in range(n // batch_size):
            predictor.model(x).cpu()
        _sync(predictor.device)
    return time.perf_counter() - start


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _block_run(clf, vectors, n):
    """Seconds to push n vectors through the classifier block in a flowgraph whose
    message port is connected (so every message is built and delivered)."""
    from gnuradio import blocks, gr

    length = vectors.shape[1]
    tb = gr.top_block()
    src = blocks.vector_source_c(vectors.ravel().tolist(), True, length)
    head = blocks.head(gr.sizeof_gr_complex * length, n)
    messages = blocks.message_debug()
    tb.connect(src, head, clf, blocks.null_sink(gr.sizeof_gr_complex * length))
    tb.msg_connect(clf, "classification", messages, "store")
    start = time.perf_counter()
    tb.run()
    seconds = time.perf_counter() - start
    if clf.classified_count() != n or messages.num_messages() != n:
        raise RuntimeError(
            f"the block classified {clf.classified_count()} of {n} vectors and sent "
            f"{messages.num_messages()} messages"
        )
    return seconds


def run(args):
    import numpy as np
    import torch
    from gnuradio import rfml
    from tqdm import tqdm

    from ..ml.inference import resolve_device

    sizes = _positive_ints(args.batch_sizes, "--batch-sizes")
    device = resolve_device(args.device)
    default_threads = torch.get_num_threads()
    if args.threads == "auto":
        threads = [default_threads] if device.type == "cuda" else sorted({1, default_threads})
    else:
        threads = _positive_ints(args.threads, "--threads")
    length = args.vector_length
    rng = np.random.default_rng(0)
    pool = max(sizes)
    vectors = (
        (rng.standard_normal((pool, length)) + 1j * rng.standard_normal((pool, length)))
        / np.sqrt(2)
    ).astype(np.complex64)
    rows = []
    settings = [(t, b) for t in threads for b in sizes]
    try:
        for t, b in tqdm(settings, desc="threads x batch size", unit="setting"):
            torch.set_num_threads(t)
            n = -(-max(args.vectors, b) // b) * b
            clf = rfml.tsddae_classifier(args.model, length, b, args.device)
            bare, block = [], []
            for _ in range(args.repeats):  # interleaved, so a busy moment hits both alike
                bare.append(_bare_forward(clf.predictor, vectors, b, n))
                block.append(
                    _block_run(rfml.tsddae_classifier(args.model, length, b, args.device),
                               vectors, n)
                )  # fmt: skip
            bare_rate, block_rate = n * length / min(bare), n * length / min(block)
            rows.append(
                {
                    "threads": t,
                    "batch_size": b,
                    "vectors": n,
                    "block_samples_per_s": block_rate,
                    "bare_forward_samples_per_s": bare_rate,
                    "block_vs_bare": block_rate / bare_rate,
                }
            )
    finally:
        torch.set_num_threads(default_threads)
    best = max(rows, key=lambda r: r["block_samples_per_s"])
    name = str(clf.predictor.device)
    if device.type == "cuda":
        name += f" ({torch.cuda.get_device_name()})"
        target, target_name = BLADERF_MAX_RATE, "bladerf_max_rate"
    else:
        name += f" ({os.cpu_count()} cores)"
        target, target_name = CPU_GOAL, "cpu_goal"
    card = clf.card or {}
    return {
        "model": args.model or "shipped",
        "model_kind": card.get("kind"),
        "model_preset": card.get("preset"),
        "vector_length": length,
        "device": name,
        "sweep": rows,
        "best_threads": best["threads"],
        "best_batch_size": best["batch_size"],
        "samples_per_s": best["block_samples_per_s"],
        "vectors_per_s": best["block_samples_per_s"] / length,
        target_name: target,
        "ratio_vs_" + target_name: best["block_samples_per_s"] / target,
    }


def _positive_ints(text, option):
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise ValueError(f"{option} needs comma-separated positive integers, got {text!r}")
    return values
