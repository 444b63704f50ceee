# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml [--debug] SUBCOMMAND ...`: dispatches to gnuradio.rfml.apps.<subcommand>.

Each subcommand module defines ``get_args_parser()`` (an ``argparse.ArgumentParser``
with ``add_help=False``) and ``main(args)``; modules are imported only when used, so
``rfml generate`` never loads torch.

As a program, every error is one line on stderr, ``rfml SUBCOMMAND: error: ...``, with
exit code 2 for a wrong command line (argparse errors and :class:`UsageError`), 1 for a
run that failed and 130 for Ctrl-C; ``--debug`` (anywhere on the line) shows the
traceback instead.
"""

import argparse
import importlib
import re
import sys
import traceback

from . import UsageError

# subcommand -> one-line description
SUBCOMMANDS = {
    "bench": "throughput benchmarks beside same-run baselines",
    "train": "train any model stage by stage; reproduce the shipped checkpoints",
    "export": "export a checkpoint to ONNX, checked against torch with onnxruntime",
    "eval": "accuracy per SNR, confusion matrices and plots of a classifier on a data set",
    "generate": "generate a labelled HDF5 data set through the (simulated) loopback",
    "capture": "record a loopback run to a SigMF recording with class and SNR annotations",
    "demo": "live modulation classification through the simulated loopback",
    "display": "realtime classification display: label, probabilities, constellation, CAM",
    "grc": "GNU Radio Companion with gr-rfml and torch visible (Run works for the examples)",
    "compress": "compress a data set's vectors into HQARF codec packets (an .rfc container)",
    "decompress": "decode an .rfc container back to an HDF5 data set",
    "denoise": "denoise a data set with DenoMAE; SNR gain beside classical filters",
}

# Errors a user can cause and fix (bad files, options, missing devices): one line, no trace.
USER_ERRORS = (ValueError, OSError, RuntimeError, MemoryError, ImportError)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``PROG: error: MESSAGE (PROG --help)``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _version():
    from .. import __version__

    return f"rfml (gr-rfml) {__version__}"


def build_parser():
    parser = _Parser(prog="rfml", description="gr-rfml: RF machine learning with GNU Radio.")
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    for name, help_text in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _one_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, KeyError | IndexError) or not isinstance(error, USER_ERRORS):
        # not an error a user can fix: name it so the report is useful
        text = f"{type(error).__name__}: {text} (internal error: rerun with --debug, report it)"
    return text


def main(argv=None):
    """Runs ``rfml ARGV``.

    Args:
        argv (list[str] | None): the arguments after ``rfml``. None means the command line
            of this process: errors then become one line on stderr and an exit code (see
            the module docstring). With a list (Python callers, tests) errors propagate as
            exceptions; argparse errors still exit with code 2.

    Returns:
        int: the subcommand's exit status.
    """
    as_program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] not in SUBCOMMANDS:
        build_parser().parse_args(argv)  # --version, --help, or the usage error; exits
    name, rest = argv[0], argv[1:]
    module = importlib.import_module(f"gnuradio.rfml.apps.{name}")
    parser = _Parser(
        prog=f"rfml {name}", parents=[module.get_args_parser()], description=SUBCOMMANDS[name]
    )
    # Values such as "--snr-db -10,0,20" or "-10:20" are values, not options.
    parser._negative_number_matcher = re.compile(r"^-\.?\d[\d.,:eE+-]*$")
    args = parser.parse_args(rest)
    try:
        return module.main(args)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        sys.exit(130)
    except Exception as e:
        if not as_program:
            raise
        if debug:
            traceback.print_exc()
        else:
            print(f"rfml {name}: error: {_one_line(e)}", file=sys.stderr)
        sys.exit(2 if isinstance(e, UsageError) else 1)


if __name__ == "__main__":
    sys.exit(main())
