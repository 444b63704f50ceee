# SPDX-License-Identifier: GPL-3.0-or-later
"""DenoMAE denoising of complex vectors: noisy vectors in, clean estimates out."""

import numpy as np
from gnuradio import gr

from . import _batches
from ._work_guard import ends_on_error
from .ml import params
from .ml.contract import DEFAULT_VECTOR_LENGTH

# Vectors the input and output buffers hold at least (as tsddae_classifier).
# The optional constellation-image output: side in pixels, and the reference's decay windows
# at 224 pixels (rates 5 / window), scaled to the side.
IMAGE_SIZE = 32
REFERENCE_WINDOWS = (5, 25, 50)


def image_windows(size):
    """Decay window half-widths (pixels) of an image of ``size`` pixels: the reference's
    (5, 25, 50) at 224 pixels, scaled, at least 1."""
    return tuple(max(1, round(w * size / 224)) for w in REFERENCE_WINDOWS)


class denomae_denoiser(gr.sync_block):
    """Denoises each complex vector with a trained denoiser (DenoMAE by default).

    Vectors go through the model in batches of up to ``batch_size``, as in
    ``tsddae_classifier``: a ``work()`` call with at least one batch waiting denoises the
    whole batches and leaves the rest for the next call; one with fewer denoises them at once;
    the block's history gives the input buffer room for two batches. Each output vector is
    the model's estimate of the clean signal on the input vector's power scale (the model
    sees the vector divided by its RMS and the block scales the estimate back).
    A vector with NaN/Inf samples or zero power is passed through unchanged and counted
    (``invalid_count()``). Stream tags (``rfml_class``, ``rfml_snr_db``, ...) pass through
    to the outputs at the same offsets.

    With ``enabled`` False (settable while running, ``set_enabled``) the block passes the
    vectors through unchanged without calling the model, so a flowgraph can switch the
    denoiser in and out live.

    With ``image_output`` a second output carries, per vector, the decay-mode constellation
    image of the denoised vector scaled to unit RMS (float32, ``3 x image_size x
    image_size`` flattened channel-major; the reference's three decay windows scaled to the
    size, extent +-3.5); an invalid vector's image is zeros.

    Args:
        model_path (str): denoiser checkpoint (.safetensors with its .json card);
            "" = the shipped DenoMAE weights.
        vector_length (int): samples per vector L; must equal the checkpoint's.
        batch_size (int): vectors per model call.
        device (str): "auto" (cuda when available), "cpu" or "cuda".
        image_output (bool): add the constellation-image output.
        image_size (int): side of the output images in pixels.
        enabled (bool): denoise (True) or pass the vectors through (False).
        model (torch.nn.Module or None): Python API only: an already-built model with
            ``denoise(x)`` used instead of ``model_path``.
    """

    def __init__(
        self,
        model_path="",
        vector_length=DEFAULT_VECTOR_LENGTH,
        batch_size=64,
        device="auto",
        image_output=False,
        image_size=IMAGE_SIZE,
        enabled=True,
        model=None,
    ):
        vector_length = params.integer(vector_length, "vector_length", 1)
        batch_size = params.integer(batch_size, "batch_size", 1)
        image_size = params.integer(image_size, "image_size", 2)
        from .ml import inference

        if model is not None:
            self.runner = inference.DenoiserRunner(model, vector_length, device).self_check()
            self.card = None
        else:
            from .apps.denoise import load_denoiser

            self.runner, self.card = load_denoiser(model_path, vector_length, device)
        self.image_size = int(image_size)
        self.windows = image_windows(self.image_size)
        n_pixels = len(self.windows) * self.image_size**2
        out_sig = [(np.complex64, int(vector_length))]
        if image_output:
            out_sig.append((np.float32, n_pixels))
        gr.sync_block.__init__(
            self,
            name="denomae_denoiser",
            in_sig=[(np.complex64, int(vector_length))],
            out_sig=out_sig,
        )
        self.vector_length = int(vector_length)
        self.batch_size = int(batch_size)
        self.image_output = bool(image_output)
        self._invalid = 0
        self._denoised = 0
        self._enabled = bool(enabled)
        self._valid_vectors = inference.valid_vectors
        _batches.reserve(self, self.batch_size)

    def invalid_count(self):
        """Vectors passed through unchanged (NaN/Inf samples or zero power) so far."""
        return self._invalid

    def set_enabled(self, enabled):
        """Denoise (True) or pass the vectors through unchanged (False), while running."""
        self._enabled = bool(enabled)

    def enabled(self):
        """True while the block denoises."""
        return self._enabled

    def denoised_count(self):
        """Vectors that went through the block so far (valid or not, denoised or passed)."""
        return self._denoised

    def _images(self, out, valid, dst):
        """Constellation images of the denoised vectors ``out`` into ``dst`` (n, C*S*S)."""
        from .ml.models.denomae import render_images
        from .ml.signal import complex_to_iq

        dst[:] = 0
        if valid.any():
            x = complex_to_iq(out[valid])
            x /= np.sqrt((x**2).mean(axis=(1, 2), keepdims=True))
            import torch

            img = render_images(torch.from_numpy(x), self.image_size, self.windows)
            dst[valid] = img.numpy().reshape(int(valid.sum()), -1)

    @ends_on_error
    def work(self, input_items, output_items):
        vectors, n = _batches.waiting(self, input_items, output_items, self.batch_size)
        for start in range(0, n, self.batch_size):
            stop = min(n, start + self.batch_size)
            if self._enabled:
                out, valid = self.runner.denoise(vectors[start:stop])
            else:
                out = vectors[start:stop]
                valid = self._valid_vectors(out)
            output_items[0][start:stop] = out
            if self.image_output:
                self._images(out, valid, output_items[1][start:stop])
            self._invalid += int((~valid).sum())
        self._denoised += n
        return n
