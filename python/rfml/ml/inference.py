# SPDX-License-Identifier: GPL-3.0-or-later
"""Batched inference on complex vectors: what the classifier and CAM blocks run per batch.

GNU-Radio-free. A ``Predictor`` wraps a classifier module (raw float32 IQ ``(B, 2, L)`` in,
logits ``(B, C)`` out; a CAM model also has ``cam(x) -> (B, C, L)``) and turns complex64
vectors ``(B, L)`` into class probabilities, marking vectors that cannot be classified
(NaN/Inf samples or zero power) with index ``INVALID_INDEX``.
"""

import numpy as np
import torch

from .contract import CLASSES, INVALID_LABEL

# Class index given to a vector that cannot be classified.
INVALID_INDEX = -1


def resolve_device(device="auto"):
    """``"auto"`` -> cuda when available, else cpu; ``"cuda"`` without a GPU is an error."""
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={device!r} but torch sees no CUDA GPU: use device='cpu' or 'auto'"
        )
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}: choose 'auto', 'cpu' or 'cuda'")
    return torch.device(name)


def valid_vectors(iq):
    """True for each vector that can be classified: all samples finite and power > 0.

    iq: complex (B, L). Returns bool (B,). (One pass: a NaN or Inf sample makes the sum of
    squares NaN or Inf; so does a float32 overflow, which no receiver produces.)
    """
    iq = np.asarray(iq)
    x = iq.view(iq.real.dtype).reshape(len(iq), -1)  # (B, 2L) interleaved I/Q
    with np.errstate(over="ignore", invalid="ignore"):
        power = np.einsum("bl,bl->b", x, x)
    return np.isfinite(power) & (power > 0)


def complex_to_iq(iq):
    """complex (B, L) -> float32 (B, 2, L), row 0 = I, row 1 = Q (the DESIGN tensor layout)."""
    iq = np.asarray(iq, dtype=np.complex64)
    # A complex64 (B, L) array viewed as float32 is (B, L, 2) interleaved I/Q; swap to (B, 2, L).
    interleaved = iq.view(np.float32).reshape(iq.shape[0], iq.shape[1], 2)
    return np.ascontiguousarray(interleaved.swapaxes(1, 2))


def softmax(logits):
    """Row-wise softmax of float logits (B, C) in numpy (tiny: no torch thread pool)."""
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def labels_of(index, classes=CLASSES):
    """Class names for an index array; ``INVALID_INDEX`` -> ``INVALID_LABEL``."""
    return [INVALID_LABEL if i == INVALID_INDEX else classes[i] for i in np.asarray(index)]


class Predictor:
    """A classifier module on a device, fed complex vectors in batches.

    Args:
        model (torch.nn.Module): logits ``(B, C)`` from float32 ``(B, 2, L)``; for ``cam()``
            it must also have ``cam(x) -> (B, C, L)``.
        classes (sequence of str): the model's class names, in logit order.
        vector_length (int): L, the samples per vector the model was trained on.
        device (str): ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    def __init__(self, model, classes=CLASSES, vector_length=1024, device="auto"):
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.classes = tuple(classes)
        self.vector_length = int(vector_length)

    def self_check(self, cam=False):
        """Run one random vector through the model; ValueError when its outputs do not fit
        the classes and the vector length."""
        x = torch.randn(1, 2, self.vector_length, generator=torch.Generator().manual_seed(0))
        x = x.to(self.device)
        n = len(self.classes)
        with torch.inference_mode():
            logits = self.model(x)
            if tuple(logits.shape) != (1, n):
                raise ValueError(
                    f"the model returns logits of shape {tuple(logits.shape)[1:]} for one vector "
                    f"of {self.vector_length} samples, but {n} classes are named "
                    f"({', '.join(self.classes)}); give the classes the model was trained on"
                )
            if cam:
                if not hasattr(self.model, "cam"):
                    raise ValueError("the model has no cam(x) method: give a CAM (GAP CNN) model")
                maps = self.model.cam(x)
                if tuple(maps.shape) != (1, n, self.vector_length):
                    raise ValueError(
                        f"cam(x) returns shape {tuple(maps.shape)} for one vector; expected "
                        f"(1, {n}, {self.vector_length})"
                    )
        return self

    def _check(self, iq):
        iq = np.asarray(iq)
        if iq.ndim != 2 or iq.shape[1] != self.vector_length:
            raise ValueError(
                f"expected complex vectors of shape (B, {self.vector_length}), got {iq.shape}"
            )
        return iq

    def _run(self, iq, fn):
        """Apply ``fn`` to the valid vectors; returns (valid (B,), outputs of the valid rows)."""
        iq = self._check(iq)
        valid = valid_vectors(iq)
        if not valid.any():
            return valid, None
        x = torch.from_numpy(complex_to_iq(iq if valid.all() else iq[valid])).to(self.device)
        with torch.inference_mode():
            return valid, fn(x)

    def predict(self, iq):
        """Class probabilities of complex vectors.

        iq: complex (B, L). Returns (probs float32 (B, C), index int64 (B,)); an invalid
        vector has all-zero probs and index ``INVALID_INDEX``.
        """
        n = len(iq)
        probs = np.zeros((n, len(self.classes)), np.float32)
        index = np.full(n, INVALID_INDEX, np.int64)
        valid, logits = self._run(iq, lambda x: self.model(x).float().cpu().numpy())
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

        valid, out = self._run(iq, fn)
        if out is not None:
            probs[valid] = softmax(out[0])
            maps[valid] = out[1]
            index[valid] = probs[valid].argmax(axis=1)
        return probs, index, maps


def load_predictor(model_path="", *, kind, vector_length, device="auto"):
    """A Predictor from a checkpoint (``""`` = the shipped weights of ``kind``).

    Raises ValueError naming the file when its vector length does not match
    ``vector_length`` or when a CAM is asked of a model without ``cam()``.
    """
    from . import checkpoint

    path = model_path or checkpoint.shipped(kind)
    model, card = checkpoint.load(path, device="cpu")
    card_length = int(card["vector_length"])
    if card_length != int(vector_length):
        raise ValueError(
            f"{path}: the model was trained on vectors of {card_length} samples but "
            f"vector_length={vector_length}; set vector_length={card_length} or use a "
            f"checkpoint trained on {vector_length}-sample vectors"
        )
    predictor = Predictor(model, tuple(card["classes"]), card_length, device)
    try:
        predictor.self_check(cam=kind == "cam")
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return predictor, card
