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


def test_parameter_bins_keep_negative_values_and_drop_the_none_of_integer_parameters():
    """A carrier offset below zero is a value; -1 in an integer parameter means none."""
    from gnuradio.rfml.ml.datasets import Dataset
    from gnuradio.rfml.ml.evaluation import parameter_bins

    n = 4
    ds = Dataset(iq=np.zeros((n, 2, 8), np.float32), clean=None, label=np.zeros(n, np.int64),
                 snr_db=np.zeros(n, np.float32), classes=("OOK",),
                 params={"freq_offset": np.array([-0.02, -0.01, 0.01, 0.02], np.float32),
                         "pulse": np.array([-1, 0, 1, 2], np.int8)})  # fmt: skip
    values, edges = parameter_bins(ds, "freq_offset", bins=2)
    assert np.isfinite(values).all() and edges[0] == np.float32(-0.02)
    values, edges = parameter_bins(ds, "pulse", [0, 1, 2])
    assert np.isnan(values[0]) and list(values[1:]) == [0, 1, 2]
