# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml train shipped` (= `rfml train reproduce tsddae_small cam_small`) end to end at toy
scale (tiny preset, a fraction of the data and of
the time budgets): every step runs, the cards carry every figure, the plots are PNGs, and a
second run resumes from the work folder without training again."""

import json

import pytest
from gnuradio.rfml.apps.__main__ import main as rfml
from gnuradio.rfml.ml import checkpoint, models


@pytest.mark.slow
def test_shipped_pipeline_at_toy_scale(tmp_path, capsys):
    out, work, docs = tmp_path / "weights", tmp_path / "work", tmp_path / "docs"
    argv = ["train", "shipped", "--out-dir", str(out), "--work-dir", str(work), "--docs-dir",
            str(docs), "--preset", "tiny", "--size-scale", "0.003", "--budget-scale", "0.003",
            "--threads", "1", "--quiet"]  # fmt: skip
    assert rfml(argv) == 0
    for kind in ("tsddae", "cam"):
        model, card = checkpoint.load(out / f"{kind}_small.safetensors", kind=kind)
        assert card["command"].startswith("rfml train reproduce tsddae_small cam_small")
        assert "--preset tiny" in card["command"]
        assert set(card["metrics"]["nominal"]["per_snr"]) == {str(s) for s in range(-10, 21)}
        assert card["recipe"]["name"] == f"{kind}_small"
        assert card["recipe"]["data_sets"]["train_rand_gap"]["randomize"] is True
        assert card["range_sets"]["v2"]["samples_per_symbol"] == [4.0, 16.0]
        assert card["range_sets"]["wide"]["samples_per_symbol"] == [2.0, 32.0, "log"]
        assert card["recipe"]["data_sets"]["train_wide"]["ranges"] == "wide"
    card = json.loads((out / "tsddae_small.json").read_text())
    m = card["metrics"]
    for test in ("nominal", "sps4", "sps16", "randomized", "freq_offset_0.01", "freq_offset_0.025",
                 "wide", "narrowband", "wideband", "offsets", "boundary"):  # fmt: skip
        assert 0 <= m[test]["accuracy"] <= 1 and 0 <= m[test]["cnn_baseline"]["accuracy"] <= 1
    few = m["few_labels"]["results"]
    assert set(few) == {"25", "100"}
    assert {"pretrained", "scratch", "linear_probe"} <= set(few["25"])
    assert set(card["training_seconds"]) == {
        "tsddae_pre",
        "tsddae_small",
        "tsddae_cont",
        "tsddae_cont2",
        "tsddae_cont3",
        "tsddae_cont4",
        "tsddae_cont5",
        "tsddae_sym",
        "cnn_baseline_small",
        "cnn_baseline_more",
        "cnn_baseline_fresh",
        "cnn_baseline_fresh2",
        "cnn_baseline_fresh3",
        "cnn_baseline_fresh4",
        "cnn_baseline_sym",
    }
    for name in ("tsddae_small_accuracy_vs_snr.png", "tsddae_small_confusion_-5dB.png",
                 "tsddae_small_suites.png"):  # fmt: skip
        assert (docs / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert rfml(argv) == 0  # resumes: every model is kept
    recipes = models.recipes()
    steps = [s for n in ("tsddae_small", "cam_small") for s in recipes[n][1].steps]
    steps += recipes["tsddae_small"][1].compare
    assert capsys.readouterr().out.count("exists: kept") == len(steps)
