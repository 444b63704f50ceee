# Copyright 2026 gr-rfml authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
"""gr-rfml: RF machine learning blocks for GNU Radio.

Blocks are used as ``from gnuradio import rfml; rfml.awgn_snr(...)``. The model code in
``rfml.ml`` and the DSP functions in ``rfml.dsp`` import neither GNU Radio nor each
other's heavy dependencies; blocks import torch only when they are constructed.
"""

__version__ = "0.1.0"

# C++ blocks and kernels (pybind11). The installed package always has them; only the
# source folder, which pytest imports as a package named "rfml", has no build beside it.
try:
    from .rfml_python import *  # noqa: F401,F403
except ModuleNotFoundError:
    if __name__ == "gnuradio.rfml":
        raise

# Python blocks: one per file, file name = class name.
from .mod_source import mod_source
from .awgn_snr import awgn_snr
from .loopback import loopback
from .vector_to_tensor import vector_to_tensor
from .tsddae_classifier import tsddae_classifier
from .cam_sink import cam_sink
