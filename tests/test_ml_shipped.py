# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped weights: each loads strictly, and on a small fresh test set (a seed no card
names, sim loopback, nominal parameters, 10 dB) it scores within 1.5 points of what its
card states at 10 dB."""

import json

import numpy as np
import pytest
from gnuradio.rfml.flowgraphs.generation import GenerationConfig, generate
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.datasets import read_dataset
from gnuradio.rfml.ml.train import predict_logits, set_threads

FRESH_SEED = 424242
PER_CLASS = 100


@pytest.fixture(scope="module")
def fresh_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("shipped") / "fresh.h5"
    generate(GenerationConfig(per_class=PER_CLASS, snr_db="10", length=1024, seed=FRESH_SEED),
             path)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def fresh_10db(fresh_path):
    return read_dataset(fresh_path, clean=False)


@pytest.mark.parametrize("kind", ["tsddae", "cam"])
def test_shipped_weights_load_strictly_and_match_their_card(kind, fresh_10db):
    set_threads(2)
    path = checkpoint.shipped(kind)
    model, card = checkpoint.load(path, kind=kind)
    assert card["kind"] == kind and card["preset"] == "small"
    assert path.stat().st_size < 4_000_000
    assert card["command"].startswith("rfml train")
    seeds = json.dumps(card)
    assert f'"seed": {FRESH_SEED}' not in seeds  # the test data are new to the model
    stated = card["metrics"]["nominal"]["per_snr"]["10"]
    assert list(fresh_10db.classes) == card["classes"]
    pred = predict_logits(model, fresh_10db.iq).argmax(1)
    measured = float(np.mean(pred == fresh_10db.label))
    assert abs(measured - stated) <= 0.015, f"measured {measured:.4f}, card {stated:.4f}"


def test_eval_without_model_uses_the_shipped_classifier(fresh_path, fresh_10db, tmp_path):
    from gnuradio.rfml.apps.__main__ import main as rfml

    out = tmp_path / "eval.json"
    assert rfml(["eval", "--data", str(fresh_path), "--json", str(out), "--plots", ""]) == 0
    report = json.loads(out.read_text())
    assert {"accuracy", "per_snr", "classes", "confusion"} <= set(report)
    assert report["model"] == checkpoint.shipped("tsddae").name == "tsddae_small.safetensors"
    model, _ = checkpoint.load(checkpoint.shipped("tsddae"))
    pred = predict_logits(model, fresh_10db.iq).argmax(1)
    assert report["accuracy"] == pytest.approx(float(np.mean(pred == fresh_10db.label)))
    assert np.array(report["confusion"]).sum() == len(fresh_10db.label)
