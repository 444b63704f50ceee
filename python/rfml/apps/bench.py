# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench NAME`: throughput benchmarks, each beside a baseline measured in the same run.

Each benchmark is a module ``gnuradio.rfml.apps.bench_<name>`` with ``get_args_parser()``
(cheap: heavy imports stay inside ``run``) and ``run(args) -> dict``; the dict holds the
figures, which are printed and, with ``--json FILE``, written to FILE.

``rfml bench all`` runs every benchmark at its defaults (``--quick``: at sizes that take
seconds, for tests) into one JSON ``{"meta": ..., "<name>": figures, ...}`` and, with
``--doc docs/performance.md``, rewrites that file's summary table (between the lines
``<!-- bench-table:start -->`` and ``<!-- bench-table:end -->``) from it;
``--from-json FILE`` rewrites the table from an earlier run without measuring.
"""

import argparse
import contextlib
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

# benchmark name -> one-line description
BENCHMARKS = {
    "chain": "MS/s of mod_source -> loopback -> awgn_snr -> vector_to_tensor beside the source",
    "classify": "samples/s through the tsddae_classifier block beside the bare model forward",
    "codec": "encode and decode samples/s of the HQARF codec beside decimate-and-quantise",
    "codec-rate": "HQARF ratio, fidelity and classifier accuracy per level beside classical codecs",
    "constellation": "images/s of the C++ renderer beside numpy and the memory floor",
    "denoise": "samples/s through the denomae_denoiser block beside the bare model and a filter",
    "generate": "MS/s of source -> loopback -> AWGN -> HDF5 beside the bare modulators",
}
ALL = "every benchmark in one run: one JSON and the summary table of docs/performance.md"

# Arguments of each benchmark under `rfml bench all --quick` (seconds each).
QUICK_ARGS = {
    "chain": ["--samples", "65536"],
    "classify": ["--vectors", "64", "--batch-sizes", "64", "--threads", "1", "--repeats", "1",
                 "--device", "cpu"],
    "constellation": ["--batch", "64", "--baseline-batch", "2", "--repeat", "1"],
    "generate": ["--per-class", "24", "--chunk", "24"],
    "codec": ["--levels", "3", "--vectors", "64", "--repeats", "1", "--threads", "1",
              "--device", "cpu"],
    "codec-rate": ["--per-class", "2", "--snr-db", "10", "--levels", "3", "--no-baselines",
                   "--device", "cpu", "--threads", "1"],
    "denoise": ["--batch-sizes", "64", "--vectors", "64", "--repeats", "1", "--device", "cpu"],
}  # fmt: skip
# Arguments every run of `rfml bench all` adds (its plots are not the summary's business).
ALL_ARGS = {"codec-rate": ["--plots", ""]}

TABLE_START = "<!-- bench-table:start -->"
TABLE_END = "<!-- bench-table:end -->"
DOC_INTRO = """# Performance

Every figure here is measured by a command in the repo; ratios are against a baseline
measured in the same run. `rfml bench all --json bench.json --doc docs/performance.md` runs
every benchmark and rewrites the summary table from its JSON.

