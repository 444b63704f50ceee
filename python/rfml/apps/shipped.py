# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml train shipped`: the one command that reproduces every shipped classifier file.

    rfml train shipped [--out-dir python/rfml/weights] [--work-dir out/shipped] [--docs-dir docs]

In order, each step skipped when its output is already in ``--work-dir`` (so an interrupted
run resumes; ``--fresh`` starts over):

1. generates the data sets of :data:`DATA` with their seeds (our generator, sim loopback);
2. pre-trains TS-DDAE, fine-tunes it, and trains the CNN baseline (the same data, the same
   total time budget as pre-training + fine-tuning) and the CAM model;
3. evaluates all three on the fresh nominal test set and TS-DDAE and the baseline on the
   off-nominal ones (4 and 16 samples per symbol, randomised transmitters, carrier offsets);
4. runs the few-labels comparison (pre-trained + fine-tuned, from scratch, linear probe);
5. writes ``tsddae_small`` and ``cam_small`` (.safetensors + .json card) to ``--out-dir`` and
   the plots to ``--docs-dir``.

``--size-scale`` and ``--budget-scale`` shrink the data and the time budgets (tests use
them with ``--preset tiny``); the shipped files come from the defaults.
"""

import argparse
import json
import shlex
import shutil
import time
from pathlib import Path

# name -> generation settings (GenerationConfig keyword arguments). Training data mix
# randomised transmitters (RANDOM_RANGES of gnuradio.rfml.generation) with nominal ones; the
# nominal half stops at 10 dB, where every model is right anyway, so that more of the
# training time goes to the noisy vectors.
DATA = {
    "train_rand": dict(per_class=4000, snr_db="-10:20", randomize=True, seed=101),
    "train_nom": dict(per_class=4000, snr_db="-10:10", seed=102),
    "few_pool": dict(per_class=100, snr_db="-10:20:5", randomize=True, seed=301),
    "test_nom": dict(per_class=100, snr_db="-10:20:1", seed=201),
    "test_sps4": dict(per_class=150, snr_db="-10,-5,0,5,10,20", samples_per_symbol=4, seed=202),
    "test_sps16": dict(per_class=150, snr_db="-10,-5,0,5,10,20", samples_per_symbol=16, seed=203),
    "test_rand": dict(per_class=150, snr_db="-10,-5,0,5,10,20", randomize=True, seed=204),
}
TRAIN_FILES = ("train_rand", "train_nom")
VECTOR_LENGTH = 1024

# Minutes of training (2 CPU threads). The baseline gets pre-training + fine-tuning.
BUDGET_MIN = {"pretrain": 7.0, "finetune": 20.0, "cam": 8.0}
EPOCHS = {"pretrain": 50, "finetune": 50, "cam": 50, "baseline": 50}
LR = {"pretrain": 1e-3, "finetune": 2e-3, "cam": 2e-3, "baseline": 2e-3}
FEW_LABELS = "25,100"
FEW_LABEL_MINUTES = 1.5  # per arm and label count
FREQ_OFFSETS = (0.01, 0.025)  # cycles/sample, applied to test_nom
SEED = 0


def add_arguments(p):
    """The options of `rfml train shipped` (added to `rfml train`'s parser)."""
    g = p.add_argument_group("shipped")
    g.add_argument("--out-dir", default="python/rfml/weights", help="shipped files (%(default)s)")
    g.add_argument("--work-dir", default="out/shipped", help="data and interim files (%(default)s)")
    g.add_argument("--docs-dir", default="docs", help="plots for the README (%(default)s)")
    g.add_argument("--size-scale", type=float, default=1.0, help="scale the data sets")
    g.add_argument("--budget-scale", type=float, default=1.0, help="scale the time budgets")
    g.add_argument("--fresh", action="store_true", help="redo every step")
    g.add_argument("--data-only", action="store_true", help="generate the data sets and stop")


def command(args):
    """The documented command line of this run."""
    words = ["rfml", "train", "shipped"]
    words += ["--out-dir", str(args.out_dir), "--work-dir", str(args.work_dir)]
    words += ["--docs-dir", str(args.docs_dir)]
    for key, default in (("preset", "small"), ("size_scale", 1.0), ("budget_scale", 1.0)):
        if getattr(args, key) != default:
            words += ["--" + key.replace("_", "-"), str(getattr(args, key))]
    return shlex.join(words)


def _say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def generate_data(args, work):
    """Generate the missing data files; returns {name: path}."""
    from tqdm.auto import tqdm

    from ..generation import GenerationConfig, generate

    paths = {}
    for name, spec in DATA.items():
        path = work / f"{name}.h5"
        paths[name] = path
        if path.is_file() and not args.fresh:
            continue
        spec = dict(spec)
        spec["per_class"] = max(1, round(spec["per_class"] * args.size_scale))
        cfg = GenerationConfig(length=VECTOR_LENGTH, workers=max(1, args.threads), **spec)
        _say(f"generating {path} ({cfg.n_vectors} vectors)")
        partial = path.with_suffix(".partial.h5")  # renamed when complete
        with tqdm(total=cfg.n_vectors, desc=name, unit="vec", disable=args.quiet) as bar:
            generate(cfg, partial, progress=lambda n, bar=bar: bar.update(n - bar.n))
        partial.replace(path)
    return paths


def _stage_args(args, stage, data, out, init=None, test=None):
    """The `rfml train STAGE` namespace of one step."""
    from .train import DEFAULT_LR

    budget = BUDGET_MIN["pretrain"] + BUDGET_MIN["finetune"] if stage == "baseline" else None
    budget = (budget or BUDGET_MIN.get(stage, 0)) * args.budget_scale
    return argparse.Namespace(
        stage=stage,
        data=[str(p) for p in data],
        out=str(out),
        init=str(init) if init else None,
        test=str(test) if test else None,
        preset=args.preset,
        epochs=EPOCHS.get(stage),
        batch_size=128,
        lr=LR.get(stage, DEFAULT_LR.get(stage)),
        weight_decay=0.01,
        budget_min=budget,
        val_fraction=0.04,
        max_vectors=None,
        labels=FEW_LABELS,
        record_into=None,
        seed=SEED,
        threads=args.threads,
        quiet=args.quiet,
    )


def train_models(args, work, paths, ds, stages):
    """Train the models of ``stages`` (each skipped when its file exists)."""
    from ..ml import checkpoint
    from .train import _train_one

    train_paths = [paths[n] for n in TRAIN_FILES]
    steps = {
        "pretrain": ("tsddae_pre", None),
        "finetune": ("tsddae_small", work / "tsddae_pre.safetensors"),
        "baseline": ("baseline_small", None),
        "cam": ("cam_small", None),
    }
    for stage in stages:
        name, init = steps[stage]
        out = work / f"{name}.safetensors"
        if out.is_file() and not args.fresh:
            _say(f"{out} exists: kept")
            continue
        sargs = _stage_args(args, stage, train_paths, out, init=init)
        _say(f"training {stage} ({sargs.budget_min:.1f} min budget)")
        model, card = _train_one(sargs, ds, stage)
        checkpoint.save(model, card, out)
        _say(f"{stage}: {card['training']['seconds']:.0f} s, wrote {out}")


def _report(model, ds, classes, freq_offset=0.0):
    from ..ml.train import shift_frequency
    from .train import evaluate

    if freq_offset:
        ds = _copy_shifted(ds, shift_frequency(ds.iq, freq_offset))
    report, _ = evaluate(model, ds, classes)
    return report


def _copy_shifted(ds, iq):
    import copy

    out = copy.copy(ds)
    out.iq = iq
    return out


def evaluate_models(args, work, paths, names):
    """Evaluation figures of the models ``names``: {name: {test name: report}}."""
    from ..ml import checkpoint
    from .train import data_description, load_data

    models = {name: checkpoint.load(work / f"{name}_small.safetensors") for name in names}
    tests = [("nominal", "test_nom", 0.0)]
    tests += [(f"sps{n}", f"test_sps{n}", 0.0) for n in (4, 16)]
    tests += [("randomized", "test_rand", 0.0)]
    tests += [(f"freq_offset_{f:g}", "test_nom", f) for f in FREQ_OFFSETS]
    out = {name: {} for name in models}
    loaded = {}
    for test, file, shift in tests:
        if file not in loaded:
            loaded[file] = load_data(paths[file])
        ds = loaded[file]
        for name, (model, card) in models.items():
            if name == "cam" and test != "nominal":
                continue
            r = _report(model, ds, card["classes"], shift)
            r["data"] = data_description(paths[file], ds)
            r["freq_offset"] = shift
            out[name][test] = r
            _say(f"{name:8s} {test:20s} accuracy {100 * r['accuracy']:.2f}%")
    return out


def few_labels(args, work, paths, ds):
    """The few-labels comparison (cached in the work dir as JSON)."""
    from .train import _few_labels

    cache = work / "few_labels.json"
    if cache.is_file() and not args.fresh:
        return json.loads(cache.read_text())
    sargs = _stage_args(args, "few-labels", [paths["few_pool"]], "", init=None)
    sargs.init = str(work / "tsddae_pre.safetensors")
    sargs.test = str(paths["test_nom"])
    sargs.epochs = 200
    sargs.lr = 1e-3
    sargs.budget_min = FEW_LABEL_MINUTES * args.budget_scale
    summary = _few_labels(sargs, ds)
    cache.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _summary(report):
    keep = ("accuracy", "per_snr", "n", "data", "freq_offset")
    return {k: report[k] for k in keep if k in report}


def write_outputs(args, work, reports, few, seconds):
    """Cards with every figure, the shipped files, and the plots."""
    from ..generation import RANDOM_RANGES
    from ..ml import checkpoint, plots

    out_dir, docs = Path(args.out_dir), Path(args.docs_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs.mkdir(parents=True, exist_ok=True)
    data = {
        name: {**spec, "length": VECTOR_LENGTH, "file": f"{name}.h5"} for name, spec in DATA.items()
    }
    common = {
        "command": command(args),
        "data_sets": data,
        "random_ranges": {k: list(v) for k, v in RANDOM_RANGES.items()},
        "size_scale": args.size_scale,
        "budget_scale": args.budget_scale,
    }
    for name in ("tsddae", "cam"):
        src = work / f"{name}_small.safetensors"
        card = checkpoint.read_card(src)
        card["stage_command"] = card.get("command")
        card.update(common)
        metrics = card.setdefault("metrics", {})
        for test, r in reports[name].items():
            metrics[test] = _summary(r)
            if name == "tsddae" and test in reports.get("baseline", {}):
                metrics[test]["baseline"] = _summary(reports["baseline"][test])
        if name == "tsddae":
            if few is not None:
                metrics["few_labels"] = few
            card["training_seconds"] = seconds
        else:
            card["training_seconds"] = {"cam": seconds.get("cam")}
        dst = out_dir / src.name
        shutil.copyfile(src, dst)
        checkpoint.card_path(dst).write_text(json.dumps(card, indent=2) + "\n")
        _say(f"wrote {dst} and {checkpoint.card_path(dst)}")
    labels = {"tsddae": "TS-DDAE", "baseline": "CNN baseline", "cam": "CAM"}
    nominal = {labels[n]: r["nominal"]["per_snr"] for n, r in reports.items()}
    written = [
        plots.accuracy_vs_snr(
            nominal, docs / "tsddae_accuracy_vs_snr.png", title="Nominal test set (fresh seed)"
        )
    ]
    r = reports["tsddae"]["nominal"]
    for snr, counts in r["confusion_at"].items():
        written.append(
            plots.confusion_matrix(
                counts, r["classes"], docs / f"tsddae_confusion_{snr}dB.png", f"TS-DDAE at {snr} dB"
            )
        )
    _say("plots: " + ", ".join(str(p) for p in written))


def _seconds(work):
    """Training seconds of each model trained so far."""
    from ..ml import checkpoint

    seconds = {}
    for stage, name in (("pretrain", "tsddae_pre"), ("finetune", "tsddae_small"),
                        ("baseline", "baseline_small"), ("cam", "cam_small")):  # fmt: skip
        path = work / f"{name}.safetensors"
        if path.is_file():
            seconds[stage] = checkpoint.read_card(path)["training"]["seconds"]
    if "pretrain" in seconds and "finetune" in seconds:
        seconds["tsddae_total"] = round(seconds["pretrain"] + seconds["finetune"], 1)
    return seconds


def run(args):
    """`rfml train shipped`. The shipped files are written twice: once TS-DDAE and CAM are
    trained and evaluated, and again with the baseline and few-label figures."""
    from .train import load_data

    work = Path(args.work_dir)
    if args.fresh and work.is_dir():
        for p in work.glob("*"):
            if p.suffix in (".safetensors", ".json"):
                p.unlink()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    paths = generate_data(args, work)
    if args.data_only:
        _say(f"data sets in {work}")
        return 0
    ds = load_data([paths[n] for n in TRAIN_FILES])
    train_models(args, work, paths, ds, ("pretrain", "finetune", "cam"))
    reports = evaluate_models(args, work, paths, ("tsddae", "cam"))
    write_outputs(args, work, reports, None, _seconds(work))
    train_models(args, work, paths, ds, ("baseline",))
    del ds
    reports.update(evaluate_models(args, work, paths, ("baseline",)))
    few = few_labels(args, work, paths, load_data(paths["few_pool"]))
    write_outputs(args, work, reports, few, _seconds(work))
    _say(f"done in {time.perf_counter() - t0:.0f} s")
    return 0
