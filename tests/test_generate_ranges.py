# SPDX-License-Identifier: GPL-3.0-or-later
"""The named ranges of randomised generation: "wide" covers what other people's
transmitters vary (2..32 samples per symbol, OFDM resampled to a fraction of the band, the
GFSK/GMSK boundary left out of GFSK), and the evaluation suites replace some of them."""

import numpy as np
import pytest
from gnuradio.rfml.flowgraphs.generation import (
    GFSK_GMSK_GAP,
    GenerationConfig,
    generate,
    resolve_ranges,
)
from gnuradio.rfml.ml import recipes
from gnuradio.rfml.ml.datasets import read_dataset


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    path = tmp_path_factory.mktemp("ranges") / "wide.h5"
    generate(GenerationConfig(per_class=48, snr_db="30", length=1024, randomize=True,
                              ranges="wide", chunk=4, seed=11), path)  # fmt: skip
    return read_dataset(path)


def occupied_fraction(z, floor_db=-20):
    """Share of FFT bins within floor_db of the strongest (averaged over vectors)."""
    p = (np.abs(np.fft.fft(z, axis=-1)) ** 2).mean(0)
    return float(np.mean(p > p.max() * 10 ** (floor_db / 10)))


def test_wide_ranges_cover_narrow_and_wide_signals(wide):
    p, label = wide.params, wide.label
    sps = p["samples_per_symbol"][label != 5]
    assert sps.min() >= 2 and sps.max() <= 32 and sps.min() < 4 and sps.max() > 16
    h = p["mod_index"][label == 1]
    assert not np.any((h > GFSK_GMSK_GAP[0]) & (h < GFSK_GMSK_GAP[1]))
    assert h.min() < 0.4 and h.max() > 0.6
    ofdm = label == 5
    ov = p["ofdm_oversample"][ofdm]
    assert ov.min() >= 1 and ov.max() <= 20 and ov.max() > 4 * ov.min()
    z = wide.clean[ofdm, 0] + 1j * wide.clean[ofdm, 1]
    narrow, broad = z[ov >= np.quantile(ov, 0.75)], z[ov <= np.quantile(ov, 0.25)]
    # resampling by k divides the occupied band by k; power stays about 1
    assert occupied_fraction(narrow) < 0.5 * occupied_fraction(broad)
    assert 0.5 < np.mean(np.abs(z) ** 2) < 2.0
    assert wide.attrs["generation"]["ranges"] == "wide"
    assert wide.attrs["generation"]["random_ranges"]["samples_per_symbol"][:2] == [2.0, 32.0]


def test_v1_draws_no_new_parameter():
    ranges = resolve_ranges("v1")
    assert "ofdm_oversample" not in ranges and "mod_index_gap" not in ranges


def test_v2_is_v1_with_the_gfsk_gmsk_boundary(tmp_path):
    v1, v2 = resolve_ranges("v1"), resolve_ranges("v2")
    assert v2 == {**v1, "mod_index_gap": GFSK_GMSK_GAP}
    path = tmp_path / "v2.h5"
    generate(GenerationConfig(per_class=40, snr_db="20", length=1024, randomize=True,
                              ranges="v2", chunk=2, seed=12, classes=("GFSK",)), path)  # fmt: skip
    h = read_dataset(path).params["mod_index"]
    assert not np.any((h > GFSK_GMSK_GAP[0]) & (h < GFSK_GMSK_GAP[1]))
    assert h.min() < 0.4 and h.max() > 0.6


def test_suites_replace_ranges_and_refuse_unknown_ones():
    spec = recipes.DATA_SETS[recipes.suite_data("boundary")]
    ranges = resolve_ranges(spec["ranges"])
    assert ranges["mod_index"] == (0.3, 0.7) and ranges["mod_index_gap"] is None
    assert spec["classes"] == ("GFSK", "GMSK")
    for suite in recipes.SUITES:  # every suite is a valid configuration
        spec = dict(recipes.DATA_SETS[recipes.suite_data(suite)], per_class=1)
        assert GenerationConfig(length=1024, **spec).n_vectors > 0
    with pytest.raises(ValueError, match="unknown ranges 'huge'"):
        resolve_ranges("huge")
    with pytest.raises(ValueError, match=r"ranges \['sps'\] are not in 'wide'"):
        resolve_ranges({"base": "wide", "sps": (1, 2)})
    with pytest.raises(ValueError, match="unknown suite 'x'"):
        recipes.suite_data("x")


def test_boundary_suite_draws_inside_the_gap(tmp_path):
    spec = dict(recipes.DATA_SETS["test_boundary"], per_class=32, snr_db="20", chunk=4)
    path = tmp_path / "b.h5"
    generate(GenerationConfig(length=1024, **spec), path)
    ds = read_dataset(path)
    assert list(ds.classes) == ["OOK", "GFSK", "GMSK", "DBPSK", "DQPSK", "OFDM"]
    assert set(np.unique(ds.label)) == {1, 2}
    h = ds.params["mod_index"][ds.label == 1]
    assert h.min() >= 0.3 and h.max() <= 0.7 and np.any((h > 0.4) & (h < 0.6))
    assert ds.params["bt"][ds.label == 2].max() <= 0.3


def test_rfml_generate_ranges_option(tmp_path):
    from gnuradio.rfml.apps.__main__ import main as rfml

    out = tmp_path / "w.h5"
    assert rfml(["generate", "--out", str(out), "--per-class", "4", "--snr-db", "10",
                 "--randomize", "--ranges", "wide", "--seed", "3"]) == 0  # fmt: skip
    ds = read_dataset(out)
    assert ds.attrs["generation"]["ranges"] == "wide" and "ofdm_oversample" in ds.params
