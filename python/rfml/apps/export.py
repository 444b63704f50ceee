# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml export`: a checkpoint as ONNX, checked against torch with onnxruntime.

    rfml export M.safetensors --onnx M.onnx [--data F.h5]

The graph(s) written are those :mod:`gnuradio.rfml.ml.export` lists for the model's role (a
codec gets an encoder and a decoder per level). Each is run with onnxruntime on random
vectors and, with ``--data``, on the first vectors of a data set, and compared with torch;
the command fails when they differ by more than ``--tolerance`` (relative to the largest
output; codes of a codec must match exactly).
"""

import argparse


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("model", help="checkpoint (.safetensors with its .json card)")
    p.add_argument("--onnx", required=True, help="ONNX file to write (a codec: its stem)")
    p.add_argument("--data", help="data set whose first vectors check the export")
    p.add_argument("--vectors", type=int, default=64, help="vectors of --data to check with")
    p.add_argument("--tolerance", type=float, default=1e-3, help="relative (%(default)s)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (%(default)s)")
    return p


def main(args):
    import numpy as np

    from ..ml import checkpoint, export
    from ..ml.datasets import read_dataset

    if args.vectors < 1:
        raise ValueError(f"--vectors must be at least 1, got {args.vectors}")
    model, card = checkpoint.load(args.model)
    written = export.export_onnx(model, args.onnx, opset=args.opset)
    length = int(card["vector_length"])
    checks = {"random": np.random.default_rng(0).standard_normal((8, 2, length)).astype(np.float32)}
    if args.data:
        ds = read_dataset(args.data, select=slice(0, args.vectors), clean=False)
        if ds.vector_length != length:
            raise ValueError(f"{args.data} has vectors of {ds.vector_length} samples, the model "
                             f"takes {length}: check with a data set of its length")  # fmt: skip
        iq = ds.iq / np.sqrt((ds.iq**2).mean(axis=(1, 2), keepdims=True) + 1e-20)
        checks[args.data] = iq.astype(np.float32)
    for name, x in checks.items():
        error = export.check_onnx(model, args.onnx, x)
        print(f"onnxruntime vs torch on {name} vectors: largest difference {error:.2e}")
        if error > args.tolerance:
            raise RuntimeError(f"the ONNX export differs from torch by {error:.2e} on {name} "
                               f"vectors (tolerance {args.tolerance}): do not use it")  # fmt: skip
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
