# SPDX-License-Identifier: GPL-3.0-or-later
"""The one training loop: every model kind, every stage (``loss = stage.loss(model, batch)``).

The loop owns what no model should: the device (``auto``/``cpu``/``cuda``, mixed precision on
a GPU), DistributedDataParallel under ``torchrun`` (gloo on CPU, nccl on GPU; each process
trains on its own shard, rank 0 validates and writes), the time budget, the learning-rate
schedule, the validation split that picks the best epoch, the progress bar, and resuming
after an interruption. The model module owns its losses (:class:`ml.models.Stage`).

Data are numpy arrays held in memory, keyed by batch field: ``iq``/``clean`` ``(N, 2, L)``
float32, ``label`` ``(N,)`` int64, ``snr_db`` ``(N,)`` float32. Augmentation (the same for
every model): each vector, and its clean twin, is rotated by one random carrier phase, which
every receiver sees anyway; with ``symmetries`` the pair is also complex-conjugated and
reversed in time, each with probability 1/2 (a transmitter's mirror image in frequency and
time is a transmitter of the same class).
"""

import copy
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .signal import mirror, random_phase, rotate

DEFAULT_THREADS = 2


def set_threads(n=DEFAULT_THREADS):
    """Limit torch to ``n`` CPU threads (the machine is shared)."""
    if int(n) < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    torch.set_num_threads(int(n))


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


# ----------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class Dist:
    """Where this process stands in a ``torchrun`` job (rank 0 of 1 when run alone)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self):
        return self.rank == 0


def distributed(device="auto"):
    """Join the ``torchrun`` process group when WORLD_SIZE > 1 (once); returns
    ``(Dist, torch.device)``: nccl and this process's GPU when CUDA is used, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), resolve_device(device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if not torch.distributed.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend)
    return Dist(rank, world, local), dev


def shard(n, dist, seed=0):
    """The indices of ``n`` vectors this process trains on: a seeded permutation dealt out
    round-robin, sorted (every process gets n // world of them)."""
    order = np.random.default_rng([seed, 104729]).permutation(n)
    per = n // dist.world
    return np.sort(order[dist.rank :: dist.world][:per])


