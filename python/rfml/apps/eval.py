# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml eval`: accuracy per SNR, confusion matrices and plots of a classifier on a data set.

Example::

    rfml eval --data test.h5 --json out/eval.json --plots out/eval
    rfml eval --model out/tsddae_small.safetensors --data test.h5 \\
        --baseline out/baseline_small.safetensors --record nominal

With no ``--model`` the shipped TS-DDAE classifier is used. ``--data`` is any file
``read_dataset`` reads (gr-rfml HDF5 from `rfml generate` or `rfml capture`, RadioML
2016.10A / 2018.01A); its classes are matched to the model's by name. SNRs are grouped to
the nearest integer dB. ``--json`` writes ``{"accuracy", "per_snr": {"-10": ...},
"classes", "confusion", ...}``; ``--plots DIR`` gets ``accuracy_vs_snr.png`` and
``confusion_<snr>dB.png`` at -5, 0 and 10 dB (the nearest SNR present).
"""

import argparse
import json
import time
from pathlib import Path


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--model", default="", help="checkpoint (.safetensors); default: shipped")
    p.add_argument("--data", required=True, nargs="+", help="data set file(s)")
    p.add_argument("--json", metavar="FILE", help="write the figures to FILE as JSON")
    p.add_argument(
        "--plots",
        metavar="DIR",
        default="rfml_eval",
        help="folder for the PNG plots (default %(default)s; '' for none)",
    )
    p.add_argument(
        "--baseline",
        metavar="MODEL",
        help="also evaluate this checkpoint, beside the model in the table and plot",
    )
    p.add_argument(
        "--record", metavar="NAME", help="store the figures in the model's card under metrics.NAME"
    )
    p.add_argument("--max-vectors", type=int, default=None, help="use the first N vectors")
    p.add_argument(
        "--freq-offset",
        type=float,
        default=0.0,
        metavar="F",
        help="shift every vector by F cycles/sample first (off-nominal check)",
    )
    p.add_argument("--threads", type=int, default=2, help="CPU threads (%(default)s)")
    return p


def _load(path):
    from ..ml import checkpoint

    path = path or checkpoint.shipped("tsddae")
    model, card = checkpoint.load(path)
    return Path(path), model, card


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


def main(args):
    from ..ml import checkpoint, plots
    from ..ml.evaluation import evaluate
    from ..ml.loading import data_description, load_data
    from ..ml.signal import shift_frequency
    from ..ml.train import set_threads

    set_threads(args.threads)
    ds = load_data(args.data, args.max_vectors)
    if args.freq_offset:
        ds.iq = shift_frequency(ds.iq, args.freq_offset)
    path, model, card = _load(args.model)
    t0 = time.perf_counter()
    report, _ = evaluate(model, ds, card["classes"])
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["model"] = path.name
    report["data"] = data_description(args.data, ds)
    report["freq_offset"] = args.freq_offset
    reports = {path.stem: report}
    if args.baseline:
        bpath, bmodel, bcard = _load(args.baseline)
        breport, _ = evaluate(bmodel, ds, bcard["classes"])
        breport["model"] = bpath.name
        report["baseline"] = breport
        reports[bpath.stem] = breport
    print(_table(reports))
    if args.plots:
        out = Path(args.plots)
        out.mkdir(parents=True, exist_ok=True)
        curves = {name: r["per_snr"] for name, r in reports.items()}
        written = [
            plots.accuracy_vs_snr(
                curves,
                out / "accuracy_vs_snr.png",
                title=f"Accuracy against SNR ({Path(args.data[0]).name})",
            )
        ]
        for snr, counts in report["confusion_at"].items():
            written.append(
                plots.confusion_matrix(
                    counts,
                    report["classes"],
                    out / f"confusion_{snr}dB.png",
                    title=f"{path.stem} at {snr} dB",
                )
            )
        print("plots: " + ", ".join(str(p) for p in written))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    if args.record:
        card.setdefault("metrics", {})[args.record] = {
            "accuracy": report["accuracy"],
            "per_snr": report["per_snr"],
            "n": report["n"],
            "data": report["data"],
            "freq_offset": args.freq_offset,
            **(
                {"baseline": {k: report["baseline"][k] for k in ("accuracy", "per_snr", "model")}}
                if args.baseline
                else {}
            ),
        }
        with open(checkpoint.card_path(path), "w") as f:
            json.dump(card, f, indent=2)
            f.write("\n")
    return 0
