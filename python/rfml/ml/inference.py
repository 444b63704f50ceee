# SPDX-License-Identifier: GPL-3.0-or-later
"""Batched inference on complex vectors: what the model blocks run per batch.

GNU-Radio-free. A runner holds a model on a device and turns complex64 vectors ``(B, L)``
into what its role gives; every runner shares :class:`Runner`'s batching: the valid-vector
mask (NaN/Inf samples or zero power are never fed to a model), complex <-> ``(B, 2, L)``
float32, the device, and a self-check on one random vector that requires outputs of the
right shape and finite values. The model protocols, by role (``ml.models`` ``ROLE``):

classifier
    ``model(x) -> logits (B, C)`` for raw IQ ``x (B, 2, L)``; a CAM model also has
    ``cam(x) -> (B, C, L)`` (and optionally ``forward_with_cam``).
denoiser
    ``model.denoise(x) -> (B, 2, L)``: ``x`` scaled to unit mean square per I/Q, the estimate
    of the clean signal on that same scale. The runner scales back, so the output is on the
    input's power scale.
codec
    ``model.encode(x, level) -> codes (B, T) int64`` and ``model.decode(codes, level) ->
    (B, 2, L)`` on the unit-mean-square scale; ``model.codebook_size(level)`` and
    ``model.code_length(level)`` (T). The runner carries each vector's scale (its RMS) as
    side information.
"""

import numpy as np
import torch

from .contract import CLASSES, INVALID_LABEL
from .signal import complex_to_iq, iq_to_complex
from .train import resolve_device

# Class index given to a vector that cannot be classified.
INVALID_INDEX = -1

__all__ = [
    "INVALID_INDEX",
    "ClassifierRunner",
    "CodecRunner",
    "DenoiserRunner",
    "Predictor",
    "Runner",
    "complex_to_iq",
    "labels_of",
    "load_predictor",
    "load_runner",
    "resolve_device",
    "softmax",
    "valid_vectors",
]


def valid_vectors(iq):
    """True for each vector a model can take: all samples finite and power > 0.

    iq: complex (B, L). Returns bool (B,). (One pass: a NaN or Inf sample makes the sum of
    squares NaN or Inf; so does a float32 overflow, which no receiver produces.)
    """
    iq = np.asarray(iq)
    x = iq.view(iq.real.dtype).reshape(len(iq), -1)  # (B, 2L) interleaved I/Q
    with np.errstate(over="ignore", invalid="ignore"):
        power = np.einsum("bl,bl->b", x, x)
    return np.isfinite(power) & (power > 0)


def softmax(logits):
    """Row-wise softmax of float logits (B, C) in numpy (tiny: no torch thread pool)."""
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def labels_of(index, classes=CLASSES):
    """Class names for an index array; ``INVALID_INDEX`` -> ``INVALID_LABEL``."""
    return [INVALID_LABEL if i == INVALID_INDEX else classes[i] for i in np.asarray(index)]


def _rms(iq):
    """RMS over I and Q of complex vectors (B, L) -> float32 (B,) (the model input scale)."""
    x = np.asarray(iq, np.complex64)
    return np.sqrt((x.real.astype(np.float64) ** 2 + x.imag**2).mean(axis=1) / 2).astype(np.float32)


