# SPDX-License-Identifier: GPL-3.0-or-later
"""The GNU-Radio-free core of gr-rfml: data contracts, data sets, models, training, metrics.

Nothing under ``ml`` imports GNU Radio, so models train and test anywhere torch runs.
"""
