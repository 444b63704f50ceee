# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench codec`: encode and decode samples/s of the HQARF codec, packets included.

Encoding is complex vectors -> packets (model, nearest codes, bit packing, headers);
decoding is packets -> complex vectors (header checks, unpacking, model). Both run in
batches, once per torch thread count of ``--threads`` (on a busy CPU one thread can beat two:
every operator of a two-thread call waits for both), beside the classical
decimate-and-quantise codec at a similar rate (numpy, the same vectors, the same run). Goal
on the 2-core CPU: both directions keep up with 1 MS/s.
"""

import argparse
import time

import numpy as np

GOAL = 1e6


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--model", default="", help="codec checkpoint (default: the shipped hqarf)")
    p.add_argument("--levels", default="0,3,4", help="levels to time (%(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="vectors per call (%(default)s)")
    p.add_argument("--vectors", type=int, default=1024, help="vectors per measurement")
    p.add_argument("--repeats", type=int, default=2, help="measurements; the best counts")
    p.add_argument("--threads", default="1,2", help="torch CPU threads to sweep (%(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (%(default)s)")
    return p


def _best_rate(fn, samples, repeats):
    """Samples/s of the fastest of ``repeats`` runs of fn() (one warm-up call first)."""
    fn()
    best = min(_timed(fn) for _ in range(max(1, repeats)))
    return samples / best


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(args):
    from ..dsp.codec import ClassicalCodec
    from ..ml.packet import load_codec
    from ..ml.train import set_threads

    pcodec, _ = load_codec(args.model, device=args.device)
    runner = pcodec.runner
    length, bs = runner.vector_length, int(args.batch_size)
    n = max(bs, args.vectors // bs * bs)
    rng = np.random.default_rng(0)
    iq = (rng.standard_normal((n, length)) + 1j * rng.standard_normal((n, length))).astype(
        np.complex64
    )
    batches = [iq[i : i + bs] for i in range(0, n, bs)]
    samples = n * length
    out = {"vector_length": length, "batch_size": bs, "vectors": n,
           "device": str(runner.device), "goal_samples_per_s": GOAL, "levels": {}}  # fmt: skip
    levels = [pcodec.check_level(v) for v in args.levels.split(",")]
    for threads in [int(v) for v in str(args.threads).split(",")]:
        set_threads(threads)
        for level in levels:
            packets = [pcodec.compress(b, level)[0] for b in batches]

            def encode(level=level):
                for b in batches:
                    pcodec.compress(b, level)

            def decode(packets=packets):
                for group in packets:
                    pcodec.decompress([pcodec.read(p) for p in group])

            enc = _best_rate(encode, samples, args.repeats)
            dec = _best_rate(decode, samples, args.repeats)
            out["levels"].setdefault(f"L{level}", {"packet_bytes": pcodec.packet_bytes(level)})
            out["levels"][f"L{level}"][f"threads_{threads}"] = {
                "encode_samples_per_s": round(enc),
                "decode_samples_per_s": round(dec),
                "keeps_up": bool(min(enc, dec) >= GOAL),
            }
    base = ClassicalCodec("decimate", 3, factor=8)
    coded = [base.encode(b) for b in batches]

    def base_encode():
        for b in batches:
            base.encode(b)

    def base_decode():
        for c in coded:
            base.decode(c, length)

    out["baseline"] = {
        "codec": base.name,
        "bytes": base.nbytes(length),
        "encode_samples_per_s": round(_best_rate(base_encode, samples, args.repeats)),
        "decode_samples_per_s": round(_best_rate(base_decode, samples, args.repeats)),
    }
    return out
