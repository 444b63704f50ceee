# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml decompress`: an ``rfml compress`` container back to a gr-rfml HDF5 data set.

Example::

    rfml decompress test.rfc --out test_decoded.h5
    rfml eval --data test_decoded.h5

The output follows the HDF5 contract (DESIGN.md, "Data set file"): ``iq`` holds the decoded
vectors, ``label`` and ``snr_db`` come from the container, the attributes from the data set
it was made of. The clean twins were never sent, so ``clean`` holds the decoded vectors as
well (attribute ``clean_is_decoded``). The file is written to a temporary name and renamed
when complete.
"""

import argparse
import os
from pathlib import Path

from .compress import add_codec_arguments, setup


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("container", help="container written by rfml compress (.rfc)")
    p.add_argument("--out", required=True, help="HDF5 data set to write")
    add_codec_arguments(p)
    return p


def main(args):
    import numpy as np
    from tqdm.auto import tqdm

    from ..ml import packet
    from ..ml.datasets import DatasetWriter

    setup(args)
    packets, label, snr_db, meta = packet.read_container(args.container)
    if not packets:
        raise ValueError(f"{args.container} holds no vectors")
    codec, _ = packet.load_codec(args.model, meta.get("vector_length"), args.device)
    try:
        read = [codec.read(p) for p in packets]
    except packet.PacketError as e:
        raise packet.PacketError(f"{args.container}: {e}") from None
    n, length = len(read), codec.runner.vector_length
    attrs = {"sample_rate": 1.0, "samples_per_symbol": 0, "radio": "unknown", "seed": -1}
    attrs.update(meta.get("attrs", {}))
    attrs["clean_is_decoded"] = 1
    attrs["codec"] = {k: meta.get(k) for k in ("level", "model_id", "source")}
    classes = meta.get("classes") or []
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with DatasetWriter(tmp, n, length, classes, attrs) as w:
            for start in tqdm(range(0, n, args.batch_size), desc="decompress", unit="batch"):
                chunk = read[start : start + args.batch_size]
                iq = codec.decompress(chunk)
                stop = start + len(chunk)
                lab = label[start:stop] if label is not None else np.full(len(chunk), -1)
                snr = snr_db[start:stop] if snr_db is not None else np.full(len(chunk), np.nan)
                w.write(start, iq, iq, lab, snr)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {out}: {n} vectors of {length} samples decoded from {args.container}")
    return 0
