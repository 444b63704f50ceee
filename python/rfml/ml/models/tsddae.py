# SPDX-License-Identifier: GPL-3.0-or-later
"""TS-DDAE: the TS-Net classifier and its temporal-spectral denoising diffusion pre-training.

TS-Net sees a vector twice: as a sequence of time patches (temporal encoder, multi-head
self-attention) and as a sequence of frequency patches of its spectrum (spectral encoder,
depthwise convolution + squeeze-excitation channel attention). The two encoders alternate
layer by layer and inform each other: each layer adds a learned, gated projection of the
other branch's pooled state (gates start at -0.5 as in the reference code). Every layer also
receives the diffusion-step embedding, so the same network denoises at any step ``t`` during
pre-training and classifies at the fixed step ``t = FINETUNE_STEP``.

Inputs are raw float32 IQ ``(B, 2, L)``; the model normalises each vector's power itself,
so callers never preprocess. A token stands for ``patch`` consecutive samples (time) or
frequency bins (spectrum): the small preset (``patch = 64``) attends over L / 64 = 16 time
tokens and 16 spectral tokens. Attention over 1024 single-sample tokens would be far too
slow for a CPU in real time.

Pre-training (stage ``pretrain``, eq. 5 of the paper), for a normalised vector x0:

    x_t = sqrt(abar_t) x0 + beta_t eps + gamma_t eta,

eps ~ N(0, I) drawn in time; eta = F^-1(delta), delta ~ N(0, I) drawn in frequency (Re and Im
of the centred unitary spectrum), so eta is the spectral noise of eqs. (1)-(3). The schedule
is the reference's (b = linspace(5.45e-6, 0.0072, 3000), abar = cumprod(1 - b)) with the split
made variance preserving as the paper requires: beta_t^2 + gamma_t^2 = 1 - abar_t and
gamma_t / beta_t = sqrt(2) (the reference's ratio 0.586/0.414). The temporal head predicts eps
in time, the spectral head delta in frequency; the loss is the reference's, on the combined
noise eps + r eta with r = (gamma / beta)^2 = 2, taken in the time domain.

Fine-tuning (stage ``finetune``) trains the classifier on x_t at t = 4 (fresh noise each
step, as the reference does); at inference the vector goes in clean at t = 4.
"""

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..contract import DEFAULT_VECTOR_LENGTH
from ..recipes import (
    CLASSIFIER_DATA,
    CLASSIFIER_FRESH2_DATA,
    CLASSIFIER_FRESH3_DATA,
    CLASSIFIER_FRESH4_DATA,
    CLASSIFIER_FRESH5_DATA,
    CLASSIFIER_FRESH_DATA,
    CLASSIFIER_MORE_DATA,
    CLASSIFIER_TESTS,
    CNN_BASELINE_STEPS,
    FewLabels,
    Recipe,
    Step,
)
from ..signal import inverse_spectrum, normalize_power, spectrum
from . import Stage, from_preset

KIND = "tsddae"
ROLE = "classifier"

# Stride of the first convolution of the patch embedding (samples).
STEM_STRIDE = 4

# Diffusion step used when classifying (the reference fine-tunes at t = 4).
FINETUNE_STEP = 4

PRESETS = {
    # dim = C, depth = layers per branch, ffn = hidden width of the feed-forward blocks,
    # patch = samples (time) or bins (frequency) per token, stem = channels of the
    # convolution that runs over samples before they are grouped into patches,
    # time_features = rows of time_features() the temporal encoder sees (2: I and Q; 5: also
    # power and the phase step).
    "tiny": dict(dim=32, depth=1, heads=2, ffn=64, patch=32, stem=8, head_hidden=64,
                 time_features=2),
    "small": dict(dim=64, depth=2, heads=4, ffn=128, patch=64, stem=16, head_hidden=128,
                  time_features=2),
    "paper": dict(dim=256, depth=4, heads=16, ffn=512, patch=8, stem=64, head_hidden=256,
                  time_features=2),
}  # fmt: skip


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
        time_features (int): rows of :func:`time_features` the temporal encoder sees, 2..5
            (2: I and Q).
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
        time_features=2,
        preset="custom",
    ):
        super().__init__()
        if not 2 <= time_features <= 5:
            raise ValueError(f"time_features {time_features} is not 2..5: the rows are I, Q, "
                             "power and the real and imaginary phase step")  # fmt: skip
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
            time_features=time_features,
        )
        self.patch = patch
        self.time_features = time_features
        tokens = vector_length // patch
        self.time_embed = ConvStem(time_features, stem, dim, patch)
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
        tf = x if self.time_features == 2 else time_features(x)[:, : self.time_features]
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

    def pooled(self, x, t):
        """Mean-pooled tokens of both branches: x (B, 2, L) normalised IQ at steps t (B,)
        -> (B, 2C)."""
        h, fh = self.forward_encoder(x, t)
        return torch.cat((h.mean(dim=1), fh.mean(dim=1)), dim=1)

    def features(self, x):
        """Pooled representation of raw IQ at the fine-tuning step: (B, 2, L) -> (B, 2C)."""
        x = normalize_power(x)
        return self.pooled(x, finetune_steps(x))

    def forward(self, x):
        """Raw IQ (B, 2, L) float32 -> logits (B, n_classes)."""
        return self.head(self.features(x))


