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

``--classes GFSK,GMSK`` scores only the vectors of those classes; ``--by PARAM`` adds the
accuracy per bin of a per-vector generation parameter and per SNR (``"by"`` in the JSON),
to see where a classifier fails, e.g. ``rfml eval --suite rand --classes GFSK,GMSK --by
bt=0.1,0.2,0.3,0.5``.
"""

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

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
    p.add_argument(
        "--by",
        type=_by_spec,
        metavar="PARAM[=EDGES]",
        help="also score per bin of a per-vector generation parameter (e.g. bt, mod_index, "
        "samples_per_symbol, freq_offset; data from `rfml generate --randomize`), per SNR: "
        "4 equal bins, or the comma-separated bin edges given (bt=0.1,0.2,0.3,0.5)",
    )
    p.add_argument(
        "--classes",
        type=lambda t: [c.strip() for c in t.split(",") if c.strip()],
        metavar="A,B",
        help="score only the vectors of these (true) classes, e.g. GFSK,GMSK",
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


def _by_spec(text):
    """``PARAM`` or ``PARAM=E1,E2,...`` -> (name, edges or None)."""
    name, _, edges = text.partition("=")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: give a parameter name, e.g. bt")
    if not edges:
        return name.strip(), None
    try:
        values = [finite_float(e) for e in edges.split(",")]
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
    if len(values) < 2 or any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise argparse.ArgumentTypeError(f"{text!r}: give two or more increasing bin edges")
    return name.strip(), values


def _only_classes(ds, names):
    """``ds`` restricted to the vectors whose true class is one of ``names`` (any case)."""
    have = [str(c).lower() for c in ds.classes]
    unknown = [n for n in names if n.lower() not in have]
    if unknown:
        raise UsageError(
            f"--classes: the data has no class {', '.join(unknown)} (it has: "
            f"{', '.join(map(str, ds.classes))})"
        )
    keep = np.isin(ds.label, [have.index(n.lower()) for n in names])
    if not keep.any():
        raise UsageError(f"--classes: the data has no vector of {', '.join(names)}")
    return ds.subset(keep)


def _by_table(report):
    """Accuracy per SNR (rows) and parameter bin (columns) as text."""
    by = report["by"]
    # 3 significant digits, unless two bins would read alike: then the shortest exact form
    for edge in ("{:.3g}".format, lambda x: repr(float(x))):
        bins = {f"{edge(b['low'])}-{edge(b['high'])}": b for b in by["bins"]}
        if len(bins) == len(by["bins"]):
            break
    counts = "     n  " + "  ".join(f"{b['n']:12d}" for b in bins.values())
    return "\n".join((f"{by['param']}:", _table(bins), counts))


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
    """Accuracy per SNR, one column per report (a model, or a bin of ``--by``), as text."""
    names = list(reports)
    snrs = sorted({s for r in reports.values() for s in r["per_snr"]}, key=int)
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


def _selected(ds, args):
    """``ds`` as --classes selects it, with --by checked against its parameters."""
    from ..ml.evaluation import parameter_bins

    if args.classes:
        ds = _only_classes(ds, args.classes)
    if args.by:
        try:
            parameter_bins(ds, *args.by)
        except ValueError as e:
            raise UsageError(f"--by: {e}") from None
    return ds


def _evaluate(predictor, ds, args):
    from ..ml.evaluation import evaluate

    return evaluate(predictor, ds, args.batch_size, by=args.by)


def _print_by(reports):
    for model, r in reports.items():
        if "by" in r:
            print(f"{model}, accuracy by {_by_table(r)}")


def run_suites(args):
    """`rfml eval --suite ...`: one table per suite, the JSON {suite: report}."""
    from ..ml import checkpoint
    from ..ml.evaluation import summary
    from ..ml.loading import load_data

    names = list(SUITES) if args.suite == ["all"] else args.suite
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        raise UsageError(f"unknown suite {', '.join(unknown)}: choose all or {', '.join(SUITES)}")
    card = checkpoint.read_card(_checkpoint_path(args.model))  # each suite loads the model
    out = {}
    for name in names:
        ds = _selected(
            load_data(suite_path(name, int(card["vector_length"]), args.cache_dir)), args
        )
        path, predictor, _ = _load(args.model, ds, args.device)
        reports = {path.stem: _evaluate(predictor, ds, args)}
        if args.baseline:
            bpath, bpredictor, _ = _load(args.baseline, ds, args.device)
            reports[bpath.stem] = _evaluate(bpredictor, ds, args)
        print(f"suite {name}:")
        print(_table(reports))
        _print_by(reports)
        out[name] = {model: summary(r) for model, r in reports.items()}
    if args.json:
        _write_json(args.json, out)
    return 0


def main(args):
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
    ds = _selected(load_data(args.data, args.max_vectors), args)
    if args.freq_offset:
        ds.iq = shift_frequency(ds.iq, args.freq_offset)
    path, predictor, card = _load(args.model, ds, args.device)
    t0 = time.perf_counter()
    report = _evaluate(predictor, ds, args)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["model"] = path.name
    report["data"] = data_description(args.data, ds)
    report["freq_offset"] = args.freq_offset
    reports = {path.stem: report}
    if args.baseline:
        bpath, bpredictor, _ = _load(args.baseline, ds, args.device)
        breport = _evaluate(bpredictor, ds, args)
        breport["model"] = bpath.name
        report["baseline"] = breport
        reports[bpath.stem] = breport
    print(_table(reports))
    _print_by(reports)
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
