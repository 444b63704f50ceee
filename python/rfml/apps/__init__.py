# SPDX-License-Identifier: GPL-3.0-or-later
"""Subcommands of the `rfml` program: one module each, with get_args_parser() and main(args)."""
