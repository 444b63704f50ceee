# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml grc`: GNU Radio Companion with gr-rfml, torch and this Python environment visible.

GRC runs the scripts it generates with the interpreter it was started with (its ``{python}``
run command is ``sys.executable``). Debian's ``gnuradio-companion`` starts Debian's
``/usr/bin/python3``, which has no torch, so Run fails on every ML block. This command
starts ``gnuradio-companion`` with the interpreter running ``rfml`` (the venv's python
after ``./run.sh setup``), with the module's block definitions on ``GRC_BLOCKS_PATH`` and
the package on ``PYTHONPATH``, so the generated flowgraphs run as they would from the shell.

Example::

    rfml grc                                   # an empty flowgraph
    rfml grc --example realtime_classification # an installed example
    rfml grc my_flowgraph.grc
    eval "$(rfml grc --print-env)"             # the same environment for your own shell
"""

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

import gnuradio.rfml

PACKAGE = Path(gnuradio.rfml.__file__).resolve().parent
REPO_GRC = PACKAGE.parents[1] / "grc"  # the source tree's grc/ (running from a checkout)


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("flowgraphs", nargs="*", help=".grc files to open")
    p.add_argument(
        "--example",
        action="append",
        default=[],
        metavar="NAME",
        help="open an installed example by name (e.g. realtime_classification); repeatable",
    )
    p.add_argument(
        "--print-env",
        action="store_true",
        help="print the environment as shell export lines instead of starting GRC",
    )
    p.add_argument(
        "--log",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="GRC's console log level (default %(default)s)",
    )
    return p


def _has_rfml_blocks(folder):
    return folder.is_dir() and any(folder.glob("rfml_*.block.yml"))


def blocks_dir():
    """The folder holding this module's GRC block YAML (``rfml_*.block.yml``).

    The installed copy beside the package in use (``<prefix>/share/gnuradio/grc/blocks``),
    else the source tree's ``grc/``; RuntimeError saying what to do when neither has them.
    """
    for parent in PACKAGE.parents:
        installed = parent / "share" / "gnuradio" / "grc" / "blocks"
        if _has_rfml_blocks(installed):
            return installed
    if _has_rfml_blocks(REPO_GRC):
        return REPO_GRC
    raise RuntimeError(
        f"no gr-rfml block definitions (rfml_*.block.yml) found above {PACKAGE}: "
        "install the module (./run.sh setup, or cmake --install build)"
    )


def examples_dir():
    """The installed examples (``<prefix>/share/gr-rfml/examples``), else the source tree's."""
    for parent in PACKAGE.parents:
        installed = parent / "share" / "gr-rfml" / "examples"
        if installed.is_dir() and any(installed.glob("*.grc")):
            return installed
    source = PACKAGE.parents[1] / "examples"
    if source.is_dir():
        return source
    raise RuntimeError(
        f"no gr-rfml examples found above {PACKAGE}: install the module "
        "(./run.sh setup, or cmake --install build)"
    )


def _prepend(value, existing):
    parts = [value] + [p for p in (existing or "").split(os.pathsep) if p and p != value]
    return os.pathsep.join(parts)


def grc_environment(base=None):
    """``base`` (default ``os.environ``) with gr-rfml's blocks and package made visible.

    Returns a new dict: ``GRC_BLOCKS_PATH`` and ``PYTHONPATH`` get this module's folders
    first (existing entries are kept after them).
    """
    env = dict(os.environ if base is None else base)
    env["GRC_BLOCKS_PATH"] = _prepend(str(blocks_dir()), env.get("GRC_BLOCKS_PATH"))
    env["PYTHONPATH"] = _prepend(str(PACKAGE.parents[1]), env.get("PYTHONPATH"))
    return env


def check_interpreter(python=sys.executable):
    """RuntimeError unless ``python`` (GRC's interpreter for generated scripts) has torch."""
    import importlib.util

    if python == sys.executable:
        ok = importlib.util.find_spec("torch") is not None
    else:
        import subprocess

        ok = subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0
    if not ok:
        raise RuntimeError(
            f"{python} cannot import torch, and GRC would run the generated flowgraphs with "
            "it: start rfml from the environment that has torch (./run.sh setup makes "
            ".venv/bin/rfml)"
        )


def check_gtk():
    """RuntimeError naming the Debian package when GRC's GTK 3 bindings are missing."""
    try:
        import gi

        gi.require_version("Gtk", "3.0")
    except (ImportError, ValueError) as e:
        raise RuntimeError(
            f"GNU Radio Companion needs GTK 3's introspection data ({e}): "
            "apt-get install gir1.2-gtk-3.0 (./run.sh setup installs it)"
        ) from None


def companion():
    path = shutil.which("gnuradio-companion")
    if path is None:
        raise RuntimeError(
            "gnuradio-companion not found: apt-get install gnuradio (./run.sh setup does)"
        )
    return path


def flowgraph_paths(args):
    paths = [Path(f) for f in args.flowgraphs]
    if args.example:
        folder = examples_dir()
        for name in args.example:
            path = folder / (name if name.endswith(".grc") else f"{name}.grc")
            if not path.is_file():
                names = ", ".join(sorted(p.stem for p in folder.glob("*.grc")))
                raise RuntimeError(f"no example {name!r} in {folder}: choose one of {names}")
            paths.append(path)
    for path in paths:
        if not path.is_file():
            raise RuntimeError(f"{path}: no such flowgraph file")
    return paths


def command(args):
    """The argv that starts GRC: this interpreter running gnuradio-companion."""
    return [sys.executable, companion(), "--log", args.log, *map(str, flowgraph_paths(args))]


def main(args):
    env = grc_environment()
    if args.print_env:
        for key in ("GRC_BLOCKS_PATH", "PYTHONPATH"):
            print(f"export {key}={shlex.quote(env[key])}")
        print(f"# start GRC with: {shlex.join([sys.executable, companion()])}")
        return 0
    check_interpreter()
    check_gtk()
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        raise RuntimeError(
            "no display (DISPLAY is not set): run rfml grc on a desktop, over ssh -X, or "
            "under a virtual display (xvfb-run rfml grc ...)"
        )
    argv = command(args)
    sys.stdout.flush()
    os.execve(argv[0], argv, env)
