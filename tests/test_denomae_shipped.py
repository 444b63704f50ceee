# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped DenoMAE denoiser on fresh data: its SNR gain re-measured and held to the card,
and `rfml denoise` keeping every field of the data set but ``iq``."""

import json

import h5py
import numpy as np
import pytest
from gnuradio.rfml.apps import __main__ as cli
from gnuradio.rfml.apps.denoise import denoise_all, load_denoiser, measure
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.datasets import read_dataset
from gnuradio.rfml.ml.signal import iq_to_complex

# The re-measured mean gain over the classes (dB) must be within this of the card's, per SNR:
# 12 vectors per class and SNR give a standard error of the mean of about 0.3 dB.
TOLERANCE_DB = 1.0
# The margin over the oracle Wiener filter (a paired difference on the same vectors) may fall
# this far below the 3 dB goal on a fresh seed; on seed 70707 it is 3.0-3.8 dB.
MARGIN_TOLERANCE_DB = 0.3
SNRS = (-5, 0, 5, 10)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A data set of a seed of its own (not the card's test seed) at SNRS."""
    from gnuradio.rfml.flowgraphs.generation import GenerationConfig, generate

    path = tmp_path_factory.mktemp("denomae") / "fresh.h5"
    snr = ",".join(map(str, SNRS))
    generate(GenerationConfig(per_class=12, snr_db=snr, length=1024, seed=70707), path)
    return path


def test_shipped_gain_matches_the_card(fresh):
    path = checkpoint.shipped("denomae")
    card = checkpoint.read_card(path)
    runner, _ = load_denoiser("", 1024, "cpu")
    ds = read_dataset(fresh)
    iq, clean = iq_to_complex(ds.iq), iq_to_complex(ds.clean)
    denoised, valid = denoise_all(runner, iq, 64)
    assert valid.all()
    table = measure(denoised, iq, clean, ds.label, ds.snr_db, list(ds.classes))
    want = card["metrics"]["nominal"]["snr"]
    for i, snr in enumerate(SNRS):
        j = want["snr_db"].index(snr)
        for method in ("model", "wiener"):
            got = table["methods"][method]["mean_gain"][i]
            ref = want["methods"][method]["mean_gain"][j]
            assert abs(got - ref) < TOLERANCE_DB, f"{method} at {snr} dB: {got:.2f} vs {ref:.2f}"
    # the goal: ahead of the oracle Wiener filter from -5 dB, by 3 dB at 0 dB and above (the
    # card: +1.3, +3.1, +3.8, +3.5 dB); the paired difference varies less than each gain
    gains = (table["methods"][m]["mean_gain"] for m in ("model", "wiener"))
    margin = [a - b for a, b in zip(*gains, strict=True)]
    assert margin[0] > 0.5 and min(margin[1:]) > 3.0 - MARGIN_TOLERANCE_DB, margin


def test_recipe_evaluation_reports_the_gain_and_the_heads_accuracy(fresh):
    """What `rfml train reproduce denomae_small` writes into the card for each test set."""
    from gnuradio.rfml.apps.denoise import evaluate
    from gnuradio.rfml.ml import loading

    model, card = checkpoint.load(checkpoint.shipped("denomae"))
    report = evaluate(model, loading.load_data(fresh, clean=True), card)
    assert report["snr"]["snr_db"] == list(map(float, SNRS))
    assert 0.5 < report["accuracy"] <= 1 and set(report["per_snr"]) == {"-5", "0", "5", "10"}


def test_rfml_denoise_keeps_every_field_but_iq(fresh, tmp_path):
    out, report = tmp_path / "den.h5", tmp_path / "r.json"
    argv = ["denoise", "--data", str(fresh), "--out", str(out), "--json", str(report), "--quiet"]
    assert cli.main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["den.h5", "r.json"]  # no temp left
    with h5py.File(fresh, "r") as a, h5py.File(out, "r") as b:
        assert set(a) == set(b)
        for key in a:
            if isinstance(a[key], h5py.Group):
                for name in a[key]:
                    np.testing.assert_array_equal(a[key][name][()], b[key][name][()])
            elif key != "iq":
                np.testing.assert_array_equal(a[key][()], b[key][()])
        for name, value in a.attrs.items():
            assert np.all(b.attrs[name] == value)
        assert not np.allclose(a["iq"][()], b["iq"][()])
    table = json.loads(report.read_text())
    assert table["snr_db"] == list(map(float, SNRS))
    assert set(table["methods"]) == {"model", "lowpass", "wiener"}
    assert table["input"]["GFSK"][0] == pytest.approx(-5.0, abs=0.01)  # exact per vector
    # the output file measured afresh gives the model's row of the JSON
    den = read_dataset(out)
    src = read_dataset(fresh)
    again = measure(iq_to_complex(den.iq), iq_to_complex(src.iq), iq_to_complex(src.clean),
                    src.label, src.snr_db, list(src.classes))  # fmt: skip
    assert again["methods"]["model"]["mean_gain"] == pytest.approx(
        table["methods"]["model"]["mean_gain"], abs=1e-4
    )


def test_rfml_denoise_refuses_to_overwrite_its_input(fresh):
    with pytest.raises(ValueError, match="--out must differ from --data"):
        cli.main(["denoise", "--data", str(fresh), "--out", str(fresh)])
