# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml train`: train any registered model, stage by stage, through the one training loop.

    rfml train KIND STAGE --data F.h5 [F2.h5 ...] --out M.safetensors
        [--preset tiny|small|paper] [--init M0.safetensors] [--device auto|cpu|cuda]
        [--budget-min N] [--epochs N] [--test T.h5]
    rfml train KIND few-labels --data POOL.h5 --init PRE.safetensors --test T.h5 [--labels 25,100]
    rfml train list                      # kinds, their stages and the shipped recipes
    rfml train reproduce [NAME ...]      # remake shipped checkpoints (apps/reproduce.py)

Examples::

    rfml train tsddae pretrain --data train.h5 --out out/tsddae_pre.safetensors
    rfml train tsddae finetune --data train.h5 --init out/tsddae_pre.safetensors \\
        --out out/tsddae.safetensors --test test.h5
    rfml train cam fit --data train.h5 --out out/cam.safetensors
    torchrun --nproc_per_node=2 -m gnuradio.rfml.apps train tsddae pretrain --data train.h5 ...

``--data`` is any file ``read_dataset`` reads (gr-rfml HDF5, RadioML 2016.10A / 2018.01A).
A part of it (``--val-fraction``) is held out to pick the best epoch; ``--test`` is only
scored after training, never used to choose. An interrupted run resumes from the file
``<out>.resume.safetensors`` when rerun with the same options (``--fresh`` starts over).
A checkpoint is a ``.safetensors`` file and the ``.json`` card beside it.
"""

import argparse
import json
import shlex
from pathlib import Path

ACTIONS = ("list", "reproduce", "shipped")
PREPROCESSING = (
    "raw float32 IQ (B, 2, L) in; the model scales each vector so that I and Q have unit "
    "mean square; training augmentation: a random carrier phase rotation per vector"
)
SYMMETRIES = (
    ", its complex conjugate and its time reverse, each with probability 1/2 (--symmetries)"
)


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("kind", help="model kind (see `rfml train list`), or list / reproduce")
    p.add_argument("stage", nargs="*", help="the stage to train, few-labels, or recipe names")
    p.add_argument("--data", nargs="+", help="training data set file(s), concatenated")
    p.add_argument("--out", help="checkpoint to write (.safetensors; the .json card beside it)")
    p.add_argument("--init", help="checkpoint of the same kind to start from")
    p.add_argument("--test", help="test data set: scored after training, recorded in the card")
    p.add_argument("--preset", default="small", help="model size: tiny, small or paper")
    p.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                   help="change one setting of the preset, VALUE as JSON (e.g. --set depth=4); "
                        "repeatable")  # fmt: skip
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (%(default)s)")
    p.add_argument("--epochs", type=int, default=None, help="passes over the data")
    p.add_argument("--batch-size", type=int, default=None, help="vectors per step")
    p.add_argument("--lr", type=float, default=None, help="peak AdamW learning rate")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW (%(default)s)")
    p.add_argument("--budget-min", type=float, default=None, help="stop after N minutes")
    p.add_argument("--val-fraction", type=float, default=0.05,
                   help="share held out to pick the best epoch (%(default)s)")  # fmt: skip
    p.add_argument("--max-vectors", type=int, default=None, help="first N vectors of each file")
    p.add_argument("--labels", default="25,100", help="few-labels: per class and SNR")
    p.add_argument("--record-into", help="few-labels: checkpoint whose card gets the results")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, order and noise")
    p.add_argument("--symmetries", action="store_true",
                   help="also train on the complex conjugates and time reverses of vectors "
                        "(each with probability 1/2; each class is closed under both)")  # fmt: skip
    p.add_argument("--threads", type=int, default=2, help="CPU threads (%(default)s)")
    p.add_argument("--no-amp", action="store_true", help="no mixed precision on a GPU")
    p.add_argument("--fresh", action="store_true", help="ignore saved progress, start over")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--markdown", action="store_true", help="list: the table of docs/models.md")
    from . import reproduce

    reproduce.add_arguments(p)
    return p


def command_line(args, words):
    """The rfml command equivalent to ``args`` (every option spelled out), for the card."""
    from .reproduce import OPTIONS

    skip = {"kind", "stage", "quiet", "fresh", *OPTIONS}
    if "few-labels" not in words:
        skip |= {"labels", "record_into"}
    words = list(words)
    for key, value in vars(args).items():
        if key in skip or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            words.append(flag)
        elif key == "set":  # repeated: --set A=1 --set B=2
            words += [w for v in value for w in (flag, str(v))]
        elif isinstance(value, list):
            words += [flag, *map(str, value)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def check_args(args):
    """One clear error for options that cannot work."""
    for name in ("epochs", "batch_size", "max_vectors", "threads"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.budget_min is not None and not args.budget_min > 0:
        raise ValueError(
            f"--budget-min must be a positive number of minutes, got {args.budget_min}"
        )
    if not 0 <= args.val_fraction < 1:
        raise ValueError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")


def overrides(args):
    """{key: value} of the ``--set KEY=VALUE`` options (VALUE parsed as JSON, else text)."""
    out = {}
    for item in getattr(args, "set", None) or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set needs KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            out[key.strip()] = text
    return out


def train_stage(args, kind, stage_name, *, signature_extra=None):
    """Train ``kind``'s stage as ``args`` say; returns (model, card) (rank 0 writes)."""
    import torch

    from ..ml import checkpoint, loading, models
    from ..ml.train import distributed, train

    module = models.get(kind)
    if stage_name not in module.STAGES:
        raise ValueError(
            f"{kind} has no stage {stage_name!r}: choose one of {', '.join(module.STAGES)}"
            " (or few-labels)"
        )
    stage = module.STAGES[stage_name]
    if args.init and stage.init == "none":
        raise ValueError(f"{kind} {stage_name} starts from fresh weights: drop --init")
    if not args.init and stage.init == "required":
        raise ValueError(f"{kind} {stage_name} needs --init (a checkpoint of an earlier stage)")
    dist, _ = distributed(args.device)
    train_data, val, info = loading.load_split(
        args.data, needs=stage.needs, val_fraction=args.val_fraction, seed=args.seed,
        dist=dist, max_vectors=args.max_vectors,
    )  # fmt: skip
    classes = info["classes"]
    if stage.vector_length and info["vector_length"] != stage.vector_length:
        raise ValueError(f"{kind} {stage_name} trains on vectors of {stage.vector_length} "
                         f"samples, the data have {info['vector_length']}: generate them "
                         f"with --length {stage.vector_length}")  # fmt: skip
    torch.manual_seed(args.seed)
    init_card = None
    if args.init:
        model, init_card = checkpoint.load(args.init, kind=kind, grow=overrides(args))
        if init_card.get("new_weights"):
            print(f"{args.init}: --set adds {len(init_card['new_weights'])} weights, "
                  "trained from fresh values")  # fmt: skip
        if init_card["classes"] != classes or init_card["vector_length"] != info["vector_length"]:
            raise ValueError(
                f"{args.init} was made for classes {init_card['classes']} and L = "
                f"{init_card['vector_length']}, the data have {classes} and L = "
                f"{info['vector_length']}: start from a checkpoint of the same classes and length"
            )
    else:
        model = module.build(args.preset, n_classes=len(classes),
                             vector_length=info["vector_length"], **overrides(args))  # fmt: skip
    settings = {
        "epochs": args.epochs or stage.epochs,
        "batch_size": args.batch_size or stage.batch_size,
        "lr": args.lr or stage.lr,
        "weight_decay": args.weight_decay,
        "budget_s": args.budget_min * 60 if args.budget_min else None,
        "seed": args.seed,
    }
    if args.symmetries:
        settings["symmetries"] = True
    depends = stage.depends(model.config) if stage.depends else None
    signature = {"kind": kind, "stage": stage_name, "config": model.config, "init": args.init,
                 "data": [str(d) for d in args.data], "settings": settings,
                 "val_fraction": args.val_fraction, "max_vectors": args.max_vectors,
                 "processes": dist.world, **({"depends": depends} if depends else {}),
                 **(signature_extra or {})}  # fmt: skip
    resume = None
    if args.out:
        from ..ml.train import clear_resume, resume_path

        if args.fresh and dist.main:
            clear_resume(args.out)
        resume = resume_path(args.out)
    result = train(model, stage, train_data, val=val, device=args.device, amp=not args.no_amp,
                   progress=not args.quiet, desc=f"{kind} {stage_name}", resume=resume,
                   signature=signature, **settings)  # fmt: skip
    training = {
        "stage": stage_name if stage.init != "optional" or args.init else "from-scratch",
        "data": info["description"],
        "train_vectors": info["train_vectors"],
        "val_vectors": info["val_vectors"],
        "settings": settings,
        "result": result,
        "seconds": result["seconds"],
        "threads": args.threads,
        "parameters": int(checkpoint.count_parameters(model)),
    }
    if depends:
        training["depends_on"] = depends
    if init_card is not None:
        training["pretraining"] = init_card.get("training")
        training["pretraining_command"] = init_card.get("command")
    card = {
        "classes": classes,
        "architecture": module.ARCHITECTURE,
        "preprocessing": PREPROCESSING + (SYMMETRIES if settings.get("symmetries") else ""),
        "command": command_line(args, ["rfml", "train", kind, stage_name]),
        "metrics": {},
        "training": training,
        "seed": args.seed,
    }
    return model.cpu(), card


