# SPDX-License-Identifier: GPL-3.0-or-later
"""TS-Net: the temporal-spectral encoder of TS-DDAE, with its classification and denoising heads.

The network sees a vector twice: as a sequence of time patches (temporal encoder, multi-head
self-attention) and as a sequence of frequency patches of its spectrum (spectral encoder,
depthwise convolution + squeeze-excitation channel attention). The two encoders alternate
layer by layer and inform each other: each layer adds a learned, gated projection of the
other branch's pooled state (gates start at -0.5 as in the reference code). Every layer also
receives the diffusion-step embedding, so the same network denoises at any step ``t`` during
pre-training and classifies at the fixed step ``t = FINETUNE_STEP``.

Inputs are raw float32 IQ ``(B, 2, L)``; the model normalises each vector's power itself,
so callers never preprocess. A token stands for ``patch`` consecutive samples (time) or
frequency bins (spectrum): the small preset (``patch = 64``) attends over L / 64 = 16 time
tokens, each made by two small convolution layers over the samples and one strided
convolution over the patch, and 16 spectral tokens, each a strided convolution over 64 bins
of the spectral features. Attention over 1024 single-sample tokens would be far too slow
for a CPU in real time.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .contract import CLASSES, DEFAULT_VECTOR_LENGTH

KIND = "tsddae"

# Rows of time_features() the temporal encoder uses (I, Q only; the phase-step rows are
# there for experiments).
TIME_FEATURES = 2

# Stride of the first convolution of the patch embedding (samples).
STEM_STRIDE = 4

# Diffusion step used when classifying (the reference fine-tunes at t = 4).
FINETUNE_STEP = 4

PRESETS = {
    # dim = C, depth = layers per branch, ffn = hidden width of the feed-forward blocks,
    # patch = samples (time) or bins (frequency) per token, stem = channels of the
    # convolution that runs over samples before they are grouped into patches.
    "tiny": dict(dim=32, depth=1, heads=2, ffn=64, patch=32, stem=8, head_hidden=64),
    "small": dict(dim=64, depth=2, heads=4, ffn=128, patch=64, stem=16, head_hidden=128),
    "paper": dict(dim=256, depth=4, heads=16, ffn=512, patch=8, stem=64, head_hidden=256),
}


def normalize_power(x, eps=1e-12):
    """Scale each vector so that I and Q have unit mean square (mean |I + jQ|^2 = 2), the
    scale of the N(0, I) diffusion noise.

    x: (B, 2, L) float32 -> (B, 2, L). An all-zero vector stays zero.
    """
    power = x.pow(2).mean(dim=(1, 2), keepdim=True)
    return x / torch.sqrt(power + eps)


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


def time_features(x):
    """Per-sample inputs of the temporal encoder: (B, 2, L) normalised IQ -> (B, 5, L).

    Rows: I, Q, |x|^2, and Re, Im of x[n] x*[n-1] (the phase step between neighbouring
    samples: what a differential or FM demodulator sees, independent of the carrier phase).
    """
    z = torch.complex(x[:, 0], x[:, 1])
    d = z * torch.conj(torch.roll(z, 1, dims=-1))
    d[:, 0] = 0
    return torch.stack((x[:, 0], x[:, 1], z.abs().pow(2), d.real, d.imag), dim=1)


def spectral_features(x):
    """Per-bin inputs of the spectral encoder: (B, 2, L) normalised IQ -> (B, 4, L).

    Rows: Re, Im and log power of the centred unitary spectrum of x, and log power of the
    spectrum of x^2 (whose lines reveal the carrier of BPSK-like and the tones of MSK-like
    signals).
    """
    s = spectrum(x)
    z = torch.complex(x[:, 0], x[:, 1])
    sq = spectrum(torch.stack((z.real.pow(2) - z.imag.pow(2), 2 * z.real * z.imag), dim=1))
    logp = torch.log(s.pow(2).sum(dim=1, keepdim=True) + 1e-3)
    logp2 = torch.log(sq.pow(2).sum(dim=1, keepdim=True) + 1e-3)
    return torch.cat((s, logp, logp2), dim=1)


def step_embedding(t, dim):
    """Sinusoidal embedding of diffusion steps: t (B,) int -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat((angles.sin(), angles.cos()), dim=1)


