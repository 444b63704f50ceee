# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml SUBCOMMAND ...`: dispatches to gnuradio.rfml.apps.<subcommand>.

Each subcommand module defines ``get_args_parser()`` (an ``argparse.ArgumentParser``
with ``add_help=False``) and ``main(args)``; modules are imported only when used, so
``rfml generate`` never loads torch.
"""

import argparse
import importlib
import re
import sys

# subcommand -> one-line description
SUBCOMMANDS = {
    "bench": "throughput benchmarks beside same-run baselines",
    "train": "train the classifiers (TS-DDAE pre-training, fine-tuning, CAM, CNN baseline)",
    "eval": "accuracy per SNR, confusion matrices and plots of a classifier on a data set",
    "generate": "generate a labelled HDF5 data set through the (simulated) loopback",
    "capture": "record a loopback run to a SigMF recording with class and SNR annotations",
    "demo": "live modulation classification through the simulated loopback",
    "denoise": "denoise a data set with DenoMAE; SNR gain beside classical filters",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="rfml", description="gr-rfml: RF machine learning with GNU Radio."
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    for name, help_text in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in SUBCOMMANDS:
        build_parser().parse_args(argv)  # prints usage / the error and exits
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(f"gnuradio.rfml.apps.{name}")
    parser = argparse.ArgumentParser(
        prog=f"rfml {name}", parents=[module.get_args_parser()], description=SUBCOMMANDS[name]
    )
    # Values such as "--snr-db -10,0,20" or "-10:20" are values, not options.
    parser._negative_number_matcher = re.compile(r"^-\.?\d[\d.,:eE+-]*$")
    args = parser.parse_args(rest)
    try:
        return module.main(args)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    sys.exit(main())
