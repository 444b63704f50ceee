# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped HQARF codec against its card, on fresh data (seeds no card names): the
packet sizes and ratios it states, its reconstruction SNR per level, and the shipped
classifier's accuracy on reconstructions at the level that meets 40:1."""

import json

import numpy as np
import pytest
from gnuradio.rfml.apps.bench_codec_rate import accuracy_by_snr
from gnuradio.rfml.dsp.codec import snr_db
from gnuradio.rfml.flowgraphs.generation import GenerationConfig, generate
from gnuradio.rfml.ml import checkpoint, loading, packet
from gnuradio.rfml.ml.inference import load_predictor
from gnuradio.rfml.ml.train import set_threads

FRESH_SEEDS = {"nominal": 525252, "randomized": 525253}
PER_CLASS = 6  # per class and SNR: 180 vectors per set


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    set_threads(2)
    codec, card = packet.load_codec("", device="cpu")
    classifier, _ = load_predictor("", kind="tsddae", vector_length=1024, device="cpu")
    sets = {}
    for name, seed in FRESH_SEEDS.items():
        assert f'"seed": {seed}' not in json.dumps(card)
        path = tmp_path_factory.mktemp("hqarf") / f"{name}.h5"
        generate(GenerationConfig(per_class=PER_CLASS, snr_db="-5,0,5,10,20", length=1024,
                                  seed=seed, randomize=name == "randomized"), path)  # fmt: skip
        sets[name] = loading.load_data(path)
    return codec, card, classifier, sets


def test_shipped_codec_is_small_and_names_its_measurement(shipped):
    codec, card, _, _ = shipped
    path = checkpoint.shipped("hqarf")
    assert path.stat().st_size < 3_000_000 and card["preset"] == "small"
    assert card["command"].startswith("rfml train reproduce hqarf_small")
    rate = card["metrics"]["codec_rate"]
    assert rate["model_id"] == codec.model_id.hex()
    assert list(rate["levels"]) == [f"L{k}" for k in codec.levels]


def test_fresh_data_give_the_card_s_sizes_fidelity_and_accuracy(shipped):
    codec, card, classifier, sets = shipped
    rate = card["metrics"]["codec_rate"]
    goal_level = rate["goal"]["level"]
    for name, ds in sets.items():
        iq = (ds.iq[:, 0] + 1j * ds.iq[:, 1]).astype(np.complex64)
        for level, stated in rate["levels"].items():
            packets, valid = codec.compress(iq, int(level[1:]))
            assert valid.all()
            total = sum(len(p) for p in packets)
            assert total == len(iq) * stated["packet_bytes"]
            assert round(len(iq) * 1024 * 4 / total, 2) == stated["ratio_iq16"]
            rec = codec.decompress([codec.read(p) for p in packets])
            measured = float(np.median(snr_db(iq, rec)))
            assert abs(measured - stated[name]["snr_db"]) < 1.5, (name, level, measured)
            if level != goal_level:
                continue
            acc = accuracy_by_snr(classifier, rec, ds.label, ds.snr_db)
            got = np.mean(list(acc.values()))
            want = np.mean(list(stated[name]["accuracy"].values()))
            # 180 vectors: three binomial standard deviations, at least 5 points
            tol = max(0.05, 3 * np.sqrt(want * (1 - want) / len(iq)))
            assert abs(got - want) <= tol, (name, level, got, want)


def test_shipped_codec_was_tuned_through_the_shipped_classifiers():
    """The task stage tunes the codec through shipped classifiers: its card names each
    one's SHA-256, and they must be the ones shipped beside it (retrain the codec's task
    steps after replacing a classifier)."""
    import hashlib

    card = checkpoint.read_card(checkpoint.shipped("hqarf"))
    tuned = card["training"]["depends_on"]["classifiers"]
    assert "tsddae" in tuned
    for kind, used in tuned.items():
        path = checkpoint.shipped(kind)
        assert used == {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
