# SPDX-License-Identifier: GPL-3.0-or-later
"""HQARF: a hierarchical VQ-VAE codec for complex vectors, one model for five rates.

The encoder is a chain of five stages E0..E4, each halving the time length (1024 samples ->
512, 256, 128, 64, 32 steps). Level k takes the continuous output of stage k, projects it
to ``code_dim`` channels and quantises every time step to the nearest of ``codebook_size``
entries of its own codebook Q_k: a vector becomes ``L / 2**(k+1)`` code indices. The decoder
mirrors the encoder with one shared chain of up-sampling stages U4..U0 (each doubling the
time length); level k enters the chain at U_k through its own input convolution, so a
level's codes alone give back the whole vector. Higher levels send fewer codes: the rate
is chosen per vector at run time, from one set of weights.

Codebooks (:class:`Codebook`) are updated by exponential moving averages of the encoder
outputs assigned to them (van den Oord et al., 2017, appendix), not by gradients; an entry
whose moving usage falls below ``dead_fraction`` of the mean is dead and is revived as a
random encoder output of the current batch (the first batch initialises every entry so).
Encoding is deterministic: each step takes its nearest entry (argmin of the squared
Euclidean distance), so the same vector always gives the same bits.

Training (``STAGES``, in order, each starting from the previous checkpoint):

``reconstruct``
    the plain hierarchical autoencoder: every level's continuous latent decoded, mean
    squared error against the input, averaged over the levels.
``quantise``
    the same with every latent quantised (straight-through gradients), plus the
    commitment loss ``COMMITMENT * |z - sg(e)|^2``; the codebooks follow by EMA.
``generative``
    the paper's third stage: adds ``KL_WEIGHT * KL(qbar || uniform)``, where qbar is the
    batch mean of each step's soft assignment ``softmax(-d / tau)`` over a codebook: the
    codes are pushed to be used evenly, so each index carries close to log2 K bits. (The
    reference's per-vector KL of the sampled Gumbel posterior is not used: its decoder
    draws codes at random, which a codec cannot do.)
``task``
    stage 3 plus a task loss: ``task_weight * KL(p(x) || p(x_hat))`` of the class
    probabilities a shipped classifier (frozen) gives the input and each level's
    reconstruction, averaged over the classifiers ``task_classifiers`` names (the shipped
    TS-DDAE by default). A codec judged by what a classifier still sees in its output spends
    its bits on the features that tell the classes apart rather than on the noise, which the
    mean squared error alone weighs as much as the signal; judged by several classifiers, it
    keeps what they all use rather than one network's quirks.

Inputs of the codec protocol are on the unit-mean-square scale (``signal.normalize_power``);
the runner carries each vector's scale. The training losses normalise raw batches the same
way.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..contract import DEFAULT_VECTOR_LENGTH
from ..recipes import CODEC_DATA, DATA_SETS, Recipe, Step, Test
from ..signal import normalize_power
from . import Stage, from_preset

KIND = "hqarf"
ROLE = "codec"

LEVELS = 5

# Loss weights (the reference uses commitment 0.005 on summed distances and KL 0.1; these
# are on per-element means).
COMMITMENT = 0.25
KL_WEIGHT = 0.05
# Temperature of the soft assignment in the KL term, relative to the mean distance.
KL_TEMPERATURE = 0.5
# Rows of the distance matrix the KL term is estimated on (the batch mean needs no more).
KL_ROWS = 4096
# Rows per block of the nearest-entry search when encoding.
CODE_ROWS = 256

# fmt: off
PRESETS = {
    # widths: channels of encoder stage k (the decoder stage k mirrors it); code_dim: the
    # channels quantised per time step; codebook_size: K entries of every level's codebook
    # (or a list, one K per level); blocks: residual blocks per stage; kernel: their
    # convolution length; decay and dead_fraction: the codebooks' moving average and
    # revival threshold; task_weight and task_classifiers: the task stage's KL weight and
    # the shipped classifiers it averages over, comma separated (training settings, no
    # weights depend on them).
    "tiny": dict(widths=(8, 8, 16, 16, 16), code_dim=8, codebook_size=32, blocks=0, kernel=3,
                 decay=0.9, dead_fraction=0.03, task_weight=1.0, task_classifiers="tsddae"),
    "small": dict(widths=(16, 32, 48, 64, 64), code_dim=32, codebook_size=256, blocks=1,
                  kernel=3, decay=0.99, dead_fraction=0.03, task_weight=1.0,
                  task_classifiers="tsddae"),
    "paper": dict(widths=(16, 16, 32, 64, 128), code_dim=256, codebook_size=64, blocks=2,
                  kernel=3, decay=0.99, dead_fraction=0.03, task_weight=1.0,
                  task_classifiers="tsddae"),
}
# fmt: on
# Checkpoints made before the task stage have no task settings (models.ADDED_SETTINGS).
ADDED_SETTINGS = dict(task_weight=1.0, task_classifiers="tsddae")


class Codebook(nn.Module):
    """A vector-quantisation codebook updated by moving averages, with dead-code revival.

    Args:
        size (int): K, number of entries.
        dim (int): D, channels per entry.
        decay (float): moving-average decay of the usage counts and sums.
        dead_fraction (float): an entry used less than this share of the mean usage is
            revived from the current batch.
        eps (float): Laplace smoothing of the counts.
    """

    def __init__(self, size, dim, decay=0.99, dead_fraction=0.03, eps=1e-5):
        super().__init__()
        self.size, self.dim = int(size), int(dim)
        self.decay, self.dead_fraction, self.eps = float(decay), float(dead_fraction), eps
        self.register_buffer("embed", torch.randn(self.size, self.dim))
        self.register_buffer("usage", torch.zeros(self.size))  # moving count per entry
        self.register_buffer("embed_sum", torch.zeros(self.size, self.dim))

    def distances(self, z):
        """Squared Euclidean distances: z (N, D) -> (N, K)."""
        e2 = self.embed.pow(2).sum(1)[None, :]
        return torch.addmm(e2, z, self.embed.t(), alpha=-2).add_(z.pow(2).sum(1, keepdim=True))

    def codes(self, z):
        """Nearest entries: z (N, D) -> (N,) int64 (in blocks of CODE_ROWS rows, whose
        distances stay in the cache: at L0 the search is most of the encoder's time)."""
        if torch.compiler.is_exporting() or len(z) <= CODE_ROWS:  # exporting: no size test
            return self.distances(z).argmin(dim=1)
        return torch.cat([self.distances(rows).argmin(dim=1) for rows in z.split(CODE_ROWS)])

    def lookup(self, codes):
        """Entries of codes (...) int64 -> (..., D)."""
        return F.embedding(codes, self.embed)

    @torch.no_grad()
    def seed(self, z):
        """Set every entry to a random row of z (N, D) (the first training batch)."""
        pick = torch.randint(0, len(z), (self.size,), device=z.device)
        self.embed.copy_(z[pick])
        self.embed_sum.copy_(z[pick])
        self.usage.fill_(1.0)

    @torch.no_grad()
    def update(self, z, codes):
        """One moving-average step on the batch z (N, D) with its codes (N,), then revive
        dead entries with random rows of z."""
        count = torch.bincount(codes, minlength=self.size).to(z.dtype)
        total = torch.zeros_like(self.embed_sum).index_add_(0, codes, z)
        self.usage.mul_(self.decay).add_(count, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(total, alpha=1 - self.decay)
        n = self.usage.sum()
        smoothed = (self.usage + self.eps) / (n + self.size * self.eps) * n
        self.embed.copy_(self.embed_sum / smoothed[:, None])
        dead = self.usage < self.dead_fraction * n / self.size
        if bool(dead.any()):
            k = int(dead.sum())
            pick = torch.randint(0, len(z), (k,), device=z.device)
            self.embed[dead] = z[pick].float()
            self.embed_sum[dead] = z[pick].float() * self.usage.mean().clamp(min=1.0)
            self.usage[dead] = self.usage.mean().clamp(min=1.0)

    def forward(self, z):
        """Quantise z (B, D, T): (quantised (B, D, T) with straight-through gradients,
        codes (B, T), commitment loss, distances (B*T, K)). Updates the codebook in
        training mode."""
        b, d, t = z.shape
        flat = z.permute(0, 2, 1).reshape(-1, d)
        if self.training and not bool(self.usage.any()):
            self.seed(flat.detach().float())
        dist = self.distances(flat.detach().float())
        codes = dist.argmin(dim=1)
        if self.training:
            self.update(flat.detach().float(), codes)
        q = self.lookup(codes).to(z.dtype)
        commit = F.mse_loss(flat, q.detach())
        q = flat + (q - flat).detach()
        return q.reshape(b, t, d).permute(0, 2, 1), codes.reshape(b, t), commit, dist


class ResBlock(nn.Module):
    """x + conv(k) -> GELU -> conv(1) of GELU(x), channels kept: (B, C, T) -> (B, C, T)."""

    def __init__(self, channels, kernel):
        super().__init__()
        self.net = nn.Sequential(
            nn.GELU(),
            nn.Conv1d(channels, channels, kernel, padding=kernel // 2),
            nn.GELU(),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x):
        return x + self.net(x)


def down_stage(c_in, c_out, blocks, kernel):
    """(B, c_in, T) -> (B, c_out, T / 2): a strided convolution, then residual blocks."""
    layers = [nn.Conv1d(c_in, c_out, 4, stride=2, padding=1)]
    layers += [ResBlock(c_out, kernel) for _ in range(blocks)]
    return nn.Sequential(*layers)


def up_stage(c_in, c_out, blocks, kernel):
    """(B, c_in, T) -> (B, c_out, 2 T): residual blocks, then a transposed convolution."""
    layers = [ResBlock(c_in, kernel) for _ in range(blocks)]
    layers += [nn.GELU(), nn.ConvTranspose1d(c_in, c_out, 4, stride=2, padding=1)]
    return nn.Sequential(*layers)


class Hqarf(nn.Module):
    """Hierarchical VQ-VAE codec with levels L0..L4 (see the module docstring).

    Args:
        vector_length (int): L, samples per vector (a multiple of 2**5).
        widths (tuple[int]): channels of encoder/decoder stage k, k = 0..4.
        code_dim (int): D, channels per quantised time step.
        codebook_size (int | list[int]): K, entries of each level's codebook (one number
            for every level, or one per level).
        blocks (int): residual blocks per stage.
        kernel (int): convolution length in the residual blocks (odd).
        decay (float): codebook moving-average decay.
        dead_fraction (float): usage share under which a codebook entry is revived.
        task_weight (float): weight of the ``task`` stage's classifier KL (a training
            setting; the network does not depend on it).
        task_classifiers (str): the shipped classifiers (kinds, comma separated) whose KL
            the ``task`` stage averages (a training setting, like ``task_weight``).
        preset (str): the preset these sizes came from (recorded in ``config``).
        n_classes (int | None): accepted for the common builder signature; unused.
    """

    def __init__(self, vector_length, widths, code_dim, codebook_size, blocks, kernel,
                 decay=0.99, dead_fraction=0.03, task_weight=1.0, task_classifiers="tsddae",
                 preset="custom", n_classes=None):  # fmt: skip
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != LEVELS:
            raise ValueError(f"widths needs {LEVELS} entries (one per level), got {widths}")
        if vector_length % 2**LEVELS:
            raise ValueError(
                f"vector_length {vector_length} is not a multiple of {2**LEVELS}: the five "
                "levels halve it five times; use e.g. 1024"
            )
        self.config = dict(preset=preset, vector_length=int(vector_length), widths=list(widths),
                           code_dim=int(code_dim), codebook_size=checked_sizes(codebook_size),
                           blocks=int(blocks), kernel=int(kernel), decay=float(decay),
                           dead_fraction=float(dead_fraction),
                           task_weight=float(task_weight),
                           task_classifiers=",".join(task_kinds(task_classifiers)))  # fmt: skip
        ins = (2, *widths[:-1])
        outs = (widths[0], *widths[:-1])  # decoder stage k ends with the width of stage k-1
        # Stage 0 runs at the full sample rate: no residual blocks there (as the reference).
        n_blocks = [0] + [blocks] * (LEVELS - 1)
        self.down = nn.ModuleList(
            down_stage(i, o, n, kernel) for i, o, n in zip(ins, widths, n_blocks, strict=True)
        )
        self.to_code = nn.ModuleList(nn.Conv1d(w, code_dim, 1) for w in widths)
        self.codebooks = nn.ModuleList(
            Codebook(k, code_dim, decay, dead_fraction) for k in self.level_sizes()
        )
        self.from_code = nn.ModuleList(nn.Conv1d(code_dim, w, 3, padding=1) for w in widths)
        self.up = nn.ModuleList(
            up_stage(w, o, n, kernel) for w, o, n in zip(widths, outs, n_blocks, strict=True)
        )
        self.to_iq = nn.Conv1d(widths[0], 2, 3, padding=1)

    # ------------------------------------------------------------------ the stages

    def forward_encoder(self, x, top=LEVELS - 1):
        """Normalised IQ (B, 2, L) -> continuous latents [z_0 .. z_top], z_k (B, D, L/2^(k+1))."""
        latents, h = [], x
        for k in range(top + 1):
            h = self.down[k](h)
            latents.append(self.to_code[k](h))
        return latents

    def forward_decoder(self, z, level):
        """Latent of ``level`` (B, D, L/2^(level+1)) -> IQ (B, 2, L)."""
        h = self.from_code[level](z)
        for k in range(level, -1, -1):
            h = self.up[k](h)
        return self.to_iq(h)

    def forward_loss(self, x, quantise, kl_weight=0.0, task=None):
        """The training loss on normalised IQ x (B, 2, L), over every level: the mean of the
        levels' reconstruction MSE (+ commitment and KL when quantising, + ``task(x_hat)``,
        a scalar loss of each level's reconstruction, when given)."""
        total = 0.0
        for level, z in enumerate(self.forward_encoder(x)):
            if quantise:
                q, _, commit, dist = self.codebooks[level](z)
                total = total + COMMITMENT * commit
                if kl_weight:
                    total = total + kl_weight * usage_kl(dist)
            else:
                q = z
            y = self.forward_decoder(q, level)
            total = total + F.mse_loss(y, x)
            if task is not None:
                total = total + task(y)
        return total / LEVELS

    @torch.no_grad()
    def seed_codebooks(self, x):
        """Set every level's codebook to random latents of normalised IQ x (B, 2, L), as the
        first quantised training step does; returns the model in eval mode."""
        self.train()
        for level, z in enumerate(self.forward_encoder(x)):
            flat = z.permute(0, 2, 1).reshape(-1, z.shape[1])
            self.codebooks[level].seed(flat.float())
        return self.eval()

    # ------------------------------------------------------------------ codec protocol

    def _level(self, level):
        if not (isinstance(level, int) or hasattr(level, "__index__")) or not (
            0 <= int(level) < LEVELS
        ):
            raise ValueError(f"level {level!r} is not a level of this codec: choose 0..4")
        return int(level)

    def levels(self):
        """The level numbers of this codec: 0..4."""
        return tuple(range(LEVELS))

    def level_sizes(self):
        """K of every level, L0..L4."""
        k = self.config["codebook_size"]
        return [k] * LEVELS if isinstance(k, int) else list(k)

    def codebook_size(self, level):
        """K, the entries of ``level``'s codebook."""
        return self.codebooks[self._level(level)].size

    def code_length(self, level):
        """T, the code indices per vector at ``level``: L / 2**(level + 1)."""
        return self.config["vector_length"] >> (self._level(level) + 1)

    def encode(self, x, level):
        """Unit-mean-square IQ (B, 2, L) -> codes (B, T) int64 (nearest entries)."""
        level = self._level(level)
        z = self.forward_encoder(x, top=level)[level]
        b, d, t = z.shape
        return self.codebooks[level].codes(z.permute(0, 2, 1).reshape(-1, d).float()).reshape(b, t)

    def decode(self, codes, level):
        """Codes (B, T) int64 -> IQ (B, 2, L) on the unit-mean-square scale."""
        level = self._level(level)
        if codes.dim() != 2 or codes.shape[1] != self.code_length(level):
            raise ValueError(
                f"codes of shape {tuple(codes.shape)} do not fit level {level}: expected "
                f"(B, {self.code_length(level)})"
            )
        k = self.codebook_size(level)
        exporting = torch.compiler.is_exporting()  # a traced graph has no data to check
        if not exporting and codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= k):
            raise ValueError(f"code indices must lie in 0..{k - 1} at level {level}")
        q = self.codebooks[level].lookup(codes).permute(0, 2, 1)
        return self.forward_decoder(q, level)

    def reconstruct(self, x, level):
        """Encode and decode: unit-mean-square IQ (B, 2, L) -> (B, 2, L)."""
        return self.decode(self.encode(x, level), level)


def checked_sizes(codebook_size):
    """A ``codebook_size`` setting checked: one K for every level (int) or a list of five."""
    sizes = [codebook_size] if isinstance(codebook_size, int) else list(codebook_size)
    if len(sizes) not in (1, LEVELS) or not all(int(k) == k and k >= 2 for k in sizes):
        raise ValueError(
            f"codebook_size {codebook_size!r}: give one K >= 2 for every level or a list of "
            f"{LEVELS}, e.g. [256, 256, 256, 1024, 1024]"
        )
    return int(sizes[0]) if len(sizes) == 1 else [int(k) for k in sizes]


def grow_weights(model, state):
    """Carry a checkpoint's weights ``state`` over to ``model`` with larger codebooks
    (``rfml train hqarf ... --init M --set codebook_size=[K0,...,K4]``): each codebook keeps
    its entries and usage, and the added entries start as copies of them with no usage. Codes
    break ties towards the lower index, so the grown model encodes as before until training
    revives the added entries (as dead ones) from the data."""
    state = dict(state)
    for level, book in enumerate(model.codebooks):
        key = f"codebooks.{level}."
        old = state.get(key + "embed")
        if old is None or old.shape[0] == book.size or old.shape[1:] != book.embed.shape[1:]:
            continue
        if old.shape[0] > book.size:
            from ..checkpoint import CheckpointError

            raise CheckpointError(
                f"codebook_size {book.size} is smaller than the checkpoint's {old.shape[0]}: "
                "a codebook can only grow"
            )
        n_added = book.size - old.shape[0]
        state[key + "embed"] = old[torch.arange(book.size) % old.shape[0]]
        state[key + "embed_sum"] = torch.cat(
            [state[key + "embed_sum"], old.new_zeros(n_added, old.shape[1])]
        )
        state[key + "usage"] = torch.cat([state[key + "usage"], old.new_zeros(n_added)])
    return state


def usage_kl(dist):
    """KL(qbar || uniform) of the batch-mean soft assignment: dist (N, K) squared distances
    -> scalar >= 0 (0 when every entry is equally used). Estimated on at most KL_ROWS
    evenly spaced rows."""
    dist = dist[:: max(1, len(dist) // KL_ROWS)]
    tau = KL_TEMPERATURE * dist.mean().detach().clamp(min=1e-6)
    qbar = torch.softmax(-dist / tau, dim=1).mean(0)
    return (qbar * (qbar.clamp(min=1e-12).log() + math.log(dist.shape[1]))).sum()


def build(preset="small", n_classes=None, vector_length=DEFAULT_VECTOR_LENGTH, **overrides):
    """An Hqarf codec from a preset name, with any size overridden by keyword."""
    return from_preset(Hqarf, PRESETS, KIND, preset, n_classes, vector_length, overrides)


def reconstruct_loss(model, batch, generator=None):
    """Stage 1: plain hierarchical autoencoder (no quantisation)."""
    return model.forward_loss(normalize_power(batch["iq"]), quantise=False)


def quantise_loss(model, batch, generator=None):
    """Stage 2: quantised latents, commitment, EMA codebooks."""
    return model.forward_loss(normalize_power(batch["iq"]), quantise=True)


def generative_loss(model, batch, generator=None):
    """Stage 3: stage 2 plus the KL of the code usage to the uniform prior."""
    return model.forward_loss(normalize_power(batch["iq"]), quantise=True, kl_weight=KL_WEIGHT)


def task_kinds(names):
    """The classifier kinds of a ``task_classifiers`` setting ("tsddae,cam" or a list),
    each a registered classifier kind."""
    from . import kinds as registered

    kinds = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    if not kinds or not all(kinds):
        raise ValueError(f"task_classifiers {names!r}: name shipped classifiers, e.g. tsddae,cam")
    unknown = [k for k in kinds if k not in registered("classifier")]
    if unknown:
        raise ValueError(
            f"task_classifiers names {', '.join(unknown)}, which is not a classifier: choose "
            f"among {', '.join(registered('classifier'))}"
        )
    return kinds


_task_classifier = {}


def task_classifier(kind, device):
    """The shipped classifier of ``kind``, frozen, in eval mode on ``device`` (loaded once)."""
    from .. import checkpoint

    key = (kind, str(device))
    if key not in _task_classifier:
        model, _ = checkpoint.load(checkpoint.shipped(kind), kind=kind, device=device)
        _task_classifier[key] = model.requires_grad_(False).eval()
    return _task_classifier[key]


def task_depends(config):
    """The classifiers the task stage tunes through ({kind: file name and SHA-256}, for the
    card): a codec tuned through some classifiers keeps less of another's accuracy."""
    import hashlib

    from .. import checkpoint

    out = {}
    for kind in task_kinds(config["task_classifiers"]):
        path = checkpoint.shipped(kind)
        out[kind] = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {"classifiers": out}


def task_loss(model, batch, generator=None):
    """Stage 4: stage 3 plus ``task_weight`` (a model setting) times the KL divergence
    between the class probabilities a shipped classifier gives the input and each level's
    reconstruction, averaged over the ``task_classifiers`` (a model setting)."""
    x = normalize_power(batch["iq"])
    classifiers = [
        task_classifier(k, x.device) for k in task_kinds(model.config["task_classifiers"])
    ]
    with torch.no_grad():
        targets = [F.log_softmax(c(x), dim=-1) for c in classifiers]

    def kl(y):
        total = 0.0
        for classifier, target in zip(classifiers, targets, strict=True):
            out = F.log_softmax(classifier(y), dim=-1)
            total = total + F.kl_div(out, target, log_target=True, reduction="batchmean")
        return model.config["task_weight"] * total / len(classifiers)

    return model.forward_loss(x, quantise=True, kl_weight=KL_WEIGHT, task=kl)


STAGES = {
    "reconstruct": Stage(
        reconstruct_loss,
        epochs=4,
        lr=2e-3,
        help="hierarchical autoencoder: reconstruction loss of every level, no quantisation",
    ),
    "quantise": Stage(
        quantise_loss,
        init="optional",
        epochs=10,
        lr=1e-3,
        help="vector-quantised: reconstruction + commitment, EMA codebooks with dead-code reset",
    ),
    "generative": Stage(
        generative_loss,
        init="required",
        epochs=4,
        lr=5e-4,
        help="adds the KL of each codebook's usage to a uniform prior (even use of the bits)",
    ),
    "task": Stage(
        task_loss,
        init="required",
        epochs=4,
        lr=3e-4,
        help="adds the KL between shipped classifiers' outputs on input and reconstruction",
        vector_length=DEFAULT_VECTOR_LENGTH,  # the shipped classifier's
        depends=task_depends,
    ),
}

ARCHITECTURE = (
    "Hierarchical VQ-VAE: five strided-convolution encoder stages (each halving the time "
    "length, residual blocks after each), a 1x1 projection and an EMA codebook with "
    "dead-code revival per level; one shared chain of transposed-convolution decoder stages "
    "that level k enters at stage k; deterministic nearest-entry codes."
)

# The recipe's steps: name, stage, the step it starts from, budget (min), epochs, lr, settings
# (`rfml train --set`), data (empty: the recipe's training sets).
CODEC_SETS4 = ("codec_rand", "codec_nom", "codec_rand2", "codec_rand3")
CODEC_SETS5 = CODEC_SETS4 + ("codec_rand4",)
THROUGH_BOTH = ("task_weight=10", "task_classifiers=tsddae,cam")  # TS-DDAE and CAM, weight 10
# fmt: off
STEPS = (
    ("reconstruct", "reconstruct", None, 12.0, 2, 2e-3, (), ()),
    ("quantise", "quantise", "reconstruct", 48.0, 2, 1e-3, (), ()),
    ("generative", "generative", "quantise", 14.0, 1, 5e-4, (), ()),
    ("task", "task", "generative", 45.0, 4, 3e-4, (), ()),
    ("task2", "task", "task", 40.0, 6, 3e-4, ("task_weight=4",),
     ("codec_rand", "codec_nom", "codec_rand2")),
    ("task3", "task", "task2", 40.0, 6, 3e-4, ("task_weight=10",), CODEC_SETS4),
    # 1024 entries in L3's and L4's codebooks (grown from task3's 256; L0..L2 keep 256,
    # whose search sets the encoder's speed), tuned through two classifiers
    ("k1024", "task", "task3", 55.0, 6, 3e-4,
     ("codebook_size=[256,256,256,1024,1024]",) + THROUGH_BOTH, CODEC_SETS4),
    ("k1024b", "task", "k1024", 40.0, 4, 3e-4, THROUGH_BOTH, CODEC_SETS4),
    ("k1024c", "task", "k1024b", 75.0, 5, 3e-4, THROUGH_BOTH, CODEC_SETS5),
    # again through the classifiers that replaced those it was tuned through (each time)
    ("k1024d", "task", "k1024c", 30.0, 2, 3e-4, THROUGH_BOTH, CODEC_SETS5),
    ("k1024e", "task", "k1024d", 25.0, 2, 3e-4, THROUGH_BOTH, CODEC_SETS5),
    ("k1024f", "task", "k1024e", 25.0, 2, 3e-4, THROUGH_BOTH, CODEC_SETS5),
    ("k1024g", "task", "k1024f", 25.0, 2, 3e-4, THROUGH_BOTH, CODEC_SETS5),
    ("k1024h", "task", "k1024g", 25.0, 2, 3e-4, THROUGH_BOTH, CODEC_SETS5),
)
# fmt: on

RECIPES = {
    "hqarf_small": Recipe(
        train=("codec_rand", "codec_nom"),
        steps=tuple(
            Step(
                f"hqarf_{name}",
                KIND,
                stage,
                budget_min=budget,
                epochs=epochs,
                lr=lr,
                init=f"hqarf_{after}" if after else None,
                batch_size=64,
                config=config,
                data=data,
            )
            for name, stage, after, budget, epochs, lr, config, data in STEPS
        ),
        tests=(Test("nominal", "codec_test_nom"), Test("randomized", "codec_test_rand")),
        val_fraction=0.02,
        data_sets={**DATA_SETS, **CODEC_DATA},
    )
}
