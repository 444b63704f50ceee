# SPDX-License-Identifier: GPL-3.0-or-later
"""Non-block flowgraph code: data set generation, the classification demo, the realtime
display's signal chain and the capture example's SigMF metadata."""
