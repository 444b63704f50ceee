# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml compress`: a data set's vectors as HQARF codec packets in one container file.

Example::

    rfml compress --data test.h5 --level 3 --out test.rfc
    rfml decompress test.rfc --out test_decoded.h5
    rfml eval --data test_decoded.h5

The container (``.rfc``, docs/codec_packet.md) holds one packet per vector plus its label
and SNR, and a small JSON header with the classes and the data set's attributes; the
ratio printed is from the file's size on disk, all of it counted. It is written to a
temporary name and renamed when complete.
"""

import argparse
import time
from pathlib import Path

from ..ml.packet import DEFAULT_BATCH_SIZE, DEFAULT_LEVEL

# Data set attributes the container keeps (what the HDF5 contract requires of OUT.h5).
KEPT_ATTRS = ("sample_rate", "samples_per_symbol", "radio", "seed")


def add_codec_arguments(p):
    """The options rfml compress and rfml decompress share."""
    p.add_argument("--model", default="", help="HQARF checkpoint; decompress needs the one "
                   "that compressed (default: shipped)")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="vectors per call")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (%(default)s)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (%(default)s)")


def setup(args):
    """Check the shared options and set the torch threads."""
    from ..ml.train import set_threads

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    set_threads(args.threads)


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--data", required=True, help="data set file (any rfml eval reads)")
    p.add_argument("--out", required=True, help="container to write (.rfc)")
    p.add_argument("--level", type=int, default=DEFAULT_LEVEL, help="0..4 (%(default)s)")
    p.add_argument("--max-vectors", type=int, default=None, help="first N vectors only")
    add_codec_arguments(p)
    return p


def main(args):
    import numpy as np
    from tqdm.auto import tqdm

    from ..ml import loading, packet
    from ..ml.loading import jsonable

    setup(args)
    t0 = time.perf_counter()
    ds = loading.load_data(args.data, args.max_vectors)
    codec, _ = packet.load_codec(args.model, ds.vector_length, args.device)
    level = codec.check_level(args.level)
    iq = (ds.iq[:, 0] + 1j * ds.iq[:, 1]).astype(np.complex64)
    packets, invalid = [], 0
    for start in tqdm(range(0, len(iq), args.batch_size), desc="compress", unit="batch"):
        batch, valid = codec.compress(iq[start : start + args.batch_size], level)
        packets += batch
        invalid += int((~valid).sum())
    meta = {"classes": list(ds.classes), "vector_length": ds.vector_length, "level": level,
            "model_id": codec.model_id.hex(), "source": Path(args.data).name,
            "attrs": {k: jsonable(ds.attrs[k]) for k in KEPT_ATTRS if k in ds.attrs}}  # fmt: skip
    size = packet.write_container(args.out, packets, label=ds.label, snr_db=ds.snr_db, meta=meta)
    raw = len(iq) * ds.vector_length
    print(f"wrote {args.out}: {len(iq)} vectors at level {level}, {size} bytes "
          f"({size / len(iq):.1f} per vector with label and SNR); ratio {raw * 8 / size:.1f}:1 "
          f"against complex64, {raw * 4 / size:.1f}:1 against 16-bit I/Q "
          f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    if invalid:
        print(f"{invalid} vectors had NaN/Inf samples or zero power: they decode to zeros")
    return 0
