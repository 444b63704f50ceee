# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench chain`: MS/s of the signal-chain blocks in one flowgraph, per class.

The chain is mod_source -> loopback (sim) -> awgn_snr -> stream_to_vector ->
vector_to_tensor, whose queue a reader thread drains as a training loop would. The
baseline, measured in the same run, is the same mod_source alone into a null sink.
``--impairments typical`` sets a small carrier and clock offset in the loopback; ``full``
adds phase noise, IQ imbalance and DC offset (more stages).
"""

import argparse
import threading
import time

from ..ml.contract import CLASSES, DEFAULT_VECTOR_LENGTH

IMPAIRMENTS = {
    "none": {},
    "typical": dict(freq_offset=1e-4, timing_drift_ppm=2.0),
    "full": dict(freq_offset=1e-3, timing_drift_ppm=20.0, phase_noise_std=1e-3, iq_gain_db=0.5,
                 iq_phase_deg=2.0, dc_offset=0.01 + 0.01j),
}  # fmt: skip


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--samples", type=int, default=4_000_000, help="samples per class (default %(default)s)"
    )
    p.add_argument(
        "--length",
        type=int,
        default=DEFAULT_VECTOR_LENGTH,
        help="samples per vector (default %(default)s)",
    )
    p.add_argument(
        "--classes", default=",".join(CLASSES), help="comma-separated classes (default all)"
    )
    p.add_argument(
        "--impairments",
        choices=sorted(IMPAIRMENTS),
        default="typical",
        help="loopback settings (default %(default)s)",
    )
    return p  # fmt: skip


def _timed(tb):
    t0, c0 = time.perf_counter(), time.process_time()
    tb.run()
    return time.perf_counter() - t0, time.process_time() - c0


def _baseline(name, n):
    from gnuradio import blocks, gr

    from ..mod_source import mod_source

    tb = gr.top_block()
    tb.connect(mod_source(name, seed=1), blocks.head(gr.sizeof_gr_complex, n),
               blocks.null_sink(gr.sizeof_gr_complex))  # fmt: skip
    return _timed(tb)


def _chain(name, n, length, impairments):
    from gnuradio import blocks, gr

    from ..awgn_snr import awgn_snr
    from ..loopback import loopback
    from ..ml.contract import END_OF_STREAM
    from ..mod_source import mod_source
    from ..vector_to_tensor import vector_to_tensor

    tb = gr.top_block()
    parts = [
        mod_source(name, seed=1),
        loopback(seed=2, **IMPAIRMENTS[impairments]),
        awgn_snr(snr_db=10.0, vector_length=length, seed=3),
        blocks.head(gr.sizeof_gr_complex, n),
        blocks.stream_to_vector(gr.sizeof_gr_complex, length),
        vector_to_tensor(vector_length=length, batch_size=64, queue_size=8),
    ]
    tb.connect(*parts)
    queue = parts[-1].queue

    def drain():
        while queue.get() is not END_OF_STREAM:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    elapsed, cpu = _timed(tb)
    reader.join()
    return elapsed, cpu


def run(args):
    from tqdm import tqdm

    names = [c.strip() for c in args.classes.split(",") if c.strip()]
    n = args.samples // args.length * args.length
    figures = {"per_class": {}}
    totals = [0.0, 0.0, 0.0, 0.0]  # chain s, chain cpu s, baseline s, baseline cpu s
    for name in tqdm(names, desc="bench chain", unit="class"):
        base_s, base_cpu = _baseline(name, n)
        chain_s, chain_cpu = _chain(name, n, args.length, args.impairments)
        figures["per_class"][name] = {
            "samples_per_s": round(n / chain_s),
            "modulator_samples_per_s": round(n / base_s),
            "ratio_vs_modulator": round(base_s / chain_s, 3),
        }
        for i, v in enumerate((chain_s, chain_cpu, base_s, base_cpu)):
            totals[i] += v
    total_n = n * len(names)
    figures.update(
        samples_per_s=round(total_n / totals[0]),
        modulators_samples_per_s=round(total_n / totals[2]),
        ratio_vs_modulators=round(totals[2] / totals[0], 3),
        cpu_s_per_msample=round(totals[1] / total_n * 1e6, 4),
        modulators_cpu_s_per_msample=round(totals[3] / total_n * 1e6, 4),
        impairments=args.impairments,
        vector_length=args.length,
        samples_per_class=n,
    )
    return figures
