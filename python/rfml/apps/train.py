# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml train STAGE`: train the classifiers on a data set file and write a checkpoint.

Stages::

    rfml train pretrain --data train.h5 --out out/tsddae_pre.safetensors
    rfml train finetune --data train.h5 --init out/tsddae_pre.safetensors \\
        --out out/tsddae_small.safetensors --test test.h5
    rfml train cam      --data train.h5 --out out/cam_small.safetensors
    rfml train baseline --data train.h5 --out out/baseline_small.safetensors
    rfml train few-labels --data train.h5 --init out/tsddae_pre.safetensors --test test.h5 \\
        --labels 25,100 --record-into out/tsddae_small.safetensors
    rfml train shipped    # every shipped file, from data generation to plots (apps/shipped.py)

``--data`` is any file ``read_dataset`` reads (gr-rfml HDF5, RadioML 2016.10A / 2018.01A).
``finetune`` without ``--init`` trains the same network from scratch. ``few-labels`` runs
the paper's comparison with N labelled vectors per class and SNR: pre-trained and
fine-tuned, from scratch, and a linear probe on the frozen pre-trained encoder.
A checkpoint is a ``.safetensors`` file and the ``.json`` card beside it.
"""

import argparse
import json
import shlex
import time
from pathlib import Path

from . import shipped

STAGES = ("pretrain", "finetune", "cam", "baseline", "few-labels", "shipped")
KIND_OF_STAGE = {"pretrain": "tsddae", "finetune": "tsddae", "cam": "cam", "baseline": "baseline"}

ARCHITECTURE = {
    "tsddae": (
        "TS-Net: a token stands for `patch` consecutive samples or spectral bins. Time "
        "tokens: two convolution layers over the I/Q samples (kernel 7 stride 2, kernel 5, "
        "batch norm, ReLU, max-pool 2 each), then a strided convolution over each patch; "
        "they feed a temporal self-attention encoder. Spectral tokens: a strided convolution "
        "over each `patch` bins of the centred unitary spectrum (Re, Im, log power) and the "
        "log power spectrum of x^2; they feed a spectral encoder (depthwise convolution, "
        "squeeze-excitation channel attention). The branches alternate and exchange gated "
        "pooled context every layer; the classifier sees the diffusion step t = 4 and the "
        "mean-pooled tokens of both branches (2C -> head_hidden -> PReLU -> classes)."
    ),
    "cam": (
        "GAP CNN: convolution / batch norm / ReLU layers (max-pool 2 after the first "
        "`pools`), global average pooling, one linear layer; cam(x) = sum_k w_ck f_k(x) "
        "linearly upsampled to the input length."
    ),
    "baseline": (
        "plain 1-D CNN: five convolution / batch norm / ReLU / max-pool 2 layers, "
        "flatten, one dense layer."
    ),
}

PREPROCESSING = (
    "raw float32 IQ (B, 2, L) in; the model scales each vector so that I and Q have unit "
    "mean square; training augmentation: a random carrier phase rotation per vector"
)


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("stage", choices=STAGES, help="what to train")
    p.add_argument(
        "--data",
        nargs="+",
        help="training data set file(s); several are concatenated (not for shipped)",
    )
    p.add_argument("--out", help="checkpoint to write (.safetensors; the .json card beside it)")
    p.add_argument("--init", help="pre-trained TS-DDAE checkpoint (finetune, few-labels)")
    p.add_argument("--test", help="test data set: evaluated after training, recorded in the card")
    p.add_argument("--preset", default="small", help="model size: tiny, small or paper")
    p.add_argument("--epochs", type=int, default=None, help="passes over the data")
    p.add_argument("--batch-size", type=int, default=128, help="vectors per step (%(default)s)")
    p.add_argument("--lr", type=float, default=None, help="peak AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW (%(default)s)")
    p.add_argument(
        "--budget-min", type=float, default=None, help="stop training after this many minutes"
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        help="share of --data held out to pick the best epoch (%(default)s)",
    )
    p.add_argument(
        "--max-vectors", type=int, default=None, help="use only the first N vectors of --data"
    )
    p.add_argument(
        "--labels",
        default="25,100",
        help="few-labels: labelled vectors per class and SNR (%(default)s)",
    )
    p.add_argument("--record-into", help="few-labels: checkpoint whose card gets the results")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, order and noise")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (%(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    shipped.add_arguments(p)
    return p


DEFAULT_EPOCHS = {"pretrain": 3, "finetune": 6, "cam": 6, "baseline": 6, "few-labels": 30}
DEFAULT_LR = {"pretrain": 1e-3, "finetune": 1e-3, "cam": 2e-3, "baseline": 2e-3,
              "few-labels": 1e-3}  # fmt: skip


def jsonable(value):
    """numpy scalars/arrays and tuples -> plain JSON types (recursively)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def data_description(paths, ds):
    """What a card says about a data set: file name(s), size, SNR range, attributes."""
    import numpy as np

    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    return {
        "file": ", ".join(Path(p).name for p in paths),
        "format": ds.format,
        "vectors": int(len(ds)),
        "vector_length": int(ds.vector_length),
        "snr_db": [float(np.min(ds.snr_db)), float(np.max(ds.snr_db))] if len(ds) else None,
        "attrs": jsonable(ds.attrs),
    }