def _all_max(flag, dist, device):
    if dist.world == 1:
        return bool(flag)
    t = torch.tensor([float(flag)], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


# ----------------------------------------------------------------------------- the loop


class StageLoss(torch.nn.Module):
    """``loss = StageLoss(model, stage)(batch, generator)``: the module DDP wraps, so that
    every stage's loss, whatever methods of the model it calls, runs inside ``forward``."""

    def __init__(self, model, stage):
        super().__init__()
        self.model = model
        self.stage = stage

    def forward(self, batch, generator=None):
        return self.stage.loss(self.model, batch, generator)


def lr_factor(step, total, elapsed, budget_s=None, warmup=0.05):
    """Linear warm-up then cosine decay to 2% of the peak. With a time budget, progress is
    the larger of the step and the time fractions, so the decay completes when the budget
    ends the run early."""
    warm = max(1, int(warmup * total))
    if step < warm:
        return (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    if budget_s:
        p = max(p, elapsed / budget_s)
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def _batch(data, idx, needs, device):
    return {k: torch.from_numpy(np.ascontiguousarray(data[k][idx])).to(device) for k in needs}


def _augment(batch, generator, symmetries=False):
    """Rotate iq and clean of each vector by one random phase (in place); with
    ``symmetries`` also conjugate and time-reverse the pair, each with probability 1/2."""
    first = batch.get("iq", batch.get("clean"))
    n, dev = first.shape[0], first.device
    phi = random_phase(n, generator, dev)
    if symmetries:
        conjugate, reverse = torch.rand(2, n, generator=generator, device=dev) < 0.5
    for key in ("iq", "clean"):
        if key in batch:
            batch[key] = rotate(batch[key], phi)
            if symmetries:
                batch[key] = mirror(batch[key], conjugate, reverse)


def _epoch_seed(seed, rank, epoch):
    return int(np.random.default_rng([seed, rank, epoch]).integers(2**62))


@torch.inference_mode()
def validate(model, stage, val, device, batch_size=256, seed=0):
    """Validation figures of ``model`` on ``val`` (arrays by field).

    ``stage.select == "accuracy"``: cross-entropy and accuracy of ``model(iq)`` in eval mode.
    Otherwise the stage's own loss with a fixed seed (the same noise and masks every epoch).
    Returns ``{"val_loss": float, "val_accuracy": float (accuracy stages)}``.
    """
    model.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    n = len(val["iq"] if "iq" in val else next(iter(val.values())))
    total, correct = 0.0, 0
    for start in range(0, n, batch_size):
        idx = np.arange(start, min(n, start + batch_size))
        if stage.select == "accuracy":
            b = _batch(val, idx, ("iq", "label"), device)
            logits = model(b["iq"]).float()
            total += F.cross_entropy(logits, b["label"], reduction="sum").item()
            correct += int((logits.argmax(1) == b["label"]).sum())
        else:
            b = _batch(val, idx, stage.needs, device)
            total += stage.loss(model, b, gen).item() * len(idx)
    out = {"val_loss": total / max(1, n)}
    if stage.select == "accuracy":
        out["val_accuracy"] = correct / max(1, n)
    return out


def _has_unused_parameters(wrapped, data, stage, device):
    """Whether the stage's loss leaves some trainable parameter without a gradient (one
    probe backward on two vectors; DDP must then look for them every step)."""
    batch = _batch(data, np.arange(min(2, len(data[stage.needs[0]]))), stage.needs, device)
    wrapped.train()
    wrapped(batch, torch.Generator(device=device).manual_seed(0)).backward()
    params = [p for p in wrapped.parameters() if p.requires_grad]
    unused = any(p.grad is None for p in params)
    for p in params:
        p.grad = None
    return unused


def _autocast(device, amp):
    """bf16 autocast on a GPU that has it (fp16 with a grad scaler otherwise); none on CPU."""
    if not amp or device.type != "cuda":
        return None, None
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, None
    return torch.float16, torch.amp.GradScaler("cuda")


def train(
    model,
    stage,
    data,
    *,
    val=None,
    epochs=None,
    batch_size=None,
    lr=None,
    weight_decay=0.01,
    budget_s=None,
    seed=0,
    device="auto",
    amp=True,
    progress=True,
    desc="train",
    resume=None,
    signature=None,
    symmetries=False,
):
    """Train ``model`` in place for one stage and return a summary.

    Args:
        model (torch.nn.Module): a registered model (``ml.models``).
        stage (ml.models.Stage): what to train: its loss, the fields it needs, defaults.
        data (dict[str, numpy.ndarray]): this process's training vectors by field.
        val (dict[str, numpy.ndarray] | None): the validation split (rank 0), for model
            selection: the weights of the best epoch are kept.
        epochs, batch_size, lr (int, int, float | None): None takes the stage's default.
        weight_decay (float): AdamW weight decay.
        budget_s (float | None): stop cleanly after this many seconds of training.
        seed (int): fixes the order, the noise and the masks (per epoch, so a resumed run
            continues exactly).
        device (str): ``auto``, ``cpu`` or ``cuda``.
        amp (bool): mixed precision on a GPU.
        progress (bool): show a progress bar (rank 0).
        desc (str): progress bar label.
        resume (str | Path | None): a resume file (``.resume.safetensors``): loaded when it
            exists, written after every epoch.
        signature (dict | None): what the run is (kind, stage, config, data...); a resume
            file of another run is refused.
        symmetries (bool): augment with the complex conjugate and the time reverse too
            (when the stage augments).

    Returns:
        dict: steps, epochs, seconds, best_epoch, val_loss (and val_accuracy), loss_first,
        loss_last (mean of the first and last 5% of steps), history (per epoch), device,
        processes.
    """
    dist, dev = distributed(device)
    epochs = int(epochs or stage.epochs)
    batch_size = int(batch_size or stage.batch_size)
    lr = float(lr or stage.lr)
    n = len(data[stage.needs[0]])
    if n == 0:
        raise ValueError("no training vectors: give a data set with vectors in it")
    batch_size = min(batch_size, n)
    steps_per_epoch = max(1, n // batch_size)
    if dist.world > 1:  # every process must take the same number of steps
        t = torch.tensor([steps_per_epoch], device=dev)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MIN)
        steps_per_epoch = int(t.item())
    total = epochs * steps_per_epoch

    model.to(dev)
    wrapped = StageLoss(model, stage)
    if dist.world > 1:
        wrapped = torch.nn.parallel.DistributedDataParallel(
            wrapped,
            device_ids=[dev.index] if dev.type == "cuda" else None,
            find_unused_parameters=_has_unused_parameters(wrapped, data, stage, dev),
        )
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    dtype, scaler = _autocast(dev, amp)
    state = {"epoch": 0, "step": 0, "elapsed": 0.0, "history": [], "losses": [], "best": None}
    best_state = None
    resume = Path(resume) if resume else None
    run_id = json.dumps(signature or {}, sort_keys=True, default=str)
    if resume is not None and resume.is_file():
        state, best_state = load_resume(resume, model, opt, run_id)

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=state["step"], desc=desc, unit="batch", leave=False,
               disable=not (progress and dist.main), mininterval=2.0)  # fmt: skip
    t0 = time.perf_counter() - state["elapsed"]
    out_of_time = False
    while state["epoch"] < epochs and not out_of_time:
        epoch_seed = _epoch_seed(seed, dist.rank, state["epoch"])
        order = np.random.default_rng(epoch_seed).permutation(n)
        gen = torch.Generator(device=dev).manual_seed(epoch_seed)
        model.train()
        epoch_losses = []
        for i in range(steps_per_epoch):
            idx = np.sort(order[i * batch_size : (i + 1) * batch_size])
            batch = _batch(data, idx, stage.needs, dev)
            if stage.augment:
                _augment(batch, gen, symmetries)
            for group in opt.param_groups:
                elapsed = time.perf_counter() - t0
                group["lr"] = lr * lr_factor(state["step"], total, elapsed, budget_s)
            with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                loss = wrapped(batch, gen)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the {desc} loss became {value} at step {state['step']}: lower --lr "
                    "or check the data for NaN/Inf vectors"
                )
            epoch_losses.append(value)
            state["losses"].append(value)
            state["step"] += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(epoch_losses[-50:]):.4f}", refresh=False)
            over = budget_s is not None and time.perf_counter() - t0 > budget_s
            if budget_s is not None and _all_max(over, dist, dev):
                out_of_time = True
                break
        state["epoch"] += 1
        record = {"epoch": state["epoch"], "train_loss": float(np.mean(epoch_losses))}
        if val is not None and dist.main:
            record.update(validate(model, stage, val, dev, seed=seed))
            if state["best"] is None or record["val_loss"] < state["best"]["val_loss"]:
                state["best"] = {"best_epoch": state["epoch"], **record}
                best_state = copy.deepcopy(model.state_dict())
        state["history"].append(record)
        state["elapsed"] = time.perf_counter() - t0
        if resume is not None and dist.main:
            save_resume(resume, model, opt, best_state, state, run_id)
        if dist.world > 1:
            torch.distributed.barrier()
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    losses = state["losses"]
    k = max(1, len(losses) // 20)
    best = {k2: v for k2, v in (state["best"] or {}).items() if k2 not in ("epoch",)}
    return {
        "steps": state["step"],
        "epochs": state["epoch"],
        "seconds": round(time.perf_counter() - t0, 1),
        **best,
        "loss_first": float(np.mean(losses[:k])) if losses else None,
        "loss_last": float(np.mean(losses[-k:])) if losses else None,
        "history": state["history"],
        "device": dev.type,
        "processes": dist.world,
    }


# ----------------------------------------------------------------------------- resuming


def resume_path(out):
    """The resume file of checkpoint ``out``: ``<out stem>.resume.safetensors``."""
    out = Path(out)
    return out.with_name(out.stem + ".resume.safetensors")


def clear_resume(out):
    """Remove the resume files of checkpoint ``out`` (after it has been written)."""
    path = resume_path(out)
    path.unlink(missing_ok=True)
    path.with_suffix(".json").unlink(missing_ok=True)


def save_resume(path, model, opt, best_state, state, run_id):
    """Write the run's state after an epoch: weights, best weights, optimiser moments
    (safetensors) and counters, history and optimiser settings (JSON beside it)."""
    from safetensors.torch import save_file

    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    if best_state is not None:
        tensors.update({f"best/{k}": v for k, v in best_state.items()})
    opt_state = opt.state_dict()
    scalars = {}
    for idx, s in opt_state["state"].items():
        for name, value in s.items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"opt/{idx}/{name}"] = value
            else:
                scalars[f"{idx}/{name}"] = float(value)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = {"run": run_id, "state": state, "param_groups": opt_state["param_groups"],
            "scalars": scalars}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp))
    path.with_suffix(".json.tmp").write_text(json.dumps(meta))
    os.replace(tmp, path)
    os.replace(path.with_suffix(".json.tmp"), path.with_suffix(".json"))


