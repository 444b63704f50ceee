# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench generate`: MS/s of the whole generation path beside the bare modulators.

The generation path is :func:`gnuradio.rfml.generation.generate`: mod_source -> loopback
(sim) -> capture, noise by ``rfml.add_awgn_planar``, written to HDF5, several classes side by
side. The baseline, measured in the same run, is the same ``mod_source`` blocks alone
(one per class, side by side in one flowgraph, into null sinks). ``samples_per_s`` counts
the samples of the vectors written (not the gaps between them). The CPU seconds per
million samples (all threads of the process and its workers) depend less on what else
the machine runs; ``cpu_bound_samples_per_s`` is what they allow on all its cores.
"""

import argparse
import os
import tempfile
import time

from ..ml.contract import CLASSES


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--per-class", type=int, default=1000, help="vectors per class (default %(default)s)"
    )
    p.add_argument(
        "--length", type=int, default=1024, help="samples per vector (default %(default)s)"
    )
    p.add_argument(
        "--chunk", type=int, default=250, help="vectors per flowgraph branch (default %(default)s)"
    )
    p.add_argument(
        "--parallel",
        type=int,
        default=len(CLASSES),
        help="branches side by side (default %(default)s)",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="processes running flowgraphs (default %(default)s)"
    )
    p.add_argument(
        "--randomize", action="store_true", help="measure randomised generation instead of nominal"
    )
    p.add_argument(
        "--dir", default=None, help="folder for the temporary HDF5 file (default: the system's)"
    )
    return p  # fmt: skip


def _cpu_seconds():
    """CPU time of this process and its finished worker processes, all threads."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def modulators_samples_per_s(n_per_class):
    """Samples/s of one mod_source per class side by side into null sinks."""
    from gnuradio import blocks, gr

    from ..mod_source import mod_source

    tb = gr.top_block("bench_modulators")
    for i, name in enumerate(CLASSES):
        head = blocks.head(gr.sizeof_gr_complex, n_per_class)
        tb.connect(mod_source(name, seed=i + 1), head, blocks.null_sink(gr.sizeof_gr_complex))
    t0, c0 = time.perf_counter(), time.process_time()
    tb.run()
    n = n_per_class * len(CLASSES)
    return n / (time.perf_counter() - t0), (time.process_time() - c0) / n * 1e6


def run(args):
    from ..flowgraphs.generation import GenerationConfig, generate

    cfg = GenerationConfig(
        per_class=args.per_class,
        snr_db="10",
        length=args.length,
        randomize=args.randomize,
        chunk=args.chunk,
        parallel=args.parallel,
        workers=args.workers,
        seed=1,
    )
    fd, path = tempfile.mkstemp(suffix=".h5", dir=args.dir)
    os.close(fd)
    try:
        t0, c0 = time.perf_counter(), _cpu_seconds()
        stats = generate(cfg, path)
        elapsed, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        size = os.path.getsize(path)
    finally:
        os.remove(path)
    written = stats["vectors"] * cfg.length
    e2e = written / elapsed
    base, base_cpu = modulators_samples_per_s(stats["samples"] // len(CLASSES))
    cpu_per_ms = cpu / written * 1e6
    return {
        "samples_per_s": round(e2e),
        "ratio_vs_modulators": round(e2e / base, 3),
        "modulators_samples_per_s": round(base),
        "cpu_s_per_msample": round(cpu_per_ms, 4),
        "modulators_cpu_s_per_msample": round(base_cpu, 4),
        "cpu_bound_samples_per_s": round(os.cpu_count() / cpu_per_ms * 1e6),
        "captured_samples_per_s": round(stats["samples"] / elapsed),
        "vectors": stats["vectors"],
        "vector_length": cfg.length,
        "seconds": round(elapsed, 3),
        "file_bytes": size,
        "randomize": bool(args.randomize),
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
    }
