# SPDX-License-Identifier: GPL-3.0-or-later
"""The classification demo (`rfml demo`) and the README's flowgraph, run with the shipped
classifier and CAM model (examples/classification_demo.grc: tests/test_examples.py)."""

import json
import struct

import numpy as np
import pytest
from gnuradio import blocks, gr
from gnuradio.rfml.apps.__main__ import main as rfml_main
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.contract import CLASSES


@pytest.fixture(scope="module")
def shipped_weights():
    """Fails the tests that run the shipped models with one line when they are missing."""
    missing = [str(checkpoint.WEIGHTS_DIR / f"{kind}_small.safetensors")
               for kind in ("tsddae", "cam")
               if not (checkpoint.WEIGHTS_DIR / f"{kind}_small.safetensors").is_file()]  # fmt: skip
    if missing:
        pytest.fail(f"shipped weights not installed: {', '.join(missing)}; they come from "
                    "python/rfml/weights/ with ./run.sh setup", pytrace=False)  # fmt: skip


def test_demo_classifies_every_vector(tmp_path, capsys, shipped_weights):
    out = tmp_path / "demo"
    figures = tmp_path / "demo.json"
    argv = ["demo", "--out-dir", str(out), "--snr-db", "10", "--per-class", "32",
            "--batch-size", "32", "--display", "none", "--json", str(figures)]  # fmt: skip
    assert rfml_main(argv) == 0
    printed = capsys.readouterr().out
    report = json.loads(figures.read_text())
    assert report["classes"] == list(CLASSES)
    counts = np.array(report["confusion"])
    assert counts.sum() == 6 * 32 and list(counts.sum(axis=1)) == [32] * 6
    # the shipped classifier on the demo's own sim-loopback signals at 10 dB
    assert report["accuracy"] >= 0.95, printed
    assert set(report["per_class_snr"]["10"]) == set(CLASSES)
    for name in ("confusion.png", "accuracy_vs_snr.png", "cam_grid.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert not list(out.glob("cam_+*.png"))  # the single displays are in the grid
    width, height = struct.unpack(">II", (out / "cam_grid.png").read_bytes()[16:24])
    assert (width, height) == (80 + 480, 38 + 6 * 300)  # names + 6 classes x 1 SNR of 480x300
    assert report["files"]["cam_grid"] == str(out / "cam_grid.png")
    assert "accuracy per class and SNR" in printed


def test_readme_example(tmp_path, monkeypatch, shipped_weights):
    """The README's flowgraph, as written there."""
    monkeypatch.chdir(tmp_path)
    from gnuradio import rfml

    tb = gr.top_block()
    src = rfml.mod_source("GFSK", seed=1)
    radio = rfml.loopback(radio="sim")
    noise = rfml.awgn_snr(snr_db=5, vector_length=1024, seed=2)
    to_vec = blocks.stream_to_vector(gr.sizeof_gr_complex, 1024)
    head = blocks.head(gr.sizeof_gr_complex * 1024, 640)
    clf = rfml.tsddae_classifier()
    cam = rfml.cam_png_sink(png_path="cam_{vector}.png", png_every=128)
    labels = blocks.message_debug()
    tb.connect(src, radio, noise, to_vec, head, clf, cam)
    tb.msg_connect(clf, "classification", labels, "store")
    tb.msg_connect(clf, "classification", cam, "classification")
    tb.run()

    import pmt

    got = [pmt.symbol_to_string(pmt.dict_ref(labels.get_message(i), pmt.intern("label"), None))
           for i in range(labels.num_messages())]  # fmt: skip
    assert len(got) == 640
    assert got.count("GFSK") >= 0.95 * 640
    assert sorted(p.name for p in tmp_path.glob("cam_*.png")) == sorted(
        f"cam_{k}.png" for k in range(0, 640, 128)
    )


def test_demo_denoiser_switch(shipped_weights):
    """With the switch on, every vector goes through denomae_denoiser before the classifier,
    which then sees other vectors (the same seed without the denoiser gives other
    probabilities)."""
    from gnuradio.rfml.flowgraphs import classification_demo as demo

    runs = {}
    for denoiser in (None, ""):
        tb = demo.demo_flowgraph(0.0, per_class=4, batch_size=8, seed=5, denoiser_path=denoiser)
        tb.run()
        runs[denoiser] = demo.read_messages(tb.debug, 1024, 4, len(CLASSES))
        if denoiser is not None:
            assert tb.denoiser.denoised_count() == 24 and tb.denoiser.invalid_count() == 0
    (truth0, _, probs0), (truth1, pred1, probs1) = runs[None], runs[""]
    np.testing.assert_array_equal(truth0, truth1)
    assert len(pred1) == 24 and np.all(pred1 >= 0)
    assert np.abs(probs0 - probs1).max() > 0.01


def test_demo_denoiser_model_needs_the_switch():
    from gnuradio.rfml.apps import UsageError

    with pytest.raises(UsageError, match="--denoiser-model needs --denoise"):
        rfml_main(["demo", "--denoiser-model", "x.safetensors", "--display", "none"])
