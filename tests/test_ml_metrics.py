# SPDX-License-Identifier: GPL-3.0-or-later
"""Classification metrics on hand-made predictions."""

import math

import numpy as np
from gnuradio.rfml.ml import metrics


def test_per_bin_accuracy_counts_each_vector_in_one_bin_and_skips_those_without_a_value():
    """The last bin is closed, values outside the edges or NaN are left out, and each bin
    has its accuracy per SNR."""
    values = [0.1, 0.15, 0.2, 0.3, 0.35, 0.5, np.nan, 0.9]
    label = [0, 0, 1, 1, 1, 1, 0, 1]
    pred = [0, 1, 1, 0, 1, 1, 0, 1]
    snr = [0, 10, 0, 10, 0, 10, 0, 10]
    low, high = metrics.per_bin_accuracy(pred, label, snr, values, [0.1, 0.2, 0.5])
    assert (low["low"], low["high"], low["n"]) == (0.1, 0.2, 2)
    assert low["accuracy"] == 0.5 and low["per_snr"] == {"0": 1.0, "10": 0.0}
    assert high["n"] == 4 and high["accuracy"] == 0.75  # 0.2, 0.3, 0.35 and 0.5 (closed)
    assert high["per_snr"] == {"0": 1.0, "10": 0.5}
    (empty,) = metrics.per_bin_accuracy(pred, label, snr, values, [2.0, 3.0])
    assert empty["n"] == 0 and math.isnan(empty["accuracy"]) and empty["per_snr"] == {}