"""


def _module(name):
    return importlib.import_module(f"gnuradio.rfml.apps.bench_{name.replace('-', '_')}")


def get_args_parser():
    parser = argparse.ArgumentParser(add_help=False)
    sub = parser.add_subparsers(dest="name", metavar="NAME", required=True)
    for name, help_text in BENCHMARKS.items():
        p = sub.add_parser(
            name, help=help_text, description=help_text, parents=[_module(name).get_args_parser()]
        )
        p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    p = sub.add_parser("all", help=ALL, description=ALL)
    p.add_argument("--quick", action="store_true",
                   help="small sizes (seconds in all, for tests); figures are rough")  # fmt: skip
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    p.add_argument("--doc", metavar="FILE",
                   help="rewrite the summary table of FILE (e.g. docs/performance.md)")  # fmt: skip
    p.add_argument("--from-json", metavar="FILE",
                   help="the figures of FILE (an earlier --json) instead of measuring")  # fmt: skip
    return parser


def run_all(quick=False):
    """Every benchmark at its defaults (or QUICK_ARGS): {"meta": ..., name: figures}."""
    figures = {
        "meta": {
            "quick": bool(quick),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
            "seconds": {},
        }
    }
    for name in BENCHMARKS:
        argv = (QUICK_ARGS[name] if quick else []) + ALL_ARGS.get(name, [])
        args = _module(name).get_args_parser().parse_args(argv)
        start = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the one JSON
            figures[name] = _module(name).run(args)
        figures["meta"]["seconds"][name] = round(time.perf_counter() - start, 1)
    return figures


def _number(value):
    """3 significant figures, thousands apart by a space (31 540, 11.8, 3.32, 0.052)."""
    if value >= 1000:
        return f"{round(value):,}".replace(",", " ")
    return f"{value:.3g}"


def summary_rows(figures):
    """(benchmark, command, figure, same-run baseline, ratio) per headline figure."""
    rows = []
    if "generate" in figures:
        g = figures["generate"]
        rows.append(("data set generation, end to end", "`rfml bench generate`",
                     f"{_number(g['samples_per_s'] / 1e6)} MS/s",
                     f"the six modulators alone, {_number(g['modulators_samples_per_s'] / 1e6)} "
                     "MS/s", _number(g["ratio_vs_modulators"])))  # fmt: skip
    if "chain" in figures:
        c = figures["chain"]
        rows.append(("signal chain (source → loopback → AWGN → tensors)", "`rfml bench chain`",
                     f"{_number(c['samples_per_s'] / 1e6)} MS/s",
                     f"the modulators alone, {_number(c['modulators_samples_per_s'] / 1e6)} MS/s",
                     _number(c["ratio_vs_modulators"])))  # fmt: skip
    if "constellation" in figures:
        k = figures["constellation"]
        numpy_decay = k["numpy_decay_images_per_s"]
        rows.append(("constellation images, histogram", "`rfml bench constellation`",
                     f"{_number(k['histogram_images_per_s'])} images/s",
                     f"numpy `histogram2d`, {_number(k['numpy_histogram2d_images_per_s'])}/s",
                     f"{_number(k['histogram_vs_numpy'])}×"))  # fmt: skip
        rows.append(("constellation images, decay (3 channels, reused output)",
                     "`rfml bench constellation`",
                     f"{_number(k['decay_out_images_per_s'])} images/s",
                     f"float64 numpy, {_number(numpy_decay)}/s",
                     f"{_number(k['decay_out_images_per_s'] / numpy_decay)}×"))  # fmt: skip
    if "classify" in figures:
        t = figures["classify"]
        best = max(t["sweep"], key=lambda row: row["block_samples_per_s"])
        threads = f"{best['threads']} thread" + ("s" if best["threads"] > 1 else "")
        rows.append((f"TS-DDAE classifier block, batch {best['batch_size']}, {threads}",
                     "`rfml bench classify`", f"{_number(t['samples_per_s'] / 1e6)} MS/s",
                     f"bare model forward, {_number(best['bare_forward_samples_per_s'] / 1e6)} "
                     "MS/s", _number(best["block_vs_bare"])))  # fmt: skip
    if "denoise" in figures:
        d = figures["denoise"]
        best = max(d["sweep"], key=lambda row: row["block_samples_per_s"])
        rows.append((f"DenoMAE denoiser block, batch {best['batch_size']}",
                     "`rfml bench denoise`", f"{_number(best['block_samples_per_s'] / 1e6)} MS/s",
                     f"bare model, {_number(best['bare_model_samples_per_s'] / 1e6)} MS/s",
                     _number(best["block_vs_bare"])))  # fmt: skip
    if "codec" in figures:
        c = figures["codec"]
        base = c["baseline"]
        for level, row in c["levels"].items():
            best = max((v for k, v in row.items() if k.startswith("threads_")),
                       key=lambda v: v["encode_samples_per_s"])  # fmt: skip
            speed, base_speed = best["encode_samples_per_s"], base["encode_samples_per_s"]
            rows.append((f"HQARF encode, level {level}", "`rfml bench codec`",
                         f"{_number(speed / 1e6)} MS/s",
                         f"{base['codec']}, {_number(base_speed / 1e6)} MS/s",
                         _number(speed / base_speed)))  # fmt: skip
    return rows


def summary_table(figures):
    """The Markdown summary table of a `rfml bench all` JSON, with the run it came from."""
    meta = figures.get("meta", {})
    lines = ["| benchmark | command | figure | same-run baseline | ratio |",
             "|---|---|---|---|---|"]  # fmt: skip
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(figures)]
    how = "rfml bench all --quick" if meta.get("quick") else "rfml bench all"
    load, cores = meta.get("load_average_at_start"), meta.get("cpu_count")
    lines += ["", f"Measured by `{how}` on {meta.get('date', '?')}: {cores} cores "
              f"({meta.get('machine', '?')}), load average {load} when it started."]  # fmt: skip
    if meta.get("quick"):
        lines.append("Quick sizes: rough figures, for checking the command, not for quoting.")
    return "\n".join(lines)


def write_table(path, table):
    """Replace the summary table of the Markdown file ``path`` (created with a short
    introduction if missing; the markers are appended if it has none)."""
    path = Path(path)
    text = path.read_text() if path.exists() else DOC_INTRO
    block = f"{TABLE_START}\n{table}\n{TABLE_END}"
    if TABLE_START in text and TABLE_END in text.split(TABLE_START, 1)[1]:
        head, rest = text.split(TABLE_START, 1)
        text = head + block + rest.split(TABLE_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Summary\n\n" + block + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(args):
    if args.name != "all":
        figures = _module(args.name).run(args)
    elif args.from_json:
        with open(args.from_json) as f:
            figures = json.load(f)
    else:
        figures = run_all(args.quick)
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    if args.name == "all" and args.doc:
        write_table(args.doc, summary_table(figures))
    return 0
