# SPDX-License-Identifier: GPL-3.0-or-later
"""Non-block flowgraph code: data set generation and the demo flowgraphs."""