def few_labels(args, kind):
    """`rfml train KIND few-labels`: the few-label comparison, printed and (optionally)
    recorded in a card."""
    from ..ml import checkpoint, evaluation, loading, models

    missing = [f"--{k}" for k in ("data", "init", "test") if not getattr(args, k)]
    if missing:
        raise ValueError(f"few-labels needs {' and '.join(missing)}: --data a labelled pool, "
                         "--init a pre-trained checkpoint, --test a test set")  # fmt: skip
    module = models.get(kind)
    stage = next((s for s in module.STAGES.values()
                  if s.init == "optional" and s.select == "accuracy"), None)  # fmt: skip
    if stage is None:
        raise ValueError(f"{kind} has no fine-tuning stage: few-labels needs one")
    pool = loading.load_data(args.data, args.max_vectors)
    test = loading.load_data(args.test)
    _, card = checkpoint.load(args.init, kind=kind)
    counts = [int(v) for v in str(args.labels).split(",")]
    results = evaluation.few_labels(
        lambda: checkpoint.load(args.init, kind=kind)[0].train(),
        lambda: checkpoint.build_model(kind, card["config"]),
        stage, pool, test, card["classes"], counts=counts, epochs=args.epochs or 30,
        lr=args.lr or 1e-3, budget_s=args.budget_min * 60 if args.budget_min else None,
        seed=args.seed, progress=not args.quiet, device=args.device,
    )  # fmt: skip
    summary = {
        "init": Path(args.init).name,
        "test": loading.data_description(args.test, test),
        "epochs": args.epochs or 30,
        "lr": args.lr or 1e-3,
        "seed": args.seed,
        "command": command_line(args, ["rfml", "train", kind, "few-labels"]),
        "results": results,
    }
    if args.record_into:
        target = checkpoint.read_card(args.record_into)
        target.setdefault("metrics", {})["few_labels"] = summary
        checkpoint.write_card(args.record_into, target)
    return summary


