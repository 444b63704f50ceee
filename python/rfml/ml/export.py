# SPDX-License-Identifier: GPL-3.0-or-later
"""ONNX export of any registered model, checked against torch with onnxruntime.

What is exported is what the model's runner calls (``ml.inference``), with a dynamic batch
dimension; input ``iq`` is raw float32 ``(B, 2, L)`` (a denoiser's and a codec's on the
unit-RMS scale the runner feeds them):

classifier  ``M.onnx``: iq -> logits (B, C)
denoiser    ``M.onnx``: iq -> denoised (B, 2, L); a denoiser that computes some inputs outside
            torch (``outside_inputs(x)``, e.g. DenoMAE's constellation images from the C++
            renderer) takes them as further named inputs, so the graph is the network alone
codec       ``M.L<k>.encoder.onnx``: iq -> codes (B, T) int64 and ``M.L<k>.decoder.onnx``:
            codes -> iq (B, 2, L), for every level k the model has.
"""

from pathlib import Path

import numpy as np
import torch

from . import models


class _Call(torch.nn.Module):
    """A module whose forward is ``getattr(model, method)(*inputs, *extra)``."""

    def __init__(self, model, method, *extra):
        super().__init__()
        self.model = model
        self.method = method
        self.extra = extra

    def forward(self, *inputs):
        return getattr(self.model, self.method)(*inputs, *self.extra)


def _outside(model, x):
    """{name: tensor} of the inputs ``model`` computes outside torch for x ({} for most)."""
    return model.outside_inputs(x) if hasattr(model, "outside_inputs") else {}


def _batch_dims(module, example, batch):
    """dynamic_shapes of ``module`` for the inputs ``example``: dimension 0 of each is the
    batch (a _Call takes them as one ``*inputs`` argument)."""
    dims = tuple({0: batch} for _ in example)
    return (dims,) if isinstance(module, _Call) else dims


def graphs(model, path):
    """The graphs to export: [(file, module, feed, input names, output name)], where
    ``feed(x)`` gives the graph's inputs (a tuple of tensors) for raw vectors x."""
    role = models.get(models.kind_of(model)).ROLE
    path = Path(path)
    if role == "classifier":
        return [(path, model, lambda x: (x,), ("iq",), "logits")]
    if role == "denoiser":
        names = ("iq", *_outside(model, torch.zeros(1, 2, model.config["vector_length"])))
        feed = lambda x: (x, *_outside(model, x).values())  # noqa: E731
        return [(path, _Call(model, "denoise"), feed, names, "denoised")]
    out = []
    stem = path.with_suffix("")
    for level in model.levels():
        out.append((stem.with_suffix(f".L{level}.encoder.onnx"), _Call(model, "encode", level),
                    lambda x: (x,), ("iq",), "codes"))  # fmt: skip
        out.append((stem.with_suffix(f".L{level}.decoder.onnx"), _Call(model, "decode", level),
                    lambda x, k=level: (model.encode(x, k),), ("codes",), "iq"))  # fmt: skip
    return out


def export_onnx(model, path, opset=18):
    """Export ``model`` (eval mode, CPU) to ONNX file(s) at ``path``; returns the paths."""
    import warnings

    model = model.cpu().eval()
    length = int(model.config["vector_length"])
    iq = torch.randn(2, 2, length, generator=torch.Generator().manual_seed(0))
    written = []
    for file, module, feed, names_in, name_out in graphs(model, path):
        file.parent.mkdir(parents=True, exist_ok=True)
        batch = torch.export.Dim("batch", min=1)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            example = feed(iq)
            torch.onnx.export(module, example, str(file), dynamo=True, opset_version=opset,
                              input_names=list(names_in), output_names=[name_out],
                              dynamic_shapes=_batch_dims(module, example, batch),
                              verbose=False)  # fmt: skip
        written.append(file)
    return written


def check_onnx(model, path, inputs):
    """Largest absolute difference between torch and onnxruntime on ``inputs`` (float32
    (B, 2, L) numpy), over every exported graph of ``path``, relative to the largest torch
    output; codes of a codec are compared exactly (the count of differing codes)."""
    import onnxruntime as ort

    model = model.cpu().eval()
    worst = 0.0
    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    for file, module, feed, names_in, _ in graphs(model, path):
        session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
        with torch.inference_mode():
            tensors = feed(x)
            ref = module(*tensors).numpy()
        got = session.run(None, {n: t.numpy() for n, t in zip(names_in, tensors, strict=True)})[0]
        if ref.dtype.kind in "iu":
            worst = max(worst, float(np.count_nonzero(ref != got)))
        else:
            worst = max(worst, float(np.abs(ref - got).max() / max(1e-12, np.abs(ref).max())))
    return worst
