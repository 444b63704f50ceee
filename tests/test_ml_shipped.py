# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped weights: each loads strictly, and on small fresh test sets (seeds no card
names, sim loopback) it scores what its card states: within 1.5 points on nominal signals at
10 dB; within 6.5 points (three standard errors of the difference of two estimates from
600 and 900 vectors) at -10 dB and on wide-range transmitters at 10 dB."""

import json

import numpy as np
import pytest
from gnuradio.rfml.flowgraphs.generation import GenerationConfig, generate
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.datasets import read_dataset
from gnuradio.rfml.ml.train import predict_logits, set_threads

FRESH_SEED = 424242
PER_CLASS = 100


def generate_fresh(tmp_path_factory, name, **config):
    """A fresh data set of PER_CLASS vectors of 1024 samples per class and SNR: its path."""
    path = tmp_path_factory.mktemp("shipped") / f"{name}.h5"
    generate(GenerationConfig(per_class=PER_CLASS, length=1024, **config), path)
    return path


@pytest.fixture(scope="module")
def fresh_path(tmp_path_factory):
    return generate_fresh(tmp_path_factory, "fresh", snr_db="10", seed=FRESH_SEED)


@pytest.fixture(scope="module")
def fresh_10db(fresh_path):
    return read_dataset(fresh_path, clean=False)


@pytest.mark.parametrize("kind", ["tsddae", "cam", "cnn_baseline"])
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
    args = ["eval", "--data", str(fresh_path), "--json", str(out), "--plots", ""]
    assert rfml([*args, "--baseline", "cnn_baseline"]) == 0
    report = json.loads(out.read_text())
    assert {"accuracy", "per_snr", "classes", "confusion"} <= set(report)
    assert report["model"] == checkpoint.shipped("tsddae").name == "tsddae_small.safetensors"
    assert report["baseline"]["model"] == "cnn_baseline_small.safetensors"
    model, _ = checkpoint.load(checkpoint.shipped("tsddae"))
    pred = predict_logits(model, fresh_10db.iq).argmax(1)
    assert report["accuracy"] == pytest.approx(float(np.mean(pred == fresh_10db.label)))
    assert np.array(report["confusion"]).sum() == len(fresh_10db.label)


def fresh_set(tmp_path_factory, name, **config):
    return read_dataset(generate_fresh(tmp_path_factory, name, **config), clean=False)


@pytest.fixture(scope="module")
def fresh_hard(tmp_path_factory):
    """{card test name: (fresh data set, SNR key)}: nominal at -10 dB, wide ranges at 10 dB."""
    nominal = fresh_set(tmp_path_factory, "nom-10", snr_db="-10", seed=FRESH_SEED + 1)
    wide = fresh_set(tmp_path_factory, "wide10", snr_db="10", randomize=True, ranges="wide",
                     seed=FRESH_SEED + 2)  # fmt: skip
    return {"nominal": (nominal, "-10"), "wide": (wide, "10")}


HARD = [("tsddae", "nominal"), ("tsddae", "wide"), ("cam", "wide"), ("cnn_baseline", "nominal")]


@pytest.mark.parametrize(("kind", "test"), HARD)
def test_shipped_weights_match_their_card_on_hard_sets(kind, test, fresh_hard):
    set_threads(2)
    model, card = checkpoint.load(checkpoint.shipped(kind), kind=kind)
    ds, snr = fresh_hard[test]
    stated = card["metrics"][test]["per_snr"][snr]
    measured = float(np.mean(predict_logits(model, ds.iq).argmax(1) == ds.label))
    assert abs(measured - stated) <= 0.065, f"{test}, {snr} dB: {measured:.4f}, card {stated:.4f}"


def test_eval_names_the_shipped_kinds_when_a_model_is_neither_file_nor_kind(fresh_path):
    from gnuradio.rfml.apps import UsageError
    from gnuradio.rfml.apps.__main__ import main as rfml

    with pytest.raises(UsageError, match="cnn_basline: no such checkpoint file.*cnn_baseline"):
        rfml(["eval", "--data", str(fresh_path), "--model", "cnn_basline"])
