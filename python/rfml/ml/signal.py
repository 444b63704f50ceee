# SPDX-License-Identifier: GPL-3.0-or-later
"""Signal helpers every model shares: the tensor layout, power normalisation, spectra and the
phase/frequency transforms used for augmentation and off-nominal evaluation.

Tensors are float32 ``(B, 2, L)``, row 0 = I, row 1 = Q (DESIGN.md, "Vectors"). Nothing here
knows about any model, so no model module imports another.
"""

import math

import numpy as np
import torch


def complex_to_iq(iq):
    """complex (B, L) -> float32 (B, 2, L), row 0 = I, row 1 = Q (numpy)."""
    iq = np.asarray(iq, dtype=np.complex64)
    # A complex64 (B, L) array viewed as float32 is (B, L, 2) interleaved I/Q; swap to (B, 2, L).
    interleaved = iq.view(np.float32).reshape(iq.shape[0], iq.shape[1], 2)
    return np.ascontiguousarray(interleaved.swapaxes(1, 2))


def iq_to_complex(x):
    """float (B, 2, L) -> complex64 (B, L) (numpy); the inverse of :func:`complex_to_iq`."""
    x = np.asarray(x, dtype=np.float32)
    out = np.empty((x.shape[0], x.shape[2]), np.complex64)
    out.real, out.imag = x[:, 0], x[:, 1]
    return out


def normalize_power(x, eps=1e-12):
    """Scale each vector so that I and Q have unit mean square (mean |I + jQ|^2 = 2).

    x: (B, 2, L) float32 -> (B, 2, L). An all-zero vector stays zero.
    """
    power = x.pow(2).mean(dim=(1, 2), keepdim=True)
    return x / torch.sqrt(power + eps)


def rms(x, eps=1e-12):
    """Root mean square of each vector over I and Q: (B, 2, L) -> (B, 1, 1)."""
    return torch.sqrt(x.pow(2).mean(dim=(1, 2), keepdim=True) + eps)


def spectrum(x):
    """Unitary, centred FFT of the complex signal I + jQ.

    x: (B, 2, L) -> (B, 2, L), rows Re and Im of fftshift(fft(I + jQ)) / sqrt(L). With the
    unitary transform, white noise of unit variance per component stays so in frequency.
    """
    z = torch.fft.fftshift(torch.fft.fft(torch.complex(x[:, 0], x[:, 1]), norm="ortho"), dim=-1)
    return torch.stack((z.real, z.imag), dim=1)


def inverse_spectrum(s):
    """Inverse of :func:`spectrum`: (B, 2, L) centred spectrum -> (B, 2, L) IQ."""
    z = torch.fft.ifft(torch.fft.ifftshift(torch.complex(s[:, 0], s[:, 1]), dim=-1), norm="ortho")
    return torch.stack((z.real, z.imag), dim=1)


def rotate(x, phi):
    """Multiply each vector of x (B, 2, L) by exp(j phi), phi (B, 1) radians."""
    c, s = torch.cos(phi), torch.sin(phi)
    i, q = x[:, 0], x[:, 1]
    return torch.stack((c * i - s * q, s * i + c * q), dim=1)


def mirror(x, conjugate, reverse):
    """Complex-conjugate the vectors of x (B, 2, L) where ``conjugate`` (B,) bool is true,
    then reverse in time those where ``reverse`` (B,) bool is. Every modulation we make
    (and OFDM with its carriers mirrored) stays the same class under both."""
    q = torch.where(conjugate[:, None], -x[:, 1], x[:, 1])
    x = torch.stack((x[:, 0], q), dim=1)
    return torch.where(reverse[:, None, None], x.flip(-1), x)


def random_phase(n, generator=None, device="cpu"):
    """n carrier phases ~ U[0, 2 pi): (n, 1) float32."""
    return torch.rand(n, 1, generator=generator, device=device) * (2 * math.pi)


def rotate_phase(x, generator=None):
    """Multiply each vector of x (B, 2, L) by exp(j phi), phi ~ U[0, 2 pi)."""
    return rotate(x, random_phase(x.shape[0], generator, x.device))


def shift_frequency(iq, cycles_per_sample):
    """Shift vectors in frequency: (N, 2, L) float32 IQ times exp(j 2 pi f n), per vector
    from its first sample (an off-nominal carrier offset for evaluation; numpy)."""
    n = np.arange(iq.shape[-1])
    rot = np.exp(2j * np.pi * cycles_per_sample * n)
    z = (iq[:, 0] + 1j * iq[:, 1]) * rot
    return np.stack([z.real, z.imag], axis=1).astype(np.float32)
