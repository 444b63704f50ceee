# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml eval`: accuracy per SNR, confusion matrices and plots of a classifier on a data set.

Example::

    rfml eval --data test.h5 --json out/eval.json --plots out/eval
    rfml eval --model out/tsddae_small.safetensors --data test.h5 \\
        --baseline out/baseline_small.safetensors --record nominal
    rfml eval --suite all --json suites.json      # every evaluation suite

``--suite NAME ...`` scores the model on evaluation suites instead of ``--data``: seeded data
sets made to catch a classifier that only knows our own transmitters (``nominal``, ``rand``,
``wide``, ``narrowband``, ``wideband``, ``offsets``, ``boundary``; see ``ml/recipes.py``),
generated at the model's vector length on first use and cached in ``--cache-dir``.

With no ``--model`` the shipped TS-DDAE classifier is used. ``--data`` is any file
``read_dataset`` reads (gr-rfml HDF5 from `rfml generate`, a SigMF recording, RadioML
2016.10A / 2018.01A); its classes are matched to the model's by name and its vector length
must be the model's. Vectors that cannot be classified (NaN/Inf samples or zero power,
as the classifier block marks them) are counted as ``invalid`` and not scored. SNRs are
grouped to the nearest integer dB. ``--json`` writes ``{"accuracy", "per_snr": {"-10":
...}, "classes", "confusion", "invalid", ...}``; ``--plots DIR`` gets ``accuracy_vs_snr.png``
and ``confusion_<snr>dB.png`` at -5, 0 and 10 dB (the nearest SNR present). Nothing is
written unless asked.
"""

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

from ..ml.recipes import SUITES
from . import UsageError, finite_float, positive_int

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gr-rfml" / "suites"


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--model", default="",
                   help="checkpoint (.safetensors) or a kind with shipped weights; "
                        "default: the shipped TS-DDAE")  # fmt: skip
    p.add_argument("--data", nargs="+", help="data set file(s)")
    p.add_argument(
        "--suite",
        nargs="+",
        metavar="NAME",
        help="evaluation suite(s) instead of --data: all, " + ", ".join(SUITES),
    )
    p.add_argument("--cache-dir", default=str(CACHE), help="where suites are kept (%(default)s)")
    p.add_argument("--json", metavar="FILE", help="write the figures to FILE as JSON")
    p.add_argument("--plots", metavar="DIR", help="write the PNG plots into the folder DIR")
    p.add_argument(
        "--baseline",
        metavar="MODEL",
        help="also evaluate this checkpoint (or the shipped weights of a kind, e.g. "
        "cnn_baseline), beside the model in the table and plot",
    )
    p.add_argument(
        "--record",
        metavar="NAME",
        help="store the figures in the card of --model under metrics.NAME",
    )
    p.add_argument("--max-vectors", type=positive_int, help="use the first N vectors")
    p.add_argument(
        "--freq-offset",
        type=finite_float,
        default=0.0,
        metavar="F",
        help="shift every vector by F cycles/sample first (off-nominal check)",
    )
    p.add_argument("--threads", type=positive_int, default=2, help="CPU threads (%(default)s)")
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the model runs: auto = cuda when torch sees a GPU (default %(default)s)",
    )
    p.add_argument("--batch-size", type=positive_int, default=512, help="(%(default)s)")
    return p


def _checkpoint_path(name):
    """A checkpoint path; empty: the shipped TS-DDAE; a kind with shipped weights instead of
    a file (``--baseline cnn_baseline``): that kind's shipped checkpoint."""
    from ..ml import checkpoint

    if not name:
        return checkpoint.shipped("tsddae")
    path = Path(name)
    if path.suffix or path.exists() or len(path.parts) > 1:
        return path
    try:
        return checkpoint.shipped(name)
    except checkpoint.CheckpointError as e:
        raise UsageError(f"{name}: no such checkpoint file, and {e}") from None


def _load(path, ds, device):
    """(path, Predictor, card) of a checkpoint, its vector length checked against ``ds``."""
    from ..ml import checkpoint
    from ..ml.evaluation import map_labels
    from ..ml.inference import Predictor

    path = _checkpoint_path(path)
    model, card = checkpoint.load(path)
    map_labels(ds, card["classes"])  # the data's classes must be the model's
    length = int(card["vector_length"])
    if length != ds.vector_length:
        raise UsageError(
            f"{path.name} takes vectors of {length} samples but the data holds vectors of "
            f"{ds.vector_length}: evaluate on data made with `rfml generate --length {length}` "
            f"or give a --model trained on {ds.vector_length}-sample vectors"
        )
    return path, Predictor(model, card["classes"], length, device), card


def _table(reports):
    """Accuracy per SNR, one column per model, as text."""
    names = list(reports)
    snrs = sorted(reports[names[0]]["per_snr"], key=int)
    lines = ["SNR dB  " + "  ".join(f"{n:>12s}" for n in names)]
    for s in snrs:
        cells = "  ".join(
            f"{100 * reports[n]['per_snr'].get(s, float('nan')):11.2f}%" for n in names
        )
        lines.append(f"{int(s):6d}  {cells}")
    lines.append("   all  " + "  ".join(f"{100 * reports[n]['accuracy']:11.2f}%" for n in names))
    return "\n".join(lines)


