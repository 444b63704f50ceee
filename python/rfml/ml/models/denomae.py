# SPDX-License-Identifier: GPL-3.0-or-later
"""DenoMAE: a multimodal masked autoencoder that denoises modulated signals.

Five modalities of one vector (``denomae.md``, section III.A), all on the scale of the noisy
vector divided by its RMS (I and Q of the noisy vector have unit mean square):

========  =====================================================  ========================
index     modality                                               tokens
========  =====================================================  ========================
0         noisy constellation image (decay mode, C channels)     (S / p)^2 image patches
1         noisy signal, I and Q                                  L / P time patches
2         clean constellation image                              (S / p)^2
3         clean signal                                           L / P
4         noise = noisy - clean                                  L / P
========  =====================================================  ========================

A signal patch is ``P`` consecutive samples of I and Q (2P values); an image patch is
``p x p`` pixels of every channel. Images come from the C++ renderer
(``rfml.render_constellations``, decay mode) on the CPU, batch-wise, imported only when an
image is made, so this module imports without GNU Radio.

Each modality has its own linear patch embedding, learned positions and a learned modality
embedding; a random 75% of each modality's patches is masked and the shared pre-LN
transformer encoder sees only the visible 25%, all modalities together. One decoder per
modality rebuilds its modality: its own patches (visible ones from the encoder, masked ones
as the decoder's mask token, plus the decoder's positions) attend together with the visible
tokens of the other modalities; the loss is the MSE on the masked patches only. This fixes
the reference code's bugs (decoders without mask tokens, loss on visible patches, attention
across the batch axis).

Stages: ``pretrain`` (masked reconstruction of all five modalities, unlabelled); ``denoise``
(the noisy image and noisy signal fully visible, the other modalities absent, the clean
signal's decoder sees only mask tokens and regresses the whole clean signal: exactly what
:meth:`DenoMAE.denoise` runs, the refinement head included); ``refine`` (the refinement
head alone on the frozen rest, with a per-vector SNR loss: the head an older checkpoint
grows with ``--set refine_channels=...``); ``finetune`` (a classification head on the mean-pooled
encoder tokens of the noisy modalities; the encoder frozen as in the paper's protocol when
``freeze_encoder``, so the denoiser is untouched); ``supervised`` (the whole network trained
for classification, from scratch without ``--init``: the arm `rfml train denomae few-labels`
compares with the pre-trained one). ``forward(x)`` gives class logits (the classifier tools
work on it), ``denoise(x)`` the clean-signal estimate (the denoiser runner's protocol).
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..contract import DEFAULT_VECTOR_LENGTH
from ..recipes import DATA_SETS as RECIPE_DATA_SETS
from ..recipes import Recipe, Step, Test
from ..signal import inverse_spectrum, normalize_power, rms, spectrum
from . import Stage, from_preset

KIND = "denomae"
ROLE = "denoiser"

MODALITIES = ("noisy_image", "noisy_signal", "clean_image", "clean_signal", "noise")
IMAGE_MODALITIES = ("noisy_image", "clean_image")
NOISY = ("noisy_image", "noisy_signal")

# Image rendering shared by the presets: the vector is on the noisy-RMS scale (I and Q unit
# mean square, |z| about sqrt(2)), so +-3.5 holds the reference's +-2.5 at unit |z|^2.
IMAGE = dict(extent=3.5)

# Settings every preset shares (mask_ratio: the paper's 75%; modalities: all five, the
# ablation drops "noise"; freeze_encoder: fine-tuning trains the head only, as the paper).
COMMON = dict(mask_ratio=0.75, modalities=MODALITIES, freeze_encoder=True)

PRESETS = {
    # dim/depth/heads: shared encoder; decoder_dim/decoder_depth: each modality decoder;
    # image_size/image_patch: the rendered images and their patches (pixels); windows: decay
    # window half-widths in pixels (rates = 5 / windows, the reference's choice);
    # signal_patch: samples per signal token; head_hidden: classification head width;
    # bands: frequency bands of the denoiser's spectral gain; refine_channels/refine_layers:
    # the sample-rate refinement head (0 channels: none), dilations 1, 2, 4, ... per layer.
    "tiny": dict(dim=32, depth=1, heads=2, decoder_dim=32, decoder_depth=1, image_size=16,
                 image_patch=8, windows=(1, 3), signal_patch=64, head_hidden=32, bands=16,
                 refine_channels=8, refine_layers=2),
    "small": dict(dim=64, depth=3, heads=4, decoder_dim=64, decoder_depth=1, image_size=32,
                  image_patch=8, windows=(1, 2, 4), signal_patch=64, head_hidden=64,
                  bands=128, refine_channels=32, refine_layers=7),
    "paper": dict(dim=768, depth=12, heads=12, decoder_dim=768, decoder_depth=4,
                  image_size=224, image_patch=16, windows=(5, 25, 50), signal_patch=16,
                  head_hidden=512, bands=256, refine_channels=64, refine_layers=8),
}  # fmt: skip
PRESETS = {name: {**sizes, **COMMON} for name, sizes in PRESETS.items()}
# Checkpoints made before the refinement head have none (models.ADDED_SETTINGS).
ADDED_SETTINGS = dict(refine_channels=0, refine_layers=0)


def render_images(x, size, windows, extent=IMAGE["extent"], threads=0):
    """Decay-mode constellation images of IQ vectors, rendered on the CPU.

    x: (B, 2, L) float tensor (any device) -> (B, C, size, size) float32 on x's device,
    C = len(windows), rates = 5 / windows, each channel divided by its maximum.
    """
    import numpy as np
    from gnuradio import rfml  # the C++ renderer; only needed when images are made

    from ..signal import iq_to_complex

    z = iq_to_complex(x.detach().float().cpu().numpy())
    img = rfml.render_constellations(
        np.ascontiguousarray(z),
        mode="decay",
        size=int(size),
        extent=float(extent),
        rates=[5.0 / w for w in windows],
        windows=[int(w) for w in windows],
        normalise="max",
        threads=threads,
    )
    return torch.from_numpy(img).to(x.device)


def _block(dim, heads):
    """One pre-LN transformer block (ViT style: LN, MHSA, LN, MLP x4, GELU), batch first."""
    return nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                      batch_first=True, norm_first=True)  # fmt: skip


def _stack(dim, heads, depth):
    return nn.TransformerEncoder(_block(dim, heads), depth, enable_nested_tensor=False)


class Decoder(nn.Module):
    """The decoder of one modality: its T tokens (visible ones from the encoder, masked ones
    the mask token) plus the visible tokens of the other modalities, a transformer, and a
    linear map of its own tokens to patches."""

    def __init__(self, dim, decoder_dim, heads, depth, n_tokens, patch_dim):
        super().__init__()
        self.proj = nn.Linear(dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.pos = nn.Parameter(torch.randn(1, n_tokens, decoder_dim) * 0.02)
        self.blocks = _stack(decoder_dim, max(1, heads * decoder_dim // dim), depth)
        self.norm = nn.LayerNorm(decoder_dim)
        self.out = nn.Linear(decoder_dim, patch_dim)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, own, keep, context):
        """Predicted patches (B, T, patch_dim) (arguments as :meth:`hidden`)."""
        return self.out(self.hidden(own, keep, context))

    def hidden(self, own, keep, context):
        """own: (B, K, D) encoded visible tokens of this modality at positions keep (B, K)
        int64; context: (B, N, D) visible tokens of the other modalities.
        Returns the decoder's last states of this modality's tokens (B, T, decoder_dim)."""
        b, t = own.shape[0], self.pos.shape[1]
        full = self.mask_token.expand(b, t, -1)
        if keep.shape[1]:
            idx = keep[..., None].expand(-1, -1, full.shape[-1])
            full = torch.scatter(full, 1, idx, self.proj(own))
        full = full + self.pos
        seq = torch.cat((full, self.proj(context)), dim=1) if context.shape[1] else full
        return self.norm(self.blocks(seq)[:, :t])


class Refiner(nn.Module):
    """The denoiser's sample-rate refinement head: a residual stack of dilated convolutions
    along time over the noisy vector and the coarse estimate, each token's decoder state
    added to its samples (what the transformer knows of the whole vector: class, noise level,
    phase). Layer i is a kernel-3 convolution of dilation 2^i, GELU and a 1x1 convolution,
    added to its input; the output (zero at first) corrects the coarse estimate. Its
    receptive field (2^(layers+1) - 1 samples) spans several symbols, so it can learn the
    per-symbol, decision-aided reconstruction that no linear filter does.

    The convolutions are 2-D with a height of 1 so that inference runs them channels-last
    (oneDNN's fast path, about twice the 1-D speed on a CPU), ``chunk`` vectors at a time so
    that the activations stay in the cache.
    """

    chunk = 16

    def __init__(self, decoder_dim, channels, layers, patch):
        super().__init__()
        self.patch = patch
        self.cond = nn.Linear(decoder_dim, channels)
        self.inp = nn.Conv2d(4, channels, 1)
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, (1, 3), dilation=(1, 2**i),
                                    padding=(0, 2**i)),
                          nn.GELU(), nn.Conv2d(channels, channels, 1))
            for i in range(layers)
        )  # fmt: skip
        self.out = nn.Conv2d(channels, 2, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, coarse, states):
        """x, coarse (B, 2, L), states (B, L / P, decoder_dim) -> refined (B, 2, L)."""
        if self.training or torch.onnx.is_in_onnx_export() or len(x) <= self.chunk:
            return self._run(x, coarse, states)
        parts = [self._run(*(t[i : i + self.chunk] for t in (x, coarse, states)))
                 for i in range(0, len(x), self.chunk)]  # fmt: skip
        return torch.cat(parts)

    def _run(self, x, coarse, states):
        cond = self.cond(states).transpose(1, 2)  # (B, C, T)
        b, c, t = cond.shape
        cond = cond[..., None].expand(b, c, t, self.patch).reshape(b, c, 1, t * self.patch)
        h = self.inp(torch.cat([x, coarse], dim=1)[:, :, None]) + cond
        if not self.training:
            h = h.contiguous(memory_format=torch.channels_last)
        for layer in self.layers:
            h = h + layer(h)
        return coarse + self.out(h)[:, :, 0]


class DenoMAE(nn.Module):
    """Multimodal masked autoencoder (see the module docstring).

    Args:
        n_classes (int): classes of the classification head.
        vector_length (int): L, samples per vector (a multiple of ``signal_patch``).
        dim, depth, heads (int): encoder width, blocks and attention heads.
        decoder_dim, decoder_depth (int): width and blocks of each modality decoder.
        image_size, image_patch (int): image side and patch side in pixels.
        windows (tuple[int]): decay window half-widths in pixels, one channel each.
        signal_patch (int): samples per signal token.
        head_hidden (int): hidden width of the classification head.
        bands (int): frequency bands of the denoiser's spectral gain.
        refine_channels, refine_layers (int): width and depth of the sample-rate refinement
            head (:class:`Refiner`); 0 channels: none (the denoiser's output is the coarse
            estimate).
        mask_ratio (float): share of each modality's patches masked in pre-training.
        modalities (tuple[str]): the modalities pre-training reconstructs (the ablation
            drops ``noise``); the noisy two are always there.
        freeze_encoder (bool): fine-tuning trains the head only (the paper's protocol).
        preset (str): the preset the sizes came from.
    """

    def __init__(self, n_classes, vector_length, dim, depth, heads, decoder_dim,
                 decoder_depth, image_size, image_patch, windows, signal_patch, head_hidden,
                 bands, refine_channels=0, refine_layers=0, mask_ratio=0.75,
                 modalities=MODALITIES, freeze_encoder=True, preset="custom"):  # fmt: skip
        super().__init__()
        if vector_length % signal_patch or image_size % image_patch:
            raise ValueError(
                f"vector_length {vector_length} must be a multiple of signal_patch "
                f"{signal_patch} and image_size {image_size} of image_patch {image_patch}"
            )
        unknown = set(modalities) - set(MODALITIES)
        if unknown or not set(NOISY) <= set(modalities):
            raise ValueError(f"modalities {list(modalities)}: choose among {MODALITIES}, "
                             f"always with {NOISY}")  # fmt: skip
        if not 0 < mask_ratio < 1:
            raise ValueError(f"mask_ratio must be in (0, 1), got {mask_ratio}")
        windows = tuple(int(w) for w in windows)
        modalities = tuple(m for m in MODALITIES if m in modalities)
        self.config = dict(
            preset=preset, n_classes=n_classes, vector_length=vector_length, dim=dim,
            depth=depth, heads=heads, decoder_dim=decoder_dim, decoder_depth=decoder_depth,
            image_size=image_size, image_patch=image_patch, windows=list(windows),
            signal_patch=signal_patch, head_hidden=head_hidden, bands=bands,
            refine_channels=refine_channels, refine_layers=refine_layers, mask_ratio=mask_ratio,
            modalities=list(modalities), freeze_encoder=bool(freeze_encoder),
        )  # fmt: skip
        self.vector_length, self.signal_patch = vector_length, signal_patch
        self.image_size, self.image_patch, self.windows = image_size, image_patch, windows
        self.mask_ratio, self.modalities = mask_ratio, modalities
        self.freeze_encoder = bool(freeze_encoder)
        n_img, n_sig = (image_size // image_patch) ** 2, vector_length // signal_patch
        d_img, d_sig = len(windows) * image_patch**2, 2 * signal_patch
        self.tokens = {m: n_img if m in IMAGE_MODALITIES else n_sig for m in MODALITIES}
        self.patch_dim = {m: d_img if m in IMAGE_MODALITIES else d_sig for m in MODALITIES}
        self.embed = nn.ModuleDict({m: nn.Linear(self.patch_dim[m], dim) for m in MODALITIES})
        self.pos = nn.ParameterDict(
            {m: nn.Parameter(torch.randn(1, self.tokens[m], dim) * 0.02) for m in MODALITIES}
        )
        self.modality_embed = nn.Parameter(torch.randn(len(MODALITIES), dim) * 0.02)
        self.encoder = _stack(dim, heads, depth)
        self.encoder_norm = nn.LayerNorm(dim)
        self.decoders = nn.ModuleDict({
            m: Decoder(dim, decoder_dim, heads, decoder_depth, self.tokens[m], self.patch_dim[m])
            for m in MODALITIES
        })  # fmt: skip
        # The denoiser's heads: a gain per frequency band from the pooled tokens (an adaptive
        # Wiener gain) and a time-domain residual from the clean-signal decoder (zero at
        # first, so denoising starts from the spectral gain alone).
        self.band_gain = nn.Linear(dim, bands)
        self.residual = nn.Linear(decoder_dim, self.patch_dim["clean_signal"])
        nn.init.zeros_(self.residual.weight)
        nn.init.zeros_(self.residual.bias)
        self.refiner = (Refiner(decoder_dim, refine_channels, refine_layers, signal_patch)
                        if refine_channels > 0 else None)  # fmt: skip
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, head_hidden), nn.ReLU(),
                                  nn.Dropout(0.5), nn.Linear(head_hidden, n_classes))  # fmt: skip

    # ------------------------------------------------------------------ patches

    def patchify_signal(self, x):
        """(B, 2, L) -> (B, L / P, 2P): each token holds P samples of I then P of Q."""
        b, p = x.shape[0], self.signal_patch
        return x.reshape(b, 2, -1, p).permute(0, 2, 1, 3).reshape(b, -1, 2 * p)

    def unpatchify_signal(self, t):
        """(B, L / P, 2P) -> (B, 2, L)."""
        b, p = t.shape[0], self.signal_patch
        return t.reshape(b, -1, 2, p).permute(0, 2, 1, 3).reshape(b, 2, -1)

    def patchify_image(self, img):
        """(B, C, S, S) -> (B, (S / p)^2, C p^2), patches in row-major order."""
        b, c, s, _ = img.shape
        p, n = self.image_patch, s // self.image_patch
        return img.reshape(b, c, n, p, n, p).permute(0, 2, 4, 1, 3, 5).reshape(b, n * n, -1)

    def render(self, x):
        """(B, 2, L) IQ on the model scale -> (B, C, S, S) decay images (CPU renderer)."""
        return render_images(x, self.image_size, self.windows)

    def outside_inputs(self, x):
        """What ``denoise`` computes outside torch, for ``x`` (B, 2, L): {"image": the noisy
        constellation images (B, C, S, S)} (ml.export gives them to the ONNX graph as an
        input, so the graph holds the network alone)."""
        return {"image": self.render(x)}

    def modality_patches(self, x, clean=None, which=MODALITIES, image=None):
        """Patches of the modalities in ``which``: {name: (B, T, patch_dim)}.

        x: noisy IQ (B, 2, L) on the model scale; clean: its clean twin on the same scale
        (needed for the clean and noise modalities); image: x's rendered images
        (``outside_inputs``), rendered here when None.
        """
        if x.shape[-1] != self.vector_length:
            raise ValueError(f"DenoMAE was built for vectors of {self.vector_length} samples, got "
                             f"{x.shape[-1]}: use a checkpoint trained on this length")  # fmt: skip
        make = {
            "noisy_image": lambda: self.patchify_image(self.render(x) if image is None else image),
            "noisy_signal": lambda: self.patchify_signal(x),
            "clean_image": lambda: self.patchify_image(self.render(clean)),
            "clean_signal": lambda: self.patchify_signal(clean),
            "noise": lambda: self.patchify_signal(x - clean),
        }
        return {m: make[m]() for m in which}

    # ------------------------------------------------------------------ the network

    def random_keep(self, b, m, generator, device, ratio=None):
        """Indices of the visible patches of modality m: (B, K) int64, a random
        (1 - ratio) share of its tokens per vector (at least one)."""
        t = self.tokens[m]
        k = max(1, round(t * (1 - (self.mask_ratio if ratio is None else ratio))))
        noise = torch.rand(b, t, generator=generator, device=device)
        return torch.argsort(noise, dim=1)[:, :k]

    def forward_encoder(self, patches, keep):
        """Encode the visible patches of several modalities together.

        patches: {m: (B, T_m, patch_dim_m)}; keep: {m: (B, K_m) int64 or None = all}.
        Returns ({m: (B, K_m, dim)} encoded tokens, keep with None replaced by aranges).
        """
        tokens, sizes, kept = [], [], {}
        for m, p in patches.items():
            i = MODALITIES.index(m)
            t = self.embed[m](p) + self.pos[m] + self.modality_embed[i]
            k = keep.get(m)
            if k is None:
                k = torch.arange(t.shape[1], device=t.device).expand(t.shape[0], -1)
            else:
                t = torch.gather(t, 1, k[..., None].expand(-1, -1, t.shape[-1]))
            tokens.append(t)
            sizes.append(t.shape[1])
            kept[m] = k
        z = self.encoder_norm(self.encoder(torch.cat(tokens, dim=1)))
        return dict(zip(patches, torch.split(z, sizes, dim=1), strict=True)), kept

    def forward_decoder(self, m, encoded, kept, hidden=False):
        """Predicted patches of modality m (B, T_m, patch_dim_m) from the encoded visible
        tokens of every modality (``encoded``/``kept`` as returned by forward_encoder; a
        modality absent from them has no visible tokens); with ``hidden``, the decoder's last
        states (B, T_m, decoder_dim) instead."""
        b = next(iter(encoded.values())).shape[0]
        device = next(iter(encoded.values())).device
        if m in encoded:
            own, keep = encoded[m], kept[m]
        else:
            own = torch.zeros(b, 0, self.config["dim"], device=device)
            keep = torch.zeros(b, 0, dtype=torch.int64, device=device)
        others = [z for name, z in encoded.items() if name != m]
        context = torch.cat(others, dim=1) if others else own[:, :0]
        decoder = self.decoders[m]
        return (decoder.hidden if hidden else decoder)(own, keep, context)

    @staticmethod
    def masked_mse(pred, target, keep):
        """MSE over the patches not in keep (B, K): pred/target (B, T, D) -> scalar."""
        masked = torch.ones(pred.shape[:2], dtype=torch.bool, device=pred.device)
        masked[torch.arange(pred.shape[0], device=pred.device)[:, None], keep] = False
        err = (pred - target).pow(2).mean(dim=-1)
        return (err * masked).sum() / masked.sum().clamp(min=1)

    # ------------------------------------------------------------------ what callers use

    def features(self, x):
        """Raw IQ (B, 2, L) -> pooled encoder tokens of the noisy modalities (B, dim)."""
        x = normalize_power(x)
        encoded, _ = self.forward_encoder(self.modality_patches(x, which=NOISY), {})
        return torch.cat(list(encoded.values()), dim=1).mean(dim=1)

    def forward(self, x):
        """Raw IQ (B, 2, L) float32 -> class logits (B, n_classes)."""
        return self.head(self.features(x))

    def coarse(self, x, image=None):
        """The transformer's clean estimate and the clean-signal decoder's states:
        ((B, 2, L), (B, L / P, decoder_dim)) for noisy IQ ``x`` on the model scale.

        The estimate is the noisy spectrum times a gain per band (sigmoid of a linear map of
        the pooled encoder tokens, linearly interpolated over the L bins: an adaptive Wiener
        gain that sees the vector's class and noise level) plus a time-domain residual from
        the clean-signal decoder (mask tokens only, every other modality's visible tokens).
        """
        encoded, kept = self.forward_encoder(self.modality_patches(x, which=NOISY, image=image), {})
        pooled = torch.cat(list(encoded.values()), dim=1).mean(dim=1)
        gain = torch.sigmoid(self.band_gain(pooled))[:, None]  # (B, 1, bands)
        gain = F.interpolate(gain, size=x.shape[-1], mode="linear", align_corners=False)
        filtered = inverse_spectrum(spectrum(x) * gain)
        states = self.forward_decoder("clean_signal", encoded, kept, hidden=True)
        return filtered + self.unpatchify_signal(self.residual(states)), states

    def denoise(self, x, image=None):
        """Noisy IQ on the unit-mean-square scale (B, 2, L) -> clean estimate (B, 2, L) on
        the same scale, from the noisy image and the noisy signal alone (``image``: x's
        images from ``outside_inputs``, rendered here when None): the coarse estimate
        (:meth:`coarse`) corrected by the refinement head when the model has one."""
        estimate, states = self.coarse(x, image)
        return estimate if self.refiner is None else self.refiner(x, estimate, states)


def build(preset="small", n_classes=None, vector_length=DEFAULT_VECTOR_LENGTH, **overrides):
    """A DenoMAE from a preset name, with any size overridden by keyword."""
    return from_preset(DenoMAE, PRESETS, KIND, preset, n_classes, vector_length, overrides)


# ----------------------------------------------------------------------------- stages


def _scaled(batch):
    """Noisy and clean IQ of a batch divided by the noisy vector's RMS (the model scale)."""
    s = rms(batch["iq"])
    return batch["iq"] / s, batch["clean"] / s


def pretrain_loss(model, batch, generator=None):
    """Masked reconstruction: 75% of each modality's patches hidden, the mean over the
    modalities of the MSE on their masked patches."""
    x, c = _scaled(batch)
    patches = model.modality_patches(x, c, model.modalities)
    keep = {m: model.random_keep(x.shape[0], m, generator, x.device) for m in patches}
    encoded, kept = model.forward_encoder(patches, keep)
    losses = [
        model.masked_mse(model.forward_decoder(m, encoded, kept), patches[m], kept[m])
        for m in patches
    ]
    return torch.stack(losses).mean()


def denoise_loss(model, batch, generator=None):
    """MSE of denoise(x) against the clean signal on the model scale (the noisy
    modalities visible, the others absent)."""
    x, c = _scaled(batch)
    return F.mse_loss(model.denoise(x), c)


def snr_loss(estimate, clean, eps=1e-3):
    """The mean over vectors of -SNR (dB) of ``estimate`` against ``clean`` (B, 2, L): the
    per-vector figure the denoiser's card averages, so quiet and loud vectors weigh alike
    (``eps`` bounds it near 30 dB above the clean power)."""
    err = (estimate - clean).pow(2).mean(dim=(1, 2))
    power = clean.pow(2).mean(dim=(1, 2)).clamp(min=1e-12)
    return (10 * torch.log10(err / power + eps)).mean()


def refine_loss(model, batch, generator=None):
    """``snr_loss`` of the refinement head's output, the transformer frozen (its coarse
    estimate computed without gradients)."""
    if model.refiner is None:
        grow = " ".join(f"--set {setting}" for setting in REFINER)
        raise ValueError(f"this DenoMAE has no refinement head: start from it with {grow}")
    x, c = _scaled(batch)
    with torch.no_grad():
        estimate, states = model.coarse(x)
    return snr_loss(model.refiner(x, estimate, states), c)


def finetune_loss(model, batch, generator=None):
    """Cross-entropy of the head on the pooled noisy-modality tokens, the encoder frozen when
    ``freeze_encoder`` (the paper's protocol)."""
    if model.freeze_encoder:
        with torch.no_grad():
            f = model.features(batch["iq"])
        return F.cross_entropy(model.head(f), batch["label"])
    return supervised_loss(model, batch, generator)


def supervised_loss(model, batch, generator=None):
    """Cross-entropy of ``model(iq)``, every weight trained."""
    return F.cross_entropy(model(batch["iq"]), batch["label"])


STAGES = {
    "pretrain": Stage(pretrain_loss, needs=("iq", "clean"), epochs=30, lr=1e-3, batch_size=128,
                      help="masked reconstruction of the five modalities (unlabelled)"),
    "denoise": Stage(denoise_loss, needs=("iq", "clean"), init="optional", epochs=30, lr=5e-4,
                     batch_size=128,
                     help="regress the clean signal from the noisy image and signal"),
    "refine": Stage(refine_loss, needs=("iq", "clean"), init="required", epochs=30, lr=1e-3,
                    batch_size=64,
                    help="the sample-rate refinement head on the frozen denoiser (per-vector "
                         "SNR loss)"),
    "finetune": Stage(finetune_loss, needs=("iq", "label"), init="required",
                      select="accuracy", epochs=100, lr=1e-3, batch_size=64,
                      help="classification head on the frozen pre-trained encoder"),
    "supervised": Stage(supervised_loss, needs=("iq", "label"), init="optional",
                        select="accuracy", epochs=100, lr=1e-3, batch_size=64,
                        help="the whole network for classification (from scratch without "
                             "--init; few-labels compares both)"),
}  # fmt: skip

ARCHITECTURE = (
    "DenoMAE: five modalities (noisy and clean decay-mode constellation images, noisy and "
    "clean I/Q signals, noise), each on the noisy vector's RMS scale, cut into patches "
    "(signals: P samples of I and Q per token; images: p x p pixels of every channel), "
    "linear patch embeddings + learned positions + a modality embedding; shared pre-LN "
    "transformer encoder over the visible patches (75% of each modality masked in "
    "pre-training); one decoder per modality (its tokens, mask tokens at masked places, "
    "with the other modalities' visible tokens), loss on masked patches only. denoise(x): "
    "noisy image + noisy signal fully visible, the clean-signal decoder from mask tokens "
    "only, its estimate corrected by a sample-rate refinement head (dilated convolutions "
    "over the noisy and coarse signals and the decoder states). forward(x): classification "
    "logits from a head (LN, Linear, ReLU, Dropout 0.5, Linear) on the mean-pooled encoder "
    "tokens of the noisy modalities."
)

# The shipped small model's data (our flowgraphs, sim loopback; seeds fixed): pre-training and
# denoising on nominal and randomised transmitters at -10..10 dB (the refinement head on more
# of them), 1k labelled vectors for the fine-tuning (the paper's protocol), a test set at the
# five reported SNRs.
DATA_SETS = {
    "denomae_nom": dict(per_class=2500, snr_db="-10:10", seed=801),
    "denomae_rand": dict(per_class=1000, snr_db="-10:10", randomize=True, seed=802),
    "denomae_ref_nom": dict(per_class=4000, snr_db="-10:10", seed=806),
    "denomae_ref_rand": dict(per_class=2000, snr_db="-10:10", randomize=True, seed=807),
    "denomae_labels": dict(per_class=167, snr_db="-10:10", seed=803),
    "denomae_test": dict(per_class=100, snr_db="-10,-5,0,5,10", seed=804),
    "denomae_test_rand": dict(per_class=100, snr_db="-10,-5,0,5,10", randomize=True, seed=805),
}

# The refinement head the recipe's refine step adds (a no-op when the preset has it already).
REFINER = ("refine_channels=32", "refine_layers=7")

RECIPES = {
    "denomae_small": Recipe(
        train=("denomae_nom", "denomae_rand"),
        steps=(
            Step("denomae_pre", KIND, "pretrain", budget_min=30.0, epochs=40, lr=1e-3,
                 batch_size=64),
            Step("denomae_den", KIND, "denoise", budget_min=45.0, epochs=40, lr=1e-3,
                 init="denomae_pre", batch_size=64),
            Step("denomae_den2", KIND, "denoise", budget_min=7.0, epochs=40, lr=3e-4,
                 init="denomae_den", batch_size=64),
            Step("denomae_ref", KIND, "refine", budget_min=70.0, epochs=40, lr=1e-3,
                 init="denomae_den2", batch_size=64, config=REFINER,
                 data=("denomae_nom", "denomae_rand", "denomae_ref_nom", "denomae_ref_rand")),
            Step("denomae_small", KIND, "finetune", budget_min=4.0, epochs=100, lr=1e-3,
                 init="denomae_ref", batch_size=64, data=("denomae_labels",)),
        ),
        tests=(Test("nominal", "denomae_test"), Test("randomized", "denomae_test_rand")),
        val_fraction=0.03,
        data_sets={**RECIPE_DATA_SETS, **DATA_SETS},
    )
}  # fmt: skip