def build(preset="small", n_classes=None, vector_length=DEFAULT_VECTOR_LENGTH, **overrides):
    """A TSNet from a preset name, with any size overridden by keyword."""
    return from_preset(TSNet, PRESETS, KIND, preset, n_classes, vector_length, overrides)


def grow_weights(model, state):
    """Carry a checkpoint's weights ``state`` over to ``model`` with more time features
    (``rfml train tsddae finetune --init M --set time_features=5``): the first temporal
    convolution gets zero weights for the added rows, so the grown model classifies as
    before until training puts the new inputs to use."""
    key = "time_embed.layers.0.weight"
    old, want = state.get(key), model.state_dict()[key]
    if old is None or old.shape == want.shape or old.shape[1] > want.shape[1]:
        return state
    return {**state, key: torch.cat((old, old.new_zeros(old.shape[0], want.shape[1] - old.shape[1],
                                                       *old.shape[2:])), dim=1)}  # fmt: skip


def finetune_steps(x):
    """The diffusion step the classifier sees, one per vector of x (B, ...): (B,) int64."""
    return torch.full((x.shape[0],), FINETUNE_STEP, dtype=torch.long, device=x.device)


# The diffusion schedule (see the module docstring).
MAX_STEP = 3000
MIN_NOISE = 5.45e-6
MAX_NOISE = 0.0072
SPECTRAL_TO_TEMPORAL = 2.0  # (gamma / beta)^2


class Schedule:
    """The noise schedule on one device.

    Args:
        device (str | torch.device): where the coefficient tables live.
    """

    def __init__(self, device="cpu"):
        b = torch.linspace(MIN_NOISE, MAX_NOISE, MAX_STEP, dtype=torch.float64)
        abar = torch.cumprod(1.0 - b, dim=0)
        noise = torch.sqrt(1.0 - abar)
        split = SPECTRAL_TO_TEMPORAL / (1.0 + SPECTRAL_TO_TEMPORAL)
        self.alpha = torch.sqrt(abar).float().to(device)
        self.beta = (noise * (1.0 - split) ** 0.5).float().to(device)
        self.gamma = (noise * split**0.5).float().to(device)

    def noise(self, x0, generator=None):
        """Draw (eps, delta, eta) for x0 (B, 2, L): eps in time, delta in frequency,
        eta = F^-1(delta) in time; each (B, 2, L), standard normal per component."""
        eps = torch.randn(x0.shape, generator=generator, device=x0.device)
        delta = torch.randn(x0.shape, generator=generator, device=x0.device)
        return eps, delta, inverse_spectrum(delta)

    def q_sample(self, x0, t, generator=None):
        """x_t for x0 (B, 2, L) at steps t (B,), with fresh noise."""
        eps, _, eta = self.noise(x0, generator)
        return self.mix(x0, t, eps, eta)

    def mix(self, x0, t, eps, eta):
        """sqrt(abar_t) x0 + beta_t eps + gamma_t eta; all (B, 2, L), t (B,)."""
        a, b, g = (c[t][:, None, None] for c in (self.alpha, self.beta, self.gamma))
        return a * x0 + b * eps + g * eta


@functools.lru_cache(maxsize=4)
def schedule(device):
    """The (cached) schedule on ``device``."""
    return Schedule(device)


def pretrain_loss(model, batch, generator=None):
    """TS-DDAE loss on raw IQ batch["iq"] (B, 2, L): a random step per vector, noise in
    time and frequency, MSE between true and predicted combined noise eps + r eta."""
    x = batch["iq"]
    x0 = normalize_power(x)
    sched = schedule(x.device)
    t = torch.randint(0, MAX_STEP, (x.shape[0],), generator=generator, device=x.device)
    eps, delta, eta = sched.noise(x0, generator)
    eps_hat, delta_hat = model.forward_denoise(sched.mix(x0, t, eps, eta), t)
    r = SPECTRAL_TO_TEMPORAL
    return F.mse_loss(eps_hat + r * inverse_spectrum(delta_hat), eps + r * eta)