def _plots(out, reports, report, data_name, model_name):
    from ..ml import plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    curves = {name: r["per_snr"] for name, r in reports.items()}
    written = [
        plots.accuracy_vs_snr(
            curves, out / "accuracy_vs_snr.png", title=f"Accuracy against SNR ({data_name})"
        )
    ]
    for snr, counts in report["confusion_at"].items():
        written.append(
            plots.confusion_matrix(
                counts, report["classes"], out / f"confusion_{snr}dB.png",
                title=f"{model_name} at {snr} dB",
            )
        )  # fmt: skip
    return written


def _write_json(path, obj):
    from ..ml.fileio import atomic_outputs

    with atomic_outputs(path) as (tmp,):
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


def suite_path(name, length, cache_dir):
    """The data set of evaluation suite ``name`` at vector length ``length``, generated into
    ``cache_dir`` on first use (its name holds a hash of the settings, so a changed suite is
    made anew)."""
    from .. import __version__
    from ..flowgraphs.generation import GenerationConfig, generate
    from ..ml import recipes
    from ..ml.fileio import atomic_outputs

    data = recipes.suite_data(name)
    spec = dict(recipes.DATA_SETS[data], length=length)
    key = json.dumps([spec, __version__], sort_keys=True, default=str).encode()
    path = Path(cache_dir) / f"{data}_L{length}_{hashlib.sha256(key).hexdigest()[:10]}.h5"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        cfg = GenerationConfig(**spec)
        print(f"generating suite {name} ({cfg.n_vectors} vectors) into {path}")
        with atomic_outputs(path) as (tmp,):
            generate(cfg, tmp)
    return path


def run_suites(args):
    """`rfml eval --suite ...`: one table per suite, the JSON {suite: report}."""
    from ..ml import checkpoint
    from ..ml.evaluation import evaluate, summary
    from ..ml.loading import load_data

    names = list(SUITES) if args.suite == ["all"] else args.suite
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        raise UsageError(f"unknown suite {', '.join(unknown)}: choose all or {', '.join(SUITES)}")
    card = checkpoint.read_card(_checkpoint_path(args.model))  # each suite loads the model
    out = {}
    for name in names:
        ds = load_data(suite_path(name, int(card["vector_length"]), args.cache_dir))
        path, predictor, _ = _load(args.model, ds, args.device)
        reports = {path.stem: evaluate(predictor, ds, args.batch_size)}
        if args.baseline:
            bpath, bpredictor, _ = _load(args.baseline, ds, args.device)
            reports[bpath.stem] = evaluate(bpredictor, ds, args.batch_size)
        print(f"suite {name}:")
        print(_table(reports))
        out[name] = {model: summary(r) for model, r in reports.items()}
    if args.json:
        _write_json(args.json, out)
    return 0


def main(args):
    from ..ml.evaluation import evaluate
    from ..ml.loading import data_description, load_data
    from ..ml.signal import shift_frequency
    from ..ml.train import set_threads

    if bool(args.data) == bool(args.suite):
        raise UsageError("give --data FILE ... or --suite NAME ... (one of them)")
    if args.suite and (args.record or args.plots or args.freq_offset or args.max_vectors):
        raise UsageError("--record, --plots, --freq-offset and --max-vectors go with --data")
    set_threads(args.threads)
    if args.suite:
        return run_suites(args)
    if args.record and not args.model:
        raise UsageError(
            "--record stores the figures in the card of --model; give --model (the shipped "
            "card is installed with the module and is not rewritten)"
        )
    ds = load_data(args.data, args.max_vectors)
    if args.freq_offset:
        ds.iq = shift_frequency(ds.iq, args.freq_offset)
    path, predictor, card = _load(args.model, ds, args.device)
    t0 = time.perf_counter()
    report = evaluate(predictor, ds, args.batch_size)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["model"] = path.name
    report["data"] = data_description(args.data, ds)
    report["freq_offset"] = args.freq_offset
    reports = {path.stem: report}
    if args.baseline:
        bpath, bpredictor, _ = _load(args.baseline, ds, args.device)
        breport = evaluate(bpredictor, ds, args.batch_size)
        breport["model"] = bpath.name
        report["baseline"] = breport
        reports[bpath.stem] = breport
    print(_table(reports))
    if report["invalid"]:
        print(f"{report['invalid']} of {len(ds)} vectors could not be classified (NaN/Inf "
              "samples or zero power) and are not scored")  # fmt: skip
    if report["snr_unknown"]:
        print(f"{report['snr_unknown']} vectors have no SNR: scored in 'all' only")
    if args.plots:
        written = _plots(args.plots, reports, report, Path(args.data[0]).name, path.stem)
        print("plots: " + ", ".join(str(p) for p in written))
    if args.json:
        _write_json(args.json, report)
    if args.record:
        card.setdefault("metrics", {})[args.record] = {
            "accuracy": report["accuracy"],
            "per_snr": report["per_snr"],
            "n": report["n"],
            "invalid": report["invalid"],
            "data": report["data"],
            "freq_offset": args.freq_offset,
            **(
                {"baseline": {k: report["baseline"][k] for k in ("accuracy", "per_snr", "model")}}
                if args.baseline
                else {}
            ),
        }
        from ..ml import checkpoint

        _write_json(checkpoint.card_path(path), card)
    return 0
