# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml train reproduce [NAME ...]`: remake shipped checkpoints from their recipes.

    rfml train reproduce                 # every recipe (`rfml train list` names them)
    rfml train reproduce tsddae_small [--out-dir python/rfml/weights] [--work-dir out/shipped]
    rfml train shipped                   # the same as `reproduce tsddae_small cam_small`

For each recipe (``RECIPES`` of the model modules, :mod:`gnuradio.rfml.ml.recipes`), in order,
each step skipped when its output is already in ``--work-dir`` or every step after it is (so
an interrupted run resumes, mid-stage too, and a step added to a recipe trains from the
checkpoints already there; ``--fresh`` starts over; ``--from-shipped`` first puts the shipped
checkpoints there as the steps that made them):

1. generates the data sets it reads, with their seeds (our generator, sim loopback): the
   test sets and the data of the steps to train (`--data-only`: every set the recipe names);
2. runs the training steps (the last one is the shipped checkpoint) and the comparison
   models (trained on the same data);
3. scores all of them on the recipe's test sets (a test set of a model that is not a
   classifier is scored by its own evaluation);
4. runs the few-label comparison when the recipe has one;
5. writes ``NAME.safetensors`` + card (with the recipe, every figure and the command) to
   ``--out-dir`` and the plots to ``--docs-dir``.

