# SPDX-License-Identifier: GPL-3.0-or-later
"""Subcommands of the `rfml` program: one module each, with get_args_parser() and main(args).

Shared here: :class:`UsageError` (a bad command line found after parsing; the program
exits with code 2 like an argparse error) and argparse types that refuse bad numbers
with one line.
"""

import argparse
import math


class UsageError(ValueError):
    """The command line is wrong (exit code 2); the message says what to give instead."""


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def finite_float(text):
    """argparse type: a finite number (no nan, inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value