def finetune_loss(model, batch, generator=None):
    """Cross-entropy of the classifier on x_t at t = FINETUNE_STEP (fresh noise per step)."""
    x0 = normalize_power(batch["iq"])
    t = finetune_steps(x0)
    x_t = schedule(x0.device).q_sample(x0, t, generator)
    return F.cross_entropy(model.head(model.pooled(x_t, t)), batch["label"])


STAGES = {
    "pretrain": Stage(
        pretrain_loss,
        needs=("iq",),
        epochs=3,
        lr=1e-3,
        help="temporal-spectral denoising diffusion pre-training on unlabelled vectors",
    ),
    "finetune": Stage(
        finetune_loss,
        needs=("iq", "label"),
        init="optional",
        select="accuracy",
        epochs=6,
        lr=1e-3,
        help="supervised fine-tuning (from a pretrain checkpoint with --init, else from scratch)",
    ),
}

ARCHITECTURE = (
    "TS-Net: a token stands for `patch` consecutive samples or spectral bins. Time "
    "tokens: two convolution layers over the I/Q samples (kernel 7 stride 2, kernel 5, "
    "batch norm, ReLU, max-pool 2 each), then a strided convolution over each patch; "
    "they feed a temporal self-attention encoder. Spectral tokens: a strided convolution "
    "over each `patch` bins of the centred unitary spectrum (Re, Im, log power) and the "
    "log power spectrum of x^2; they feed a spectral encoder (depthwise convolution, "
    "squeeze-excitation channel attention). The branches alternate and exchange gated "
    "pooled context every layer; the classifier sees the diffusion step t = 4 and the "
    "mean-pooled tokens of both branches (2C -> head_hidden -> PReLU -> classes)."
)

# The shipped checkpoint: pre-training (unlabelled) then fine-tuning on nominal, randomised
# and wide-range transmitters with an honest GFSK/GMSK boundary (recipes.DATA_SETS), then
# continued training on twice the data (more GFSK and GMSK), then on five pairs of fresh
# draws of it one after another (the last three with GFSK/GMSK at low BT, the last also with
# the vectors' mirror images); the CNN baseline is trained on the same data for the same
# total time (435 min), and the few-label comparison.
# Each run uses one CPU thread, so two can train side by side on a 2-core machine with equal
# shares.
PRETRAIN_DATA = ("train_rand", "train_nom", "train_wide")

RECIPES = {
    "tsddae_small": Recipe(
        train=CLASSIFIER_DATA,
        steps=(
            Step("tsddae_pre", KIND, "pretrain", budget_min=20.0, epochs=50, lr=1e-3,
                 data=PRETRAIN_DATA),
            Step("tsddae_small", KIND, "finetune", budget_min=30.0, epochs=50, lr=2e-3,
                 init="tsddae_pre"),
            Step("tsddae_cont", KIND, "finetune", budget_min=105.0, epochs=60, lr=1e-3,
                 init="tsddae_small", data=CLASSIFIER_MORE_DATA, seed=1),
            Step("tsddae_cont2", KIND, "finetune", budget_min=50.0, epochs=60, lr=1e-3,
                 init="tsddae_cont", data=CLASSIFIER_FRESH_DATA, seed=2),
            Step("tsddae_cont3", KIND, "finetune", budget_min=70.0, epochs=60, lr=5e-4,
                 init="tsddae_cont2", data=CLASSIFIER_FRESH2_DATA, seed=3),
            Step("tsddae_cont4", KIND, "finetune", budget_min=60.0, epochs=60, lr=5e-4,
                 init="tsddae_cont3", data=CLASSIFIER_FRESH3_DATA, seed=4),
            Step("tsddae_cont5", KIND, "finetune", budget_min=50.0, epochs=60, lr=2.5e-4,
                 init="tsddae_cont4", data=CLASSIFIER_FRESH4_DATA, seed=5),
            Step("tsddae_sym", KIND, "finetune", budget_min=50.0, epochs=60, lr=2.5e-4,
                 init="tsddae_cont5", data=CLASSIFIER_FRESH5_DATA, seed=6, symmetries=True),
        ),
        compare=CNN_BASELINE_STEPS,
        tests=CLASSIFIER_TESTS,
        few_labels=FewLabels(pool="few_pool", test="test_nom", init="tsddae_pre", minutes=2.0),
    )
}  # fmt: skip
