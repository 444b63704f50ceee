# SPDX-License-Identifier: GPL-3.0-or-later
"""Training loops: TS-DDAE pre-training, supervised fine-tuning, linear probes, prediction.

Data are numpy arrays held in memory: ``iq (N, 2, L) float32`` and ``label (N,) int64``.
Every loop takes a seed and a time budget (seconds; the loop stops cleanly when it runs
out) and shows a tqdm progress bar. Augmentation (the same for every model): each vector is
rotated by a random carrier phase, which every receiver sees anyway.
"""

import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from .tsddae import pretrain_loss

DEFAULT_THREADS = 2


def set_threads(n=DEFAULT_THREADS):
    """Limit torch to ``n`` CPU threads (the machine is shared)."""
    torch.set_num_threads(int(n))


def rotate_phase(x, generator):
    """Multiply each vector of x (B, 2, L) by exp(j phi), phi ~ U[0, 2 pi)."""
    phi = torch.rand(x.shape[0], 1, generator=generator) * (2 * math.pi)
    c, s = torch.cos(phi), torch.sin(phi)
    i, q = x[:, 0], x[:, 1]
    return torch.stack((c * i - s * q, s * i + c * q), dim=1)


def _batches(n, batch_size, rng):
    order = rng.permutation(n)
    for start in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
        yield order[start : start + batch_size]


def _schedule(optimizer, total_steps, budget_s=None, warmup=0.05):
    """Linear warm-up then cosine decay to 2% of the peak learning rate. With a time budget,
    progress is the larger of the step and the time fractions, so the decay completes when
    the budget ends the run early."""
    warm = max(1, int(warmup * total_steps))
    t0 = time.perf_counter()

    def factor(step):
        if step < warm:
            return (step + 1) / warm
        p = (step - warm) / max(1, total_steps - warm)
        if budget_s:
            p = max(p, (time.perf_counter() - t0) / budget_s)
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _progress(total, desc, progress):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit="batch", disable=not progress, leave=False, mininterval=2.0
    )