class Runner:
    """A model on a device, fed complex vectors ``(B, L)`` in batches.

    Args:
        model (torch.nn.Module): a model of the runner's role (see the module docstring).
        vector_length (int): L, the samples per vector the model was trained on.
        device (str): ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    def __init__(self, model, vector_length=1024, device="auto"):
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.vector_length = int(vector_length)

    def _check(self, iq):
        iq = np.asarray(iq)
        if iq.ndim != 2 or iq.shape[1] != self.vector_length:
            raise ValueError(
                f"expected complex vectors of shape (B, {self.vector_length}), got {iq.shape}"
            )
        return iq

    def _run(self, iq, fn, scaled=False):
        """Apply ``fn`` to a (V, 2, L) tensor of the valid vectors (scaled to unit mean square
        when ``scaled``); returns (valid (B,), fn's output or None, scales (V,) float32)."""
        iq = self._check(iq)
        valid = valid_vectors(iq)
        if not valid.any():
            return valid, None, np.zeros(0, np.float32)
        good = iq if valid.all() else iq[valid]
        scales = _rms(good) if scaled else np.ones(len(good), np.float32)
        x = complex_to_iq(good)
        if scaled:
            x /= scales[:, None, None]
        with torch.inference_mode():
            return valid, fn(torch.from_numpy(x).to(self.device)), scales

    def _probe(self):
        """One random vector (1, 2, L) on the device."""
        gen = torch.Generator().manual_seed(0)
        return torch.randn(1, 2, self.vector_length, generator=gen).to(self.device)

    @staticmethod
    def _require(condition, message):
        if not condition:
            raise ValueError(message)


class ClassifierRunner(Runner):
    """A classifier: complex vectors -> class probabilities (and CAMs).

    Args:
        model (torch.nn.Module): logits ``(B, C)`` from float32 ``(B, 2, L)``.
        classes (sequence of str): the model's class names, in logit order.
        vector_length (int): L.
        device (str): ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    def __init__(self, model, classes=CLASSES, vector_length=1024, device="auto"):
        super().__init__(model, vector_length, device)
        self.classes = tuple(classes)

    def self_check(self, cam=False):
        """Run one random vector through the model; ValueError when its outputs do not fit
        the classes and the vector length or are not finite."""
        x, n = self._probe(), len(self.classes)
        with torch.inference_mode():
            logits = self.model(x)
            self._require(
                tuple(logits.shape) == (1, n),
                f"the model returns logits of shape {tuple(logits.shape)[1:]} for one vector "
                f"of {self.vector_length} samples, but {n} classes are named "
                f"({', '.join(self.classes)}); give the classes the model was trained on",
            )
            self._require(
                bool(torch.isfinite(logits).all()),
                "the model returns NaN or Inf logits for a plain vector: its weights are "
                "broken; retrain it or use another checkpoint",
            )
            if cam:
                self._require(
                    hasattr(self.model, "cam"),
                    "the model has no cam(x) method: give a CAM (GAP CNN) model",
                )
                maps = self.model.cam(x)
                self._require(
                    tuple(maps.shape) == (1, n, self.vector_length),
                    f"cam(x) returns shape {tuple(maps.shape)} for one vector; expected "
                    f"(1, {n}, {self.vector_length})",
                )
        return self

    def predict(self, iq):
        """Class probabilities of complex vectors.

        iq: complex (B, L). Returns (probs float32 (B, C), index int64 (B,)); an invalid
        vector has all-zero probs and index ``INVALID_INDEX``.
        """
        n = len(iq)
        probs = np.zeros((n, len(self.classes)), np.float32)
        index = np.full(n, INVALID_INDEX, np.int64)
        valid, logits, _ = self._run(iq, lambda x: self.model(x).float().cpu().numpy())
        if logits is not None:
            probs[valid] = softmax(logits)
            index[valid] = probs[valid].argmax(axis=1)
        return probs, index

    def predict_cam(self, iq):
        """Probabilities and class activation maps of complex vectors.

        iq: complex (B, L). Returns (probs (B, C), index (B,), maps float32 (B, C, L)); the
        maps of an invalid vector are zeros.
        """
        n = len(iq)
        probs = np.zeros((n, len(self.classes)), np.float32)
        index = np.full(n, INVALID_INDEX, np.int64)
        maps = np.zeros((n, len(self.classes), self.vector_length), np.float32)

        def fn(x):
            if hasattr(self.model, "forward_with_cam"):  # one pass for both
                logits, cam = self.model.forward_with_cam(x)
            else:
                logits, cam = self.model(x), self.model.cam(x)
            return logits.float().cpu().numpy(), cam.float().cpu().numpy()

        valid, out, _ = self._run(iq, fn)
        if out is not None:
            probs[valid] = softmax(out[0])
            maps[valid] = out[1]
            index[valid] = probs[valid].argmax(axis=1)
        return probs, index, maps


# The name the blocks and apps have always used.
Predictor = ClassifierRunner


class DenoiserRunner(Runner):
    """A denoiser: complex vectors in -> denoised complex vectors out, on the input's scale.

    Invalid vectors (NaN/Inf/zero) pass through unchanged and are flagged.
    """

    def self_check(self):
        x = self._probe()
        with torch.inference_mode():
            y = self.model.denoise(x)
        self._require(
            tuple(y.shape) == tuple(x.shape),
            f"denoise(x) returns shape {tuple(y.shape)} for one vector; expected {tuple(x.shape)}",
        )
        self._require(bool(torch.isfinite(y).all()), "denoise(x) returns NaN or Inf")
        return self

    def denoise(self, iq):
        """iq: complex (B, L) -> (denoised complex64 (B, L), valid bool (B,))."""
        iq = self._check(iq)
        out = np.array(iq, dtype=np.complex64, copy=True)
        valid, y, scales = self._run(iq, lambda x: self.model.denoise(x).float().cpu(), True)
        if y is not None:
            out[valid] = iq_to_complex(y.numpy() * scales[:, None, None])
        return out, valid


class CodecRunner(Runner):
    """A codec: complex vectors -> integer codes plus each vector's scale, and back.

    Invalid vectors are not encoded: their codes are zeros and their scale 0, so they decode
    to zero vectors; the ``valid`` mask says which they were.
    """

    def self_check(self, levels):
        x = self._probe()
        with torch.inference_mode():
            for level in levels:
                codes = self.model.encode(x, level)
                self._require(
                    tuple(codes.shape) == (1, self.model.code_length(level)),
                    f"encode(x, {level}) returns shape {tuple(codes.shape)}; expected "
                    f"(1, {self.model.code_length(level)})",
                )
                y = self.model.decode(codes, level)
                self._require(
                    tuple(y.shape) == tuple(x.shape) and bool(torch.isfinite(y).all()),
                    f"decode(codes, {level}) returns shape {tuple(y.shape)} or non-finite values",
                )
        return self

    def encode(self, iq, level):
        """iq: complex (B, L) -> (codes int64 (B, T), scale float32 (B,), valid bool (B,))."""
        iq = self._check(iq)
        n, t = len(iq), self.model.code_length(level)
        codes = np.zeros((n, t), np.int64)
        scale = np.zeros(n, np.float32)
        valid, c, scales = self._run(iq, lambda x: self.model.encode(x, level).cpu(), True)
        if c is not None:
            codes[valid] = c.numpy()
            scale[valid] = scales
        return codes, scale, valid

    def decode(self, codes, scale, level):
        """codes int (B, T), scale float (B,) -> complex64 (B, L)."""
        codes = np.asarray(codes, np.int64)
        with torch.inference_mode():
            y = self.model.decode(torch.from_numpy(codes).to(self.device), level).float().cpu()
        return iq_to_complex(y.numpy() * np.asarray(scale, np.float32)[:, None, None])


RUNNERS = {"classifier": ClassifierRunner, "denoiser": DenoiserRunner, "codec": CodecRunner}


def load_runner(model_path="", *, kind, vector_length=None, device="auto"):
    """A runner for a checkpoint (``""`` = the shipped weights of ``kind``): ``(runner, card)``.

    The checkpoint must be of ``kind`` (ValueError naming the file otherwise) and, when
    ``vector_length`` is given, trained on vectors of that length.
    """
    from . import checkpoint, models

    path = model_path or checkpoint.shipped(kind)
    model, card = checkpoint.load(path, device="cpu")
    role = models.get(card["kind"]).ROLE
    if role != models.get(kind).ROLE:
        raise ValueError(
            f"{path} is a {card['kind']} ({role}) checkpoint; this needs a "
            f"{models.get(kind).ROLE} such as {kind}"
        )
    card_length = int(card["vector_length"])
    if vector_length is not None and card_length != int(vector_length):
        raise ValueError(
            f"{path}: the model was trained on vectors of {card_length} samples but "
            f"vector_length={vector_length}; set vector_length={card_length} or use a "
            f"checkpoint trained on {vector_length}-sample vectors"
        )
    if role == "classifier":
        runner = ClassifierRunner(model, tuple(card["classes"]), card_length, device)
    else:
        runner = RUNNERS[role](model, card_length, device)
    return runner, card


def load_predictor(model_path="", *, kind, vector_length, device="auto"):
    """A classifier runner from a checkpoint (``""`` = the shipped weights of ``kind``),
    self-checked (with its CAM when ``kind == "cam"``): ``(runner, card)``."""
    from . import checkpoint

    path = model_path or checkpoint.shipped(kind)
    runner, card = load_runner(path, kind=kind, vector_length=vector_length, device=device)
    try:
        runner.self_check(cam=kind == "cam")
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return runner, card