def command_line(args, subcommand="train", positional=("stage",)):
    """The rfml command equivalent to ``args`` (every option spelled out), for the card."""
    words = ["rfml", subcommand] + [str(getattr(args, k)) for k in positional]
    for key, value in vars(args).items():
        if key in positional or value is None or value is False or key == "quiet":
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            words += [flag, *map(str, value)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def load_data(paths, max_vectors=None):
    """Read one data set file, or several (concatenated; they must name the same classes)."""
    from ..ml.datasets import read_dataset

    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    sel = slice(0, max_vectors) if max_vectors else None
    parts = [read_dataset(p, select=sel, clean=False) for p in paths]
    for p, ds in zip(paths, parts, strict=True):
        if len(ds) == 0:
            raise ValueError(f"{p} holds no vectors: generate a data set with `rfml generate`")
        if tuple(ds.classes) != tuple(parts[0].classes):
            raise ValueError(
                f"{p} names classes {list(ds.classes)} but {paths[0]} names "
                f"{list(parts[0].classes)}: combine files of the same classes"
            )
        if ds.vector_length != parts[0].vector_length:
            raise ValueError(
                f"{p} has vectors of {ds.vector_length} samples, {paths[0]} of "
                f"{parts[0].vector_length}: combine files of one vector length"
            )
    if len(parts) == 1:
        return parts[0]
    import numpy as np

    first = parts[0]
    first.iq = np.concatenate([d.iq for d in parts])
    first.label = np.concatenate([d.label for d in parts])
    first.snr_db = np.concatenate([d.snr_db for d in parts])
    first.params = {}
    first.attrs = {
        "files": [
            {"file": Path(p).name, "vectors": len(d), "attrs": d.attrs}
            for p, d in zip(paths, parts, strict=True)
        ]
    }
    return first


def split(ds, fraction, seed):
    """(train, val) index arrays, the validation share drawn at random."""
    import numpy as np

    rng = np.random.default_rng(seed + 7919)
    order = rng.permutation(len(ds))
    n_val = int(round(fraction * len(ds))) if fraction > 0 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def evaluate(model, ds, classes):
    """Evaluation report of ``model`` (classes in logit order) on data set ``ds``."""
    import numpy as np

    from ..ml import metrics
    from ..ml.train import predict_logits

    label = map_labels(ds, classes)
    pred = predict_logits(model, ds.iq).argmax(1)
    return metrics.report(pred, label, ds.snr_db, classes), np.asarray(pred)


def map_labels(ds, classes):
    """Labels of ``ds`` as indices into the model's ``classes`` (matched by name)."""
    import numpy as np

    names = [str(c) for c in ds.classes]
    lower = [str(c).lower() for c in classes]
    unknown = [c for c in names if c.lower() not in lower]
    if unknown:
        raise ValueError(
            f"the data set has classes the model does not know: {', '.join(unknown)} "
            f"(model classes: {', '.join(classes)}); evaluate with a model trained on them"
        )
    lut = np.array([lower.index(c.lower()) for c in names], dtype=np.int64)
    return lut[np.asarray(ds.label)]


def _summary(report):
    return {k: report[k] for k in ("accuracy", "per_snr", "n")}


def _train_one(args, ds, stage):
    """Train one model for ``stage``; returns (model, card)."""
    import importlib

    import torch

    from ..ml import checkpoint, train

    classes = [str(c) for c in ds.classes]
    kind = KIND_OF_STAGE[stage]
    epochs = args.epochs or DEFAULT_EPOCHS[stage]
    lr = args.lr or DEFAULT_LR[stage]
    budget = args.budget_min * 60 if args.budget_min else None
    tr, va = split(ds, args.val_fraction, args.seed)
    card = {
        "classes": classes,
        "architecture": ARCHITECTURE[kind],
        "preprocessing": PREPROCESSING,
        "command": command_line(args),
        "metrics": {},
    }
    torch.manual_seed(args.seed)
    init_card = None
    if args.init:
        model, init_card = checkpoint.load(args.init, kind="tsddae")
        if init_card["classes"] != classes or init_card["vector_length"] != ds.vector_length:
            raise ValueError(
                f"{args.init} was made for classes {init_card['classes']} and L = "
                f"{init_card['vector_length']}, the data have {classes} and L = "
                f"{ds.vector_length}: pre-train on data of the same classes and length"
            )
        model.train()
    else:
        module = importlib.import_module(f"..ml.{checkpoint.KINDS[kind]}", __package__)
        model = module.build(args.preset, n_classes=len(classes), vector_length=ds.vector_length)
    settings = {
        "epochs": epochs,
        "batch_size": args.batch_size,
        "lr": lr,
        "weight_decay": args.weight_decay,
        "budget_s": budget,
        "seed": args.seed,
        "progress": not args.quiet,
    }
    t0 = time.perf_counter()
    if stage == "pretrain":
        out = train.pretrain(model, ds.iq[tr], **settings)
    else:
        val = (ds.iq[va], map_labels(ds.subset(va), classes)) if len(va) else None
        out = train.fit(
            model, ds.iq[tr], map_labels(ds.subset(tr), classes), val=val, desc=stage, **settings
        )
    training = {
        "stage": stage if stage != "finetune" or args.init else "from-scratch",
        "data": data_description(args.data, ds),
        "train_vectors": int(len(tr)),
        "val_vectors": int(len(va)),
        "settings": {k: v for k, v in settings.items() if k != "progress"},
        "result": out,
        "seconds": round(time.perf_counter() - t0, 1),
        "threads": args.threads,
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }
    if init_card is not None:
        training["pretraining"] = init_card.get("training")
        training["pretraining_command"] = init_card.get("command")
    card["training"] = training
    card["seed"] = args.seed
    return model, card


def _few_labels(args, ds):
    """Pre-trained + fine-tuned vs from scratch vs linear probe with few labels."""
    import torch

    from ..ml import checkpoint, train

    if not args.init or not args.test:
        raise ValueError("few-labels needs --init (a pre-trained checkpoint) and --test")
    test = load_data(args.test)
    classes = [str(c) for c in ds.classes]
    label = map_labels(ds, classes)
    epochs = args.epochs or DEFAULT_EPOCHS["few-labels"]
    lr = args.lr or DEFAULT_LR["few-labels"]
    results = {}
    for n in (int(v) for v in args.labels.split(",")):
        idx = train.few_label_indices(label, ds.snr_db, n, seed=args.seed)
        iq, lab = ds.iq[idx], label[idx]
        row = {"labelled_vectors": int(len(idx))}
        arms = ("pretrained", "scratch", "linear_probe")
        for arm in arms:
            pre, pre_card = checkpoint.load(args.init, kind="tsddae")
            if arm == "scratch":
                pre = checkpoint.build_model("tsddae", pre_card["config"])
            torch.manual_seed(args.seed)
            t0 = time.perf_counter()
            if arm == "linear_probe":
                model = train.linear_probe(pre, iq, lab, seed=args.seed)
            else:
                model = pre.train()
                train.fit(
                    model,
                    iq,
                    lab,
                    epochs=epochs,
                    batch_size=min(64, len(idx)),
                    lr=lr,
                    weight_decay=args.weight_decay,
                    budget_s=args.budget_min * 60 if args.budget_min else None,
                    seed=args.seed,
                    progress=not args.quiet,
                    desc=f"{arm} n={n}",
                )
            report, _ = evaluate(model, test, classes)
            row[arm] = {**_summary(report), "seconds": round(time.perf_counter() - t0, 1)}
            print(f"{n:4d} labels/class/SNR  {arm:13s} accuracy {100 * report['accuracy']:.2f}%")
        results[str(n)] = row
    summary = {
        "init": Path(args.init).name,
        "test": data_description(args.test, test),
        "epochs": epochs,
        "lr": lr,
        "seed": args.seed,
        "command": command_line(args),
        "results": results,
    }
    if args.record_into:
        card = checkpoint.read_card(args.record_into)
        card.setdefault("metrics", {})["few_labels"] = summary
        with open(checkpoint.card_path(args.record_into), "w") as f:
            json.dump(card, f, indent=2)
            f.write("\n")
    return summary


def main(args):
    from ..ml import checkpoint, train

    train.set_threads(args.threads)
    if args.stage == "shipped":
        return shipped.run(args)
    if not args.data:
        raise ValueError(f"`rfml train {args.stage}` needs --data FILE.h5 [FILE.h5 ...]")
    ds = load_data(args.data, args.max_vectors)
    if args.stage == "few-labels":
        _few_labels(args, ds)
        return 0
    if not args.out:
        raise ValueError(f"`rfml train {args.stage}` needs --out FILE.safetensors")
    if args.stage == "pretrain" and args.init:
        raise ValueError("pretrain starts from fresh weights: drop --init")
    if args.stage in ("cam", "baseline") and args.init:
        raise ValueError(f"{args.stage} trains from scratch: drop --init")
    model, card = _train_one(args, ds, args.stage)
    if args.test and args.stage != "pretrain":
        test = load_data(args.test)
        report, _ = evaluate(model, test, card["classes"])
        card["metrics"]["test"] = {**_summary(report), "data": data_description(args.test, test)}
        print(f"test accuracy {100 * report['accuracy']:.2f}% on {args.test}")
    checkpoint.save(model, card, args.out)
    print(
        f"wrote {args.out} and {checkpoint.card_path(args.out)} "
        f"({card['training']['seconds']:.0f} s of training)"
    )
    return 0