def load_resume(path, model, opt, run_id):
    """Restore a run written by :func:`save_resume`; returns (state, best_state)."""
    from safetensors.torch import load_file

    meta_path = path.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text())
        tensors = load_file(str(path))
    except (OSError, ValueError) as e:
        raise ValueError(
            f"{path}: cannot resume from it ({e}); delete it (and {meta_path}) to start over"
        ) from None
    if meta.get("run") != run_id:
        raise ValueError(
            f"{path} was written by another run (other data, stage, model or settings): "
            "delete it to start over, or rerun with the same options to resume"
        )
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model/")})
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best/")} or None
    opt_state = {"state": {}, "param_groups": meta["param_groups"]}
    for key, value in tensors.items():
        if key.startswith("opt/"):
            _, idx, name = key.split("/", 2)
            opt_state["state"].setdefault(int(idx), {})[name] = value
    for key, value in meta["scalars"].items():
        idx, name = key.split("/", 1)
        opt_state["state"].setdefault(int(idx), {})[name] = torch.tensor(value)
    opt.load_state_dict(opt_state)
    return meta["state"], best


# ----------------------------------------------------------------------------- helpers


@torch.inference_mode()
def predict_logits(model, iq, batch_size=512):
    """Logits of a classifier on (N, 2, L) float32 numpy IQ -> (N, C) float32 numpy, on the
    device the model's weights are on."""
    model.eval()
    device = next(model.parameters()).device
    out = [
        model(torch.from_numpy(np.ascontiguousarray(iq[i : i + batch_size])).to(device)).float()
        for i in range(0, len(iq), batch_size)
    ]
    return torch.cat(out).cpu().numpy() if out else np.zeros((0, 0), np.float32)


@torch.inference_mode()
def features(model, iq, batch_size=512):
    """Pooled representations of a model with ``features(x)`` -> (N, D) float32 numpy."""
    model.eval()
    out = [
        model.features(torch.from_numpy(np.ascontiguousarray(iq[i : i + batch_size])))
        for i in range(0, len(iq), batch_size)
    ]
    return torch.cat(out).numpy()


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


def linear_probe(model, iq, label, n_classes, *, epochs=100, lr=1e-2, weight_decay=1e-4, seed=0):
    """Fit a linear classifier on the frozen pooled features of ``model``.

    Returns a module raw IQ (B, 2, L) -> logits: the frozen model's features, then the
    fitted linear layer (full-batch AdamW on standardised features)."""
    torch.manual_seed(seed)
    f = torch.from_numpy(features(model, iq))
    mean, std = f.mean(0), f.std(0) + 1e-6
    y = torch.from_numpy(np.asarray(label, dtype=np.int64))
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