def pretrain(
    model,
    iq,
    *,
    epochs=4,
    batch_size=128,
    lr=1e-3,
    weight_decay=0.01,
    budget_s=None,
    seed=0,
    progress=True,
):
    """TS-DDAE pre-training of a TSNet on unlabelled vectors.

    Args:
        model (TSNet): trained in place.
        iq (numpy.ndarray): (N, 2, L) float32 raw IQ.
        epochs (int): passes over the data.
        batch_size (int): vectors per step.
        lr (float): peak AdamW learning rate (linear warm-up, cosine decay).
        weight_decay (float): AdamW weight decay.
        budget_s (float | None): stop after this many seconds.
        seed (int): fixes the order, the diffusion steps and the noise.
        progress (bool): show a progress bar.

    Returns:
        dict: {"steps", "seconds", "loss_first", "loss_last"} (mean loss of the first and
        last 5% of steps).
    """
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = max(1, len(iq) // batch_size)
    total = epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = _schedule(opt, total, budget_s)
    model.train()
    losses, step, t0 = [], 0, time.perf_counter()
    bar = _progress(total, "pre-train", progress)
    for _ in range(epochs):
        for idx in _batches(len(iq), batch_size, rng):
            x = rotate_phase(torch.from_numpy(iq[np.sort(idx)]), gen)
            loss = pretrain_loss(model, x, generator=gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", refresh=False)
            if budget_s is not None and time.perf_counter() - t0 > budget_s:
                break
        else:
            continue
        break
    bar.close()
    model.eval()
    k = max(1, len(losses) // 20)
    return {
        "steps": step,
        "seconds": round(time.perf_counter() - t0, 1),
        "loss_first": float(np.mean(losses[:k])),
        "loss_last": float(np.mean(losses[-k:])),
    }


@torch.inference_mode()
def predict_logits(model, iq, batch_size=512):
    """Logits of a classifier on (N, 2, L) float32 numpy IQ -> (N, C) float32 numpy."""
    model.eval()
    out = [
        model(torch.from_numpy(np.ascontiguousarray(iq[i : i + batch_size]))).float()
        for i in range(0, len(iq), batch_size)
    ]
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def fit(
    model,
    iq,
    label,
    *,
    val=None,
    epochs=10,
    batch_size=128,
    lr=1e-3,
    weight_decay=0.01,
    budget_s=None,
    seed=0,
    progress=True,
    desc="train",
):
    """Supervised training of a classifier (cross-entropy), keeping the weights of the epoch
    with the lowest validation loss (when ``val`` is given).

    Args:
        model (torch.nn.Module): raw IQ (B, 2, L) -> logits; trained in place.
        iq (numpy.ndarray): (N, 2, L) float32.
        label (numpy.ndarray): (N,) int64.
        val (tuple | None): (iq, label) held out from training, for model selection.
        epochs, batch_size, lr, weight_decay, budget_s, seed, progress: as in :func:`pretrain`.
        desc (str): progress bar label.

    Returns:
        dict: {"steps", "epochs", "seconds", "best_epoch", "val_loss", "val_accuracy"}.
    """
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    batch_size = min(batch_size, len(iq))
    steps_per_epoch = max(1, len(iq) // batch_size)
    total = epochs * steps_per_epoch
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    sched = _schedule(opt, total, budget_s)
    label_t = torch.from_numpy(np.asarray(label, dtype=np.int64))
    best = {"val_loss": float("inf"), "best_epoch": 0, "val_accuracy": float("nan")}
    best_state = None
    step, epoch, t0 = 0, 0, time.perf_counter()
    bar = _progress(total, desc, progress)
    out_of_time = False
    while epoch < epochs and not out_of_time:
        model.train()
        for idx in _batches(len(iq), batch_size, rng):
            idx = np.sort(idx)
            x = rotate_phase(torch.from_numpy(iq[idx]), gen)
            loss = F.cross_entropy(model(x), label_t[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            if budget_s is not None and time.perf_counter() - t0 > budget_s:
                out_of_time = True
                break
        epoch += 1
        if val is not None:
            logits = torch.from_numpy(predict_logits(model, val[0]))
            vlabel = torch.from_numpy(np.asarray(val[1], dtype=np.int64))
            vloss = F.cross_entropy(logits, vlabel).item()
            if vloss < best["val_loss"]:
                best = {
                    "val_loss": vloss,
                    "best_epoch": epoch,
                    "val_accuracy": float((logits.argmax(1) == vlabel).float().mean()),
                }
                best_state = copy.deepcopy(model.state_dict())
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return {"steps": step, "epochs": epoch, "seconds": round(time.perf_counter() - t0, 1), **best}


def few_label_indices(label, snr_db, per_class_snr, seed=0):
    """Indices of ``per_class_snr`` vectors for every (class, integer-dB SNR) pair (fewer
    where a pair has fewer), drawn at random with ``seed``."""
    rng = np.random.default_rng(seed)
    bins = np.round(np.asarray(snr_db)).astype(np.int64)
    label = np.asarray(label)
    chosen = []
    for c in np.unique(label):
        for s in np.unique(bins):
            idx = np.flatnonzero((label == c) & (bins == s))
            if len(idx):
                chosen.append(rng.choice(idx, size=min(per_class_snr, len(idx)), replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


@torch.inference_mode()
def features(model, iq, batch_size=512):
    """Pooled representations of a model with ``features(x)`` -> (N, D) float32 numpy."""
    model.eval()
    out = [
        model.features(torch.from_numpy(np.ascontiguousarray(iq[i : i + batch_size])))
        for i in range(0, len(iq), batch_size)
    ]
    return torch.cat(out).numpy()


def linear_probe(model, iq, label, *, epochs=100, lr=1e-2, weight_decay=1e-4, seed=0):
    """Fit a linear classifier on the frozen pooled features of ``model``.

    Returns a module raw IQ (B, 2, L) -> logits: the frozen model's features, then the
    fitted linear layer (full-batch AdamW on standardised features)."""
    torch.manual_seed(seed)
    f = torch.from_numpy(features(model, iq))
    mean, std = f.mean(0), f.std(0) + 1e-6
    y = torch.from_numpy(np.asarray(label, dtype=np.int64))
    n_classes = int(model.config["n_classes"])
    linear = torch.nn.Linear(f.shape[1], n_classes)
    opt = torch.optim.AdamW(linear.parameters(), lr=lr, weight_decay=weight_decay)
    z = (f - mean) / std
    for _ in range(epochs):
        loss = F.cross_entropy(linear(z), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return LinearProbe(model, linear, mean, std).eval()


class LinearProbe(torch.nn.Module):
    """A frozen feature extractor and a linear layer on its standardised features.

    Args:
        encoder (torch.nn.Module): has ``features(x) -> (B, D)``.
        linear (torch.nn.Linear): D -> classes.
        mean (torch.Tensor): (D,) feature mean.
        std (torch.Tensor): (D,) feature standard deviation.
    """

    def __init__(self, encoder, linear, mean, std):
        super().__init__()
        self.encoder = encoder
        self.linear = linear
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        return self.linear((self.encoder.features(x) - self.mean) / self.std)


def shift_frequency(iq, cycles_per_sample):
    """Shift vectors in frequency: (N, 2, L) float32 IQ times exp(j 2 pi f n), per vector
    from its first sample (an off-nominal carrier offset for evaluation)."""
    n = np.arange(iq.shape[-1])
    rot = np.exp(2j * np.pi * cycles_per_sample * n)
    z = (iq[:, 0] + 1j * iq[:, 1]) * rot
    return np.stack([z.real, z.imag], axis=1).astype(np.float32)