class PatchEmbed(nn.Module):
    """A short strided convolution over samples (kernel 2 * STEM_STRIDE, stride STEM_STRIDE),
    then non-overlapping patches: ``patch`` samples per token.

    (B, c_in, L) -> (B, dim, L // patch)
    """

    def __init__(self, c_in, stem, dim, patch):
        super().__init__()
        stride = min(STEM_STRIDE, patch)
        self.stem = nn.Conv1d(
            c_in, stem, kernel_size=2 * stride, stride=stride, padding=stride // 2
        )
        self.proj = nn.Conv1d(stem, dim, kernel_size=patch // stride, stride=patch // stride)

    def forward(self, x):
        return self.proj(F.gelu(self.stem(x)))


class ConvStem(nn.Module):
    """The temporal patch embedding: two small convolution layers at 1/2 and 1/4 of the
    sample rate (batch norm, ReLU, max-pool 2 each: matched-filter-like responses that
    tolerate timing), then one strided convolution per patch.

    (B, c_in, L) -> (B, dim, L // patch); ``patch`` a multiple of 8.
    """

    def __init__(self, c_in, stem, dim, patch):
        super().__init__()
        if patch % 8:
            raise ValueError(f"patch {patch} is not a multiple of 8: choose 8, 16, 32, ...")
        self.layers = nn.Sequential(
            nn.Conv1d(c_in, stem, kernel_size=7, stride=2, padding=3),
            nn.BatchNorm1d(stem),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(stem, stem, kernel_size=5, padding=2),
            nn.BatchNorm1d(stem),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(stem, dim, kernel_size=patch // 8, stride=patch // 8),
        )

    def forward(self, x):
        return self.layers(x)


class TimeLayer(nn.Module):
    """Temporal encoder layer (pre-LN transformer) on tokens (B, N, C)."""

    def __init__(self, dim, heads, ffn):
        super().__init__()
        self.heads = heads
        self.gate = nn.Parameter(torch.tensor(-0.5))
        self.cross = nn.Linear(dim, dim)
        self.step = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), nn.Linear(ffn, dim))

    def attention(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, heads, N, C/heads)
        return self.out(y.transpose(1, 2).reshape(b, n, c))

    def forward(self, x, fx, temb):
        """x: (B, N, C) time tokens; fx: (B, M, C) spectral tokens; temb: (B, C)."""
        context = self.gate * self.cross(fx.mean(dim=1)) + self.step(temb)
        x = x + context[:, None, :]
        x = x + self.attention(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class FreqLayer(nn.Module):
    """Spectral encoder layer on tokens (B, M, C): local depthwise convolution over
    neighbouring frequency patches, squeeze-excitation channel attention, feed-forward."""

    def __init__(self, dim, ffn, reduction=4):
        super().__init__()
        self.gate = nn.Parameter(torch.tensor(-0.5))
        self.cross = nn.Linear(dim, dim)
        self.step = nn.Linear(dim, dim)
        self.depthwise = nn.Conv1d(dim, dim, kernel_size=3, padding=1, groups=dim)
        self.norm1 = nn.BatchNorm1d(dim)
        self.pointwise = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.se = nn.Sequential(
            nn.Linear(dim, dim // reduction), nn.ReLU(), nn.Linear(dim // reduction, dim)
        )
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), nn.Linear(ffn, dim))

    def forward(self, fx, x, temb):
        """fx: (B, M, C) spectral tokens; x: (B, N, C) time tokens; temb: (B, C)."""
        context = self.gate * self.cross(x.mean(dim=1)) + self.step(temb)
        fx = fx + context[:, None, :]
        local = self.norm1(self.depthwise(fx.transpose(1, 2))).transpose(1, 2)
        fx = fx + self.pointwise(local)
        fx = fx * torch.sigmoid(self.se(fx.mean(dim=1)))[:, None, :]
        return fx + self.ffn(self.norm2(fx))