def models_table():
    """Markdown table of every registered kind: role, presets, stages (docs/models.md)."""
    from ..ml import models

    rows = ["| kind | role | presets | stages |", "|---|---|---|---|"]
    for kind in models.kinds():
        module = models.get(kind)
        stages = "; ".join(f"`{name}`: {stage.help}" for name, stage in module.STAGES.items())
        rows.append(f"| `{kind}` | {module.ROLE} | {', '.join(module.PRESETS)} | {stages} |")
    return "\n".join(rows) + "\n"


def list_models(markdown=False):
    """`rfml train list`: every kind with its role, presets and stages, and the recipes
    (``--markdown``: the table of docs/models.md)."""
    from ..ml import models

    if markdown:
        print(models_table(), end="")
        return
    for kind in models.kinds():
        module = models.get(kind)
        print(f"{kind} ({module.ROLE}; presets {', '.join(module.PRESETS)})")
        for name, stage in module.STAGES.items():
            print(f"    {name:10s} {stage.help}")
    print("recipes (rfml train reproduce NAME): " + ", ".join(sorted(models.recipes())))


def main(args):
    from ..ml import checkpoint, evaluation, loading, models
    from ..ml.train import clear_resume, distributed, set_threads

    set_threads(args.threads)
    if args.kind == "list":
        list_models(args.markdown)
        return 0
    if args.kind in ("reproduce", "shipped"):
        from . import reproduce

        return reproduce.run(args)
    try:
        kind = models.resolve(args.kind)
    except KeyError:
        raise ValueError(f"unknown model kind {args.kind!r}: choose one of "
                         f"{', '.join(models.kinds() + list(ACTIONS))}") from None  # fmt: skip
    if len(args.stage) != 1:
        stages = ", ".join(list(models.get(kind).STAGES) + ["few-labels"])
        raise ValueError(f"give one stage after {kind}: {stages}")
    check_args(args)
    stage = args.stage[0]
    if stage == "few-labels":
        few_labels(args, kind)
        return 0
    if not args.data:
        raise ValueError(f"`rfml train {kind} {stage}` needs --data FILE.h5 [FILE.h5 ...]")
    if not args.out:
        raise ValueError(f"`rfml train {kind} {stage}` needs --out FILE.safetensors")
    model, card = train_stage(args, kind, stage)
    dist, _ = distributed(args.device)
    if dist.world > 1:
        import torch

        torch.distributed.destroy_process_group()
    if not dist.main:
        return 0
    if args.test and models.get(kind).STAGES[stage].select == "accuracy":
        test = loading.load_data(args.test)
        report = evaluation.evaluate(evaluation.runner(model, card["classes"],
                                                       test.vector_length), test)  # fmt: skip
        card["metrics"]["test"] = {**evaluation.summary(report),
                                   "data": loading.data_description(args.test, test)}  # fmt: skip
        print(f"test accuracy {100 * report['accuracy']:.2f}% on {args.test}")
    checkpoint.save(model, card, args.out)
    clear_resume(args.out)
    print(f"wrote {args.out} and {checkpoint.card_path(args.out)} "
          f"({card['training']['seconds']:.0f} s of training)")  # fmt: skip
    return 0
