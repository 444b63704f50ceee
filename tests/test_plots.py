# SPDX-License-Identifier: GPL-3.0-or-later
"""The figures people look at: accuracy against SNR shows the differences between lines."""

import struct

import pytest
from gnuradio.rfml.ml import plots


def png_size(path):
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_zoom_range_spans_the_crowded_top():
    curves = {"all": {"-10": 0.6, "0": 0.97, "10": 0.995}, "OOK": {"-10": 0.5, "0": 0.93,
                                                                     "10": 1.0}}  # fmt: skip
    low, high = plots.zoom_range(curves)
    assert 92.0 < low < 93.0 and 100.0 < high < 100.5  # 93 % (the lowest >= 90 %) to 100 %
    assert plots.zoom_range({"a": {"0": 0.5, "10": 0.8}}) is None  # nothing crowds the top
    assert plots.zoom_range({"a": {"0": 1.0}, "b": {"0": 1.0}}) is None  # nothing to tell apart


def test_accuracy_plot_adds_a_zoomed_panel_when_lines_crowd(tmp_path):
    crowded = {"all classes": {"-10": 0.8, "0": 0.99, "10": 0.998},
               "GFSK": {"-10": 0.7, "0": 0.97, "10": 1.0}}  # fmt: skip
    wide = {"TS-DDAE": {"-10": 0.3, "0": 0.6}, "CNN": {"-10": 0.2, "0": 0.5}}
    two = plots.accuracy_vs_snr(crowded, tmp_path / "two.png", overall="all classes")
    one = plots.accuracy_vs_snr(wide, tmp_path / "one.png")
    (w2, h2), (w1, h1) = png_size(two), png_size(one)
    assert h1 == h2 and w2 == pytest.approx(2 * w1, rel=0.01)


def test_mean_psd_finds_a_tone():
    import numpy as np

    n = np.arange(1024)
    tone = np.exp(2j * np.pi * 0.125 * n)[None, :].repeat(4, axis=0)
    freq, psd = plots.mean_psd_db(tone)
    assert freq[np.argmax(psd)] == pytest.approx(0.125)
    assert psd.max() - np.median(psd) > 60