class TSNet(nn.Module):
    """TS-Net classifier with the TS-DDAE denoising heads.

    Args:
        n_classes (int): number of output classes.
        vector_length (int): L, samples per vector; a multiple of ``patch``.
        dim (int): token width C.
        depth (int): layers per branch.
        heads (int): attention heads of the temporal encoder.
        ffn (int): hidden width of the feed-forward blocks.
        patch (int): samples (and frequency bins) per token.
        stem (int): channels of the convolution before patching.
        head_hidden (int): hidden width of the classification head.
        preset (str): the preset these sizes came from (recorded in ``config``).
    """

    def __init__(
        self,
        n_classes,
        vector_length,
        dim,
        depth,
        heads,
        ffn,
        patch,
        stem,
        head_hidden,
        preset="custom",
    ):
        super().__init__()
        if vector_length % patch:
            raise ValueError(
                f"vector_length {vector_length} is not a multiple of patch {patch}: "
                "choose a vector length divisible by the patch size"
            )
        self.config = dict(
            preset=preset,
            n_classes=n_classes,
            vector_length=vector_length,
            dim=dim,
            depth=depth,
            heads=heads,
            ffn=ffn,
            patch=patch,
            stem=stem,
            head_hidden=head_hidden,
        )
        self.patch = patch
        tokens = vector_length // patch
        self.time_embed = ConvStem(TIME_FEATURES, stem, dim, patch)
        self.freq_embed = PatchEmbed(4, stem, dim, patch)
        self.time_pos = nn.Parameter(torch.zeros(1, tokens, dim))
        self.freq_pos = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.trunc_normal_(self.time_pos, std=0.02)
        nn.init.trunc_normal_(self.freq_pos, std=0.02)
        self.step_mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.SiLU(), nn.Linear(2 * dim, dim))
        self.time_layers = nn.ModuleList(TimeLayer(dim, heads, ffn) for _ in range(depth))
        self.freq_layers = nn.ModuleList(FreqLayer(dim, ffn) for _ in range(depth))
        self.time_norm = nn.LayerNorm(dim)
        self.freq_norm = nn.LayerNorm(dim)
        # Pre-training heads: time-domain noise eps (per time patch) and spectral noise
        # F(eta) (per frequency patch, in the frequency domain).
        self.eps_head = nn.Linear(dim, 2 * patch)
        self.delta_head = nn.Linear(dim, 2 * patch)
        self.head = nn.Sequential(
            nn.Linear(2 * dim, head_hidden),
            nn.Dropout(0.2),
            nn.PReLU(),
            nn.Linear(head_hidden, n_classes),
        )

    def _unpatch_tokens(self, y):
        """(B, N, 2 * patch) token outputs -> (B, 2, N * patch) signal."""
        b, n, _ = y.shape
        return y.view(b, n, 2, self.patch).permute(0, 2, 1, 3).reshape(b, 2, n * self.patch)

    def forward_encoder(self, x, t):
        """x: (B, 2, L) normalised IQ; t: (B,) steps -> time (B, N, C), spectral (B, N, C)."""
        tf = x if TIME_FEATURES == 2 else time_features(x)[:, :TIME_FEATURES]
        h = self.time_embed(tf).transpose(1, 2) + self.time_pos
        fh = self.freq_embed(spectral_features(x)).transpose(1, 2) + self.freq_pos
        temb = self.step_mlp(step_embedding(t, h.shape[-1]))
        for time_layer, freq_layer in zip(self.time_layers, self.freq_layers, strict=True):
            h = time_layer(h, fh, temb)
            fh = freq_layer(fh, h, temb)
        return self.time_norm(h), self.freq_norm(fh)

    def forward_denoise(self, x_t, t):
        """Noise predictions for pre-training.

        x_t: (B, 2, L) noisy normalised IQ at steps t (B,) -> (eps_hat (B, 2, L) in time,
        delta_hat (B, 2, L) = predicted F(eta), Re/Im of the centred unitary spectrum).
        """
        h, fh = self.forward_encoder(x_t, t)
        eps_hat = self._unpatch_tokens(self.eps_head(F.silu(h)))
        delta_hat = self._unpatch_tokens(self.delta_head(F.silu(fh)))
        return eps_hat, delta_hat

    def features(self, x):
        """Pooled representation of raw IQ: (B, 2, L) -> (B, 2C)."""
        x = normalize_power(x)
        t = torch.full((x.shape[0],), FINETUNE_STEP, dtype=torch.long, device=x.device)
        if self.training:
            from .tsddae import schedule

            x = schedule(x.device).q_sample(x, t)
        h, fh = self.forward_encoder(x, t)
        return torch.cat((h.mean(dim=1), fh.mean(dim=1)), dim=1)

    def forward(self, x):
        """Raw IQ (B, 2, L) float32 -> logits (B, n_classes)."""
        return self.head(self.features(x))


def build(preset="small", n_classes=None, vector_length=DEFAULT_VECTOR_LENGTH, **overrides):
    """A TSNet from a preset name, with any size overridden by keyword
    (``n_classes`` defaults to the six classes of ``contract.CLASSES``)."""
    n_classes = len(CLASSES) if n_classes is None else int(n_classes)
    if preset not in PRESETS:
        raise ValueError(f"unknown TS-Net preset {preset!r}: choose one of {', '.join(PRESETS)}")
    sizes = {**PRESETS[preset], **overrides}
    return TSNet(n_classes=n_classes, vector_length=vector_length, preset=preset, **sizes)
