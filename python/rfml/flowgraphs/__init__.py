# SPDX-License-Identifier: GPL-3.0-or-later
"""Flowgraphs built in Python (not blocks): the classification demo, the realtime display's
signal chain."""
