# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench NAME`: throughput benchmarks, each beside a baseline measured in the same run.

Each benchmark is a module ``gnuradio.rfml.apps.bench_<name>`` with ``get_args_parser()``
(cheap: heavy imports stay inside ``run``) and ``run(args) -> dict``; the dict holds the
figures, which are printed and, with ``--json FILE``, written to FILE.
"""

import argparse
import importlib
import json

# benchmark name -> one-line description
BENCHMARKS = {
    "chain": "MS/s of mod_source -> loopback -> awgn_snr -> vector_to_tensor beside the source",
    "classify": "samples/s through the tsddae_classifier block beside the bare model forward",
    "constellation": "images/s of the C++ renderer beside numpy and the memory floor",
    "denoise": "samples/s through the denomae_denoiser block beside the bare model and a filter",
    "generate": "MS/s of source -> loopback -> AWGN -> HDF5 beside the bare modulators",
}


def _module(name):
    return importlib.import_module(f"gnuradio.rfml.apps.bench_{name}")


def get_args_parser():
    parser = argparse.ArgumentParser(add_help=False)
    sub = parser.add_subparsers(dest="name", metavar="NAME", required=True)
    for name, help_text in BENCHMARKS.items():
        p = sub.add_parser(
            name, help=help_text, description=help_text, parents=[_module(name).get_args_parser()]
        )
        p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    return parser


def main(args):
    figures = _module(args.name).run(args)
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0