``--size-scale`` and ``--budget-scale`` shrink the data and the time budgets (tests use
them with ``--preset tiny``); the shipped files come from the defaults.
"""

import argparse
import json
import shlex
import shutil
import time
from pathlib import Path

SHIPPED_ALIAS = ("tsddae_small", "cam_small")
# Test names drawn together in NAME_suites.png (the evaluation suites, `rfml eval --suite`).
SUITE_TESTS = ("nominal", "randomized", "wide", "narrowband", "wideband", "offsets", "boundary")
# The options of this group (left out of the command line a single stage records).
OPTIONS = ("out_dir", "work_dir", "docs_dir", "size_scale", "budget_scale", "data_only",
           "from_shipped")  # fmt: skip


def add_arguments(p):
    """The options of `rfml train reproduce` (added to `rfml train`'s parser)."""
    g = p.add_argument_group("reproduce")
    g.add_argument("--out-dir", default="python/rfml/weights", help="shipped files (%(default)s)")
    g.add_argument("--work-dir", default="out/shipped", help="data and interim files (%(default)s)")
    g.add_argument("--docs-dir", default="docs", help="plots for the docs (%(default)s)")
    g.add_argument("--size-scale", type=float, default=1.0, help="scale the data sets")
    g.add_argument("--budget-scale", type=float, default=1.0, help="scale the time budgets")
    g.add_argument("--data-only", action="store_true", help="generate the data sets and stop")
    g.add_argument(
        "--from-shipped",
        action="store_true",
        help="put each shipped checkpoint of --out-dir into --work-dir as the recipe step that "
        "made it, so that steps added to a recipe train from it without the steps before it",
    )


def command(args, names):
    """The documented command line of this run."""
    words = ["rfml", "train", "reproduce", *names]
    words += ["--out-dir", str(args.out_dir), "--work-dir", str(args.work_dir)]
    words += ["--docs-dir", str(args.docs_dir)]
    if getattr(args, "from_shipped", False):
        words.append("--from-shipped")
    for key, default in (("preset", "small"), ("size_scale", 1.0), ("budget_scale", 1.0),
                         ("device", "auto")):  # fmt: skip
        if getattr(args, key) != default:
            words += ["--" + key.replace("_", "-"), str(getattr(args, key))]
    return shlex.join(words)


def _say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _plain(obj):
    return json.loads(json.dumps(obj))


def seed_from_shipped(work, out_dir, recipes):
    """Put each shipped checkpoint of ``out_dir`` into ``work`` as the recipe step that made
    it (the last step its card's recipe names), with that step's own card, when the step
    is still defined alike in ``recipes`` ({name: (kind, Recipe)}) and not in ``work``
    already; the few-label comparison's figures go along (its cache) when its settings
    are unchanged. Returns the paths written."""
    from dataclasses import asdict

    from ..ml import checkpoint
    from ..ml.recipes import Step

    defined = {}
    for _, recipe in recipes.values():
        for step in recipe.steps + recipe.compare:
            defined[step.name] = _plain(asdict(step))
    written = []
    for src in sorted(Path(out_dir).glob("*.safetensors")):
        card = checkpoint.read_card(src)
        shipped = card.get("recipe") or {}
        if not shipped.get("steps"):
            continue
        step = shipped["steps"][-1]
        try:  # a card written before a Step field existed holds its default
            step = _plain(asdict(Step(**step)))
        except TypeError:
            pass
        if defined.get(step["name"]) != step:
            _say(f"{src.name}: its step {step['name']} is no longer defined alike: not used")
            continue
        dst = work / f"{step['name']}.safetensors"
        if dst.is_file():
            continue
        shutil.copyfile(src, dst)
        dropped = ("recipe", "metrics", "range_sets", "size_scale", "budget_scale", "stage_command")
        own = {k: v for k, v in card.items() if k not in dropped}
        own["command"] = card.get("stage_command", card.get("command"))
        checkpoint.write_card(dst, own)  # training_seconds: the steps before it
        written.append(dst)
        _say(f"{dst}: the shipped {src.name}")
        few, spec = card.get("metrics", {}).get("few_labels"), shipped.get("few_labels")
        code = recipes.get(shipped.get("name"), (None, None))[1]
        if few and spec and code is not None and code.few_labels is not None:
            cache = few_labels_cache(work, code.few_labels)
            if _plain(asdict(code.few_labels)) == spec and not cache.is_file():
                cache.write_text(json.dumps(few, indent=2) + "\n")
                written.append(cache)
    return written


def data_in_use(work, recipe):
    """Names of the data sets a run of ``recipe`` reads with the work dir as it is: the test
    sets, the training data of the steps still to train (:func:`needed_steps`) and the
    few-label comparison's while its figures are not cached. The training data of steps
    kept (e.g. put there by ``--from-shipped``) is not generated."""
    steps = recipe.steps + recipe.compare
    to_train = needed_steps(work, recipe, recipe.steps) | needed_steps(work, recipe, recipe.compare)
    names = {d for s in steps if s.name in to_train for d in (s.data or recipe.train)}
    names.update(t.data for t in recipe.tests)
    few = recipe.few_labels
    if few is not None and not few_labels_cache(work, few).is_file():
        names.update((few.pool, few.test))
    return [n for n in recipe.data_needed() if n in names]


def generate_data(args, work, recipe, names=None):
    """Generate the missing data files of ``names`` (default: every data set the recipe
    names); returns {name: path} for every data set the recipe names."""
    from tqdm.auto import tqdm

    from ..flowgraphs.generation import GenerationConfig, generate

    paths = {name: work / f"{name}.h5" for name in recipe.data_needed()}
    for name in recipe.data_needed() if names is None else names:
        path = paths[name]
        if path.is_file():
            continue
        spec = dict(recipe.data_sets[name])
        spec["per_class"] = max(1, round(spec["per_class"] * args.size_scale))
        cfg = GenerationConfig(length=recipe.vector_length, workers=max(1, args.threads), **spec)
        _say(f"generating {path} ({cfg.n_vectors} vectors)")
        partial = path.with_suffix(".partial.h5")  # renamed when complete
        with tqdm(total=cfg.n_vectors, desc=name, unit="vec", disable=args.quiet) as bar:
            generate(cfg, partial, progress=lambda n, bar=bar: bar.update(n - bar.n))
        partial.replace(path)
    return paths


def _step_args(args, recipe, step, paths, work):
    """The `rfml train KIND STAGE` namespace of one step."""
    return argparse.Namespace(
        kind=step.kind, stage=[step.stage], data=[str(paths[n]) for n in step.data or recipe.train],
        out=str(work / f"{step.name}.safetensors"),
        init=str(work / f"{step.init}.safetensors") if step.init else None, test=None,
        preset=args.preset, set=list(step.config) or None, device=args.device,
        epochs=step.epochs, batch_size=step.batch_size,
        lr=step.lr, weight_decay=0.01, budget_min=step.budget_min * args.budget_scale,
        val_fraction=recipe.val_fraction, max_vectors=None, labels=None, record_into=None,
        seed=recipe.seed if step.seed is None else step.seed, threads=args.threads,
        symmetries=step.symmetries, no_amp=args.no_amp, fresh=False,
        quiet=args.quiet,
    )  # fmt: skip


def needed_steps(work, recipe, steps):
    """Names of the steps to train: those whose checkpoint is not in the work dir and that
    something still needs (a step no other step starts from, the few-label comparison's
    start, or the start of another step to train). A step whose later steps are all in the
    work dir is not retrained, nor the few-label comparison's start once the comparison's
    figures are in the work dir (:func:`few_labels`)."""
    names = {s.name for s in steps}
    starts = {s.init for s in steps if s.init}
    wanted = names - starts
    few = recipe.few_labels
    if few is not None and few.init in names and not few_labels_cache(work, few).is_file():
        wanted.add(few.init)
    missing = {s.name for s in steps if not (work / f"{s.name}.safetensors").is_file()}
    for step in reversed(steps):
        if step.name in wanted and step.name in missing and step.init in names:
            wanted.add(step.init)
    return wanted & missing


def run_steps(args, work, recipe, paths, steps):
    """Train every needed step (:func:`needed_steps`) in order."""
    from ..ml import checkpoint
    from ..ml.train import clear_resume
    from .train import train_stage

    needed = needed_steps(work, recipe, steps)
    for step in steps:
        out = work / f"{step.name}.safetensors"
        if step.name not in needed:
            _say(f"{out} " + ("exists: kept" if out.is_file() else "not needed: later steps exist"))
            continue
        sargs = _step_args(args, recipe, step, paths, work)
        _say(f"training {step.kind} {step.stage} ({sargs.budget_min:.1f} min budget)")
        model, card = train_stage(sargs, step.kind, step.stage)
        checkpoint.save(model, card, out)
        clear_resume(out)
        _say(f"{step.name}: {card['training']['seconds']:.0f} s, wrote {out}")


def evaluate_steps(work, recipe, paths, steps):
    """{step name: {test name: report}} of classifier and denoiser steps on the recipe's
    tests (a denoiser's report: its SNR table, :func:`apps.denoise.evaluate`)."""
    from ..ml import checkpoint, evaluation, loading, models
    from ..ml.signal import shift_frequency
    from .denoise import evaluate as evaluate_denoiser

    out, loaded = {}, {}
    for step in steps:
        role = models.get(step.kind).ROLE
        if role not in ("classifier", "denoiser"):
            continue
        model, card = checkpoint.load(work / f"{step.name}.safetensors")
        out[step.name] = {}
        for test in recipe.tests:
            key = (test.data, role == "denoiser")  # a denoiser is measured against clean
            if key not in loaded:
                loaded[key] = loading.load_data(paths[test.data], clean=key[1])
            ds = loaded[key]
            if test.freq_offset:
                ds = _with_iq(ds, shift_frequency(ds.iq, test.freq_offset))
            if role == "denoiser":
                report = evaluate_denoiser(model, ds, card)
            else:
                runner = evaluation.runner(model, card["classes"], ds.vector_length)
                report = evaluation.evaluate(runner, ds)
            report["data"] = loading.data_description(paths[test.data], ds)
            report["freq_offset"] = test.freq_offset
            out[step.name][test.name] = report
            if "accuracy" in report:
                _say(f"{step.name:20s} {test.name:20s} accuracy {100 * report['accuracy']:.2f}%")
            if "snr" in report:
                gains = report["snr"]["methods"]["model"]["mean_gain"]
                _say(
                    f"{step.name:20s} {test.name:20s} mean SNR gain (dB) "
                    + " ".join(f"{g:.2f}" for g in gains)
                )
    return out


# Evaluation of a recipe whose model is not a classifier, by role: "module:function" taking
# (args, checkpoint path, {test name: data path}) and returning the figures for the card
# (and writing its plots to --docs-dir).
ROLE_EVALUATIONS = {"codec": "bench_codec_rate:recipe_metrics"}


def evaluate_role(args, work, recipe, paths, kind):
    """Figures of a non-classifier recipe's last step on its test sets ({} for classifiers)."""
    import importlib

    from ..ml import models

    spec = ROLE_EVALUATIONS.get(models.get(kind).ROLE)
    if spec is None:
        return {}
    module, function = spec.split(":")
    evaluate = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    tests = {t.name: paths[t.data] for t in recipe.tests}
    return evaluate(args, work / f"{recipe.steps[-1].name}.safetensors", tests)


def _with_iq(ds, iq):
    import copy

    out = copy.copy(ds)
    out.iq = iq
    return out


def few_labels_cache(work, spec):
    """Where the few-label comparison ``spec`` keeps its figures in the work dir."""
    return work / f"few_labels_{spec.init}.json"


def few_labels(args, work, recipe, paths, kind):
    """The recipe's few-label comparison (cached in the work dir as JSON)."""
    from .train import few_labels as run_few_labels

    spec = recipe.few_labels
    cache = few_labels_cache(work, spec)
    if cache.is_file():
        return json.loads(cache.read_text())
    fargs = argparse.Namespace(
        data=[str(paths[spec.pool])], test=str(paths[spec.test]),
        init=str(work / f"{spec.init}.safetensors"), labels=",".join(map(str, spec.counts)),
        epochs=spec.epochs, lr=spec.lr, budget_min=spec.minutes * args.budget_scale,
        max_vectors=None, record_into=None, seed=recipe.seed, quiet=args.quiet,
        device=args.device,
    )  # fmt: skip
    summary = run_few_labels(fargs, kind)
    cache.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _range_sets(recipe):
    """Names of the generator's range sets the recipe's randomised data sets draw from."""
    names = set()
    for n in recipe.data_needed():
        spec = recipe.data_sets[n]
        if spec.get("randomize"):
            ranges = spec.get("ranges", "v1")
            names.add(ranges if isinstance(ranges, str) else ranges["base"])
    return sorted(names)


def write_outputs(args, work, name, recipe, reports, few, names, extra=None):
    """The shipped checkpoint with its full card, and the plots."""
    from ..flowgraphs.generation import resolve_ranges
    from ..ml import checkpoint, evaluation, plots

    out_dir, docs = Path(args.out_dir), Path(args.docs_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs.mkdir(parents=True, exist_ok=True)
    last = recipe.steps[-1]
    src = work / f"{last.name}.safetensors"
    card = checkpoint.read_card(src)
    card["stage_command"] = card.get("command")
    card["command"] = command(args, names)
    card["recipe"] = {"name": name, **recipe.as_card()}
    card["range_sets"] = {n: {k: list(v) for k, v in resolve_ranges(n).items()}
                          for n in _range_sets(recipe)}  # fmt: skip
    card["size_scale"], card["budget_scale"] = args.size_scale, args.budget_scale
    cards = {s.name: checkpoint.read_card(work / f"{s.name}.safetensors")
             for s in recipe.steps + recipe.compare
             if (work / f"{s.name}.safetensors").is_file()}  # fmt: skip
    earlier = {}  # a step put there by --from-shipped knows the times of the steps before it
    for c in cards.values():
        earlier.update(c.get("training_seconds") or {})
    card["training_seconds"] = {
        s.name: cards[s.name]["training"]["seconds"] if s.name in cards else earlier[s.name]
        for s in recipe.steps + recipe.compare
        if s.name in cards or s.name in earlier
    }
    metrics = card.setdefault("metrics", {})
    for test, r in reports.get(last.name, {}).items():
        metrics[test] = evaluation.summary(r)
        if "snr" in r:  # a denoiser's SNR table
            metrics[test]["snr"] = r["snr"]
        for other in recipe.compared():
            if test in reports.get(other.name, {}):
                metrics[test][other.kind] = evaluation.summary(reports[other.name][test])
    if few is not None:
        metrics["few_labels"] = few
    metrics.update(extra or {})
    dst = out_dir / f"{name}.safetensors"
    shutil.copyfile(src, dst)
    checkpoint.write_card(dst, card)
    _say(f"wrote {dst} and {checkpoint.card_path(dst)}")
    if last.name not in reports or "nominal" not in reports[last.name]:
        return
    curves = {s.kind: reports[s.name]["nominal"] for s in (last, *recipe.compared())
              if "nominal" in reports.get(s.name, {})}  # fmt: skip
    written = [plots.accuracy_vs_snr({k: r["per_snr"] for k, r in curves.items()},
                                     docs / f"{name}_accuracy_vs_snr.png",
                                     title=f"{name}: nominal test set (fresh seed)")]  # fmt: skip
    suites = {t: r["per_snr"] for t, r in reports[last.name].items() if t in SUITE_TESTS}
    if len(suites) > 1:
        written.append(
            plots.accuracy_vs_snr(
                suites,
                docs / f"{name}_suites.png",
                title=f"{name}: evaluation suites (fresh seeds)",
            )
        )
    r = reports[last.name]["nominal"]
    for snr, counts in r["confusion_at"].items():
        written.append(plots.confusion_matrix(counts, r["classes"],
                                              docs / f"{name}_confusion_{snr}dB.png",
                                              f"{name} at {snr} dB"))  # fmt: skip
    _say("plots: " + ", ".join(str(p) for p in written))


def run(args):
    """`rfml train reproduce [NAME ...]` (and `rfml train shipped`)."""
    from ..ml import models

    recipes = models.recipes()
    names = list(args.stage) or (list(SHIPPED_ALIAS) if args.kind == "shipped" else sorted(recipes))
    unknown = [n for n in names if n not in recipes]
    if unknown:
        raise ValueError(
            f"no recipe {', '.join(unknown)}: choose from {', '.join(sorted(recipes))}"
        )
    work = Path(args.work_dir)
    if args.fresh and work.is_dir():
        for p in work.glob("*"):
            if p.suffix in (".safetensors", ".json"):
                p.unlink()
    work.mkdir(parents=True, exist_ok=True)
    if getattr(args, "from_shipped", False):
        seed_from_shipped(work, args.out_dir, recipes)
    t0 = time.perf_counter()
    for name in names:
        kind, recipe = recipes[name]
        paths = generate_data(
            args, work, recipe, None if args.data_only else data_in_use(work, recipe)
        )
        if args.data_only:
            continue
        run_steps(args, work, recipe, paths, recipe.steps)
        reports = evaluate_steps(work, recipe, paths, recipe.steps[-1:])
        extra = evaluate_role(args, work, recipe, paths, kind)
        write_outputs(args, work, name, recipe, reports, None, names, extra)
        if recipe.compare or recipe.few_labels:
            run_steps(args, work, recipe, paths, recipe.compare)
            reports.update(evaluate_steps(work, recipe, paths, recipe.compared()))
            few = few_labels(args, work, recipe, paths, kind) if recipe.few_labels else None
            write_outputs(args, work, name, recipe, reports, few, names)
    _say(f"done in {time.perf_counter() - t0:.0f} s")
    return 0
