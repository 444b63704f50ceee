# SPDX-License-Identifier: GPL-3.0-or-later
"""ONNX export of any registered model, checked against torch with onnxruntime.

What is exported is what the model's runner calls (``ml.inference``), with a dynamic batch
dimension; input ``iq`` is raw float32 ``(B, 2, L)`` (a denoiser's and a codec's on the
unit-RMS scale the runner feeds them):

classifier  ``M.onnx``: iq -> logits (B, C)
denoiser    ``M.onnx``: iq -> denoised (B, 2, L)
codec       ``M.L<k>.encoder.onnx``: iq -> codes (B, T) int64 and ``M.L<k>.decoder.onnx``:
            codes -> iq (B, 2, L), for every level k the model has.
"""

from pathlib import Path

import numpy as np
import torch

from . import models


class _Call(torch.nn.Module):
    """A module whose forward is ``getattr(model, method)(x, *extra)``."""

    def __init__(self, model, method, *extra):
        super().__init__()
        self.model = model
        self.method = method
        self.extra = extra

    def forward(self, x):
        return getattr(self.model, self.method)(x, *self.extra)


def graphs(model, path):
    """The graphs to export: [(file, module, example input, input name, output name)]."""
    role = models.get(models.kind_of(model)).ROLE
    path = Path(path)
    length = int(model.config["vector_length"])
    iq = torch.randn(2, 2, length, generator=torch.Generator().manual_seed(0))
    if role == "classifier":
        return [(path, model, iq, "iq", "logits")]
    if role == "denoiser":
        return [(path, _Call(model, "denoise"), iq, "iq", "denoised")]
    out = []
    for level in model.levels():
        codes = model.encode(iq, level)
        stem = path.with_suffix("")
        out.append((stem.with_suffix(f".L{level}.encoder.onnx"), _Call(model, "encode", level),
                    iq, "iq", "codes"))  # fmt: skip
        out.append((stem.with_suffix(f".L{level}.decoder.onnx"), _Call(model, "decode", level),
                    codes, "codes", "iq"))  # fmt: skip
    return out


def export_onnx(model, path, opset=18):
    """Export ``model`` (eval mode, CPU) to ONNX file(s) at ``path``; returns the paths.

    A model module whose inference leaves torch (``ONNX_UNSUPPORTED``, the reason) is refused
    with one error naming it."""
    import warnings

    kind = models.kind_of(model)
    reason = getattr(models.get(kind), "ONNX_UNSUPPORTED", None)
    if reason:
        raise ValueError(f"a {kind} model cannot be exported to ONNX: {reason}")
    model = model.cpu().eval()
    written = []
    for file, module, example, name_in, name_out in graphs(model, path):
        file.parent.mkdir(parents=True, exist_ok=True)
        batch = torch.export.Dim("batch", min=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), str(file), dynamo=True, opset_version=opset,
                              input_names=[name_in], output_names=[name_out],
                              dynamic_shapes=({0: batch},), verbose=False)  # fmt: skip
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
    for file, module, example, name_in, _ in graphs(model, path):
        session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
        feed = x if example.dtype == torch.float32 else model.encode(x, module.extra[0])
        with torch.inference_mode():
            ref = module(feed).numpy()
        got = session.run(None, {name_in: feed.numpy()})[0]
        if ref.dtype.kind in "iu":
            worst = max(worst, float(np.count_nonzero(ref != got)))
        else:
            worst = max(worst, float(np.abs(ref - got).max() / max(1e-12, np.abs(ref).max())))
    return worst
