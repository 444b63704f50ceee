# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml generate`: a labelled HDF5 data set from GNU Radio flowgraphs of the rfml blocks.

Example::

    rfml generate --out train.h5 --per-class 1000 --snr-db -10,0,20 --length 1024 --seed 1
    rfml generate --out rand.h5 --per-class 10000 --snr-db -10:20 --length 1024 --randomize
    rfml generate --out wide.h5 --per-class 10000 --snr-db -10:20 --randomize --ranges wide
    rfml generate --out part3.h5 --shard 3/8 ...   # one of 8 independent shards
"""

import argparse
import time

from ..ml.contract import CLASSES
from . import UsageError, positive_int


def _defaults():
    """The one source of defaults: generation.GenerationConfig's fields."""
    from ..flowgraphs.generation import GenerationConfig

    return GenerationConfig.__dataclass_fields__


def _shard(text):
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected i/n, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"--shard {text}: need 0 <= i < n")
    return (i, n)


def get_args_parser():
    d = {k: f.default for k, f in _defaults().items()}
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument(
        "--per-class",
        type=positive_int,
        default=d["per_class"],
        help="vectors per class for each SNR value (default %(default)s)",
    )
    p.add_argument(
        "--snr-db",
        default=d["snr_db"],
        help="SNR values '-10,0,20', a uniform range '-10:20' (drawn per vector) "
        "or a stepped list '-20:18:2' (default %(default)s)",
    )
    p.add_argument(
        "--length",
        type=positive_int,
        default=d["length"],
        help="samples per vector (default %(default)s, the shipped models' vector length; "
        "225 is the CAE-CAM report's)",
    )
    p.add_argument(
        "--classes",
        default=",".join(CLASSES),
        help="comma-separated classes (default all: %(default)s)",
    )
    p.add_argument(
        "--samples-per-symbol",
        type=positive_int,
        default=d["samples_per_symbol"],
        help="single-carrier samples per symbol (default %(default)s)",
    )
    p.add_argument(
        "--radio",
        choices=("sim", "bladerf"),
        default=d["radio"],
        help="simulated loopback or a BladeRF in loopback (default %(default)s)",
    )
    p.add_argument(
        "--impairments",
        choices=("typical", "none"),
        default=d["impairments"],
        help="sim loopback: a BladeRF-like profile or identity (default %(default)s)",
    )
    p.add_argument(
        "--randomize",
        action="store_true",
        help="draw transmitter and loopback parameters per chunk of vectors "
        "(training data for classifiers; ranges in the file's attributes)",
    )
    p.add_argument(
        "--ranges",
        choices=("v1", "v2", "wide"),
        default=d["ranges"],
        help="with --randomize: v1 (4-16 samples per symbol; GFSK through the GMSK "
        "boundary), v2 (v1 with GFSK outside modulation index 0.4-0.6) or wide (other "
        "people's transmitters: 2-32 samples per symbol, narrowband OFDM, GFSK outside "
        "0.4-0.6) (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=d["seed"], help="master seed (default %(default)s)")
    p.add_argument(
        "--shard",
        type=_shard,
        default=(0, 1),
        metavar="I/N",
        help="generate only shard I of N (independent seeds; default 0/1)",
    )
    p.add_argument(
        "--chunk",
        type=positive_int,
        default=None,
        help="vectors per flowgraph branch and parameter draw (default 256; 16 with "
        "--randomize, for more draws)",
    )
    p.add_argument(
        "--parallel",
        type=positive_int,
        default=d["parallel"],
        help="branches run side by side in one flowgraph (default %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=d["workers"],
        help="processes running flowgraphs (default %(default)s; 1 = this process only)",
    )
    p.add_argument(
        "--device-args", default=d["device_args"], help="BladeRF device string for --radio bladerf"
    )
    p.add_argument(
        "--loopback-mode",
        default=d["loopback_mode"],
        help="BladeRF loopback mode for --radio bladerf (default %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return p  # fmt: skip


def config_from_args(args):
    """The GenerationConfig of the command line (UsageError for inconsistent values)."""
    from ..flowgraphs.generation import GenerationConfig

    try:
        return GenerationConfig(
            classes=tuple(c.strip() for c in args.classes.split(",") if c.strip()),
            per_class=args.per_class,
            snr_db=args.snr_db,
            length=args.length,
            samples_per_symbol=args.samples_per_symbol,
            radio=args.radio,
            impairments=args.impairments,
            randomize=args.randomize,
            ranges=args.ranges,
            seed=args.seed,
            shard=args.shard,
            chunk=args.chunk,
            parallel=args.parallel,
            workers=args.workers,
            device_args=args.device_args,
            loopback_mode=args.loopback_mode,
        )
    except ValueError as e:
        raise UsageError(str(e)) from e


def main(args):
    from tqdm import tqdm

    from ..flowgraphs.generation import generate
    from ..ml.datasets import describe
    from ..ml.fileio import atomic_outputs

    cfg = config_from_args(args)
    t0 = time.perf_counter()
    # A failed run leaves what --out held before: the file is written under a temporary
    # name and renamed only when generation succeeded.
    with (
        atomic_outputs(args.out) as (tmp,),
        tqdm(total=cfg.n_vectors, unit="vec", disable=args.quiet, desc="generate") as bar,
    ):
        stats = generate(cfg, tmp, progress=bar.update)
    elapsed = time.perf_counter() - t0
    if not args.quiet:
        print(describe(args.out))
        rate = stats["samples"] / elapsed / 1e6
        print(f"wrote {args.out}: {stats['vectors']} vectors in {elapsed:.1f} s ({rate:.2f} MS/s)")
        if stats["invalid"]:
            print(f"{stats['invalid']} vectors had zero power or NaN and were stored as zeros")
    return 0
