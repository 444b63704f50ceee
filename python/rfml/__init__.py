# Copyright 2026 gr-rfml authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""gr-rfml: RF machine learning blocks for GNU Radio.

Blocks are used as ``from gnuradio import rfml; rfml.awgn_snr(...)``. Everything loads on
first use: a Python block from its own file (``python/rfml/<block>.py`` defines the class
``<block>``; the files of this folder are the list of blocks), a C++ block or kernel from
the pybind11 extension, and the sub-packages ``ml`` (models, training; no GNU Radio),
``dsp`` (plain numpy DSP), ``flowgraphs``, ``gui`` and ``apps``. So ``import
gnuradio.rfml.ml`` works in a Python without GNU Radio, and ``rfml.mod_source`` imports
GNU Radio only when it is first used.
"""

import importlib
import sys
import types
from pathlib import Path

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent
_BLOCKS = frozenset(p.stem for p in _HERE.glob("*.py") if not p.stem.startswith(("qa_", "_")))
_PACKAGES = frozenset(p.name for p in _HERE.iterdir() if (p / "__init__.py").is_file())


def _extension():
    """The pybind11 extension with the C++ blocks and kernels."""
    return importlib.import_module(".rfml_python", __name__)


def __getattr__(name):
    if name in _BLOCKS:
        value = getattr(importlib.import_module(f".{name}", __name__), name)
    elif name in _PACKAGES:
        value = importlib.import_module(f".{name}", __name__)
    elif name.startswith("__"):
        raise AttributeError(name)
    else:
        try:
            extension = _extension()
        except ModuleNotFoundError as e:
            raise AttributeError(
                f"gnuradio.rfml has no attribute {name!r}: the C++ extension is not built "
                f"({e}); build and install the module (./run.sh setup)"
            ) from None
        if not hasattr(extension, name):
            raise AttributeError(f"module 'gnuradio.rfml' has no attribute {name!r}")
        value = getattr(extension, name)
    globals()[name] = value
    return value


def __dir__():
    names = set(globals()) | _BLOCKS | _PACKAGES
    try:
        names |= {n for n in dir(_extension()) if not n.startswith("_")}
    except ImportError:
        pass
    return sorted(names)


class _Package(types.ModuleType):
    """Keeps ``rfml.<block>`` the block class: importing a block's module directly (``from
    gnuradio.rfml.mod_source import ...``) makes Python set the package attribute to the
    module, which would hide the class from every later ``rfml.mod_source(...)``."""

    def __setattr__(self, name, value):
        if name in _BLOCKS and isinstance(value, types.ModuleType) and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
