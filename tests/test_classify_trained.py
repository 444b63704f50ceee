# SPDX-License-Identifier: GPL-3.0-or-later
"""tsddae_classifier and cam_sink with the shipped CAM model (a GAP CNN; the classifier
block takes any classifier checkpoint) on fresh signals of our own mod_source: accuracy
through the block, and CAMs that agree with the decision they explain."""

import numpy as np
import pmt
import pytest
from gnuradio import blocks, gr, rfml
from gnuradio.rfml import dsp
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.contract import CLASSES

L = 1024
SNR_DB = 10.0


def make_vectors(per_class, seed):
    """complex64 (6 * per_class, L) at SNR_DB and labels, from one flowgraph per class."""
    rng = np.random.default_rng(seed)
    out, label = [], []
    for c, name in enumerate(CLASSES):
        tb = gr.top_block()
        src = rfml.mod_source(name, seed=int(rng.integers(1, 2**31 - 1)))
        skip = int(rng.integers(0, 4096))  # start away from the sources' first samples
        sink = blocks.vector_sink_c()
        tb.connect(src, blocks.skiphead(gr.sizeof_gr_complex, skip),
                   blocks.head(gr.sizeof_gr_complex, per_class * L), sink)  # fmt: skip
        tb.run()
        x = np.array(sink.data(), np.complex64).reshape(per_class, L)
        x *= np.exp(1j * rng.uniform(0, 2 * np.pi, (per_class, 1))).astype(np.complex64)
        noisy, _, _ = dsp.add_awgn(x, SNR_DB, rng)
        out.append(noisy.astype(np.complex64))
        label.append(np.full(per_class, c))
    return np.concatenate(out), np.concatenate(label)


@pytest.fixture(scope="module")
def trained():
    """Path of the shipped CAM model and test data of a seed of their own."""
    path = checkpoint.shipped("cam")
    if not path.is_file():
        pytest.fail(f"shipped weights not installed: {path}; they come from "
                    "python/rfml/weights/ with ./run.sh setup", pytrace=False)  # fmt: skip
    test_x, test_y = make_vectors(32, seed=12)
    return path, test_x, test_y


def test_classifier_block_with_a_trained_checkpoint(trained):
    path, x, y = trained
    tb = gr.top_block()
    clf = rfml.tsddae_classifier(str(path), vector_length=L, batch_size=32,
                                 device="cpu")  # fmt: skip
    debug = blocks.message_debug()
    tb.connect(blocks.vector_source_c(x.ravel().tolist(), False, L), clf,
               blocks.null_sink(gr.sizeof_gr_complex * L))  # fmt: skip
    tb.msg_connect(clf, "classification", debug, "store")
    tb.run()
    msgs = [debug.get_message(i) for i in range(debug.num_messages())]
    pred = np.array([pmt.to_long(pmt.dict_ref(m, pmt.intern("index"), None)) for m in msgs])
    assert len(pred) == len(y)
    accuracy = np.mean(pred == y)
    assert accuracy >= 0.95, f"accuracy {accuracy:.3f} at {SNR_DB} dB (chance: 0.167)"
    assert clf.card["kind"] == "cam"


def test_checkpoint_of_another_vector_length(trained):
    path, _, _ = trained
    with pytest.raises(ValueError, match=r"cam_small.safetensors.*1024 samples.*length=128"):
        rfml.tsddae_classifier(str(path), vector_length=128, device="cpu")


def test_classifier_refuses_a_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        rfml.tsddae_classifier(str(tmp_path / "nothing.safetensors"), vector_length=L)


def test_cam_sink_maps_explain_the_decision(trained, tmp_path):
    path, x, y = trained
    tb = gr.top_block()
    sink = rfml.cam_sink(str(path), vector_length=L, png_path=str(tmp_path / "c.png"),
                         png_every=1, device="cpu", headless=True)  # fmt: skip
    predictor = sink.predictor
    probs, index, maps = predictor.predict_cam(x)
    tb.connect(blocks.vector_source_c(x[-4:].ravel().tolist(), False, L), sink)
    tb.run()
    assert sink.pngs_written() == 4
    frame = sink.last_frame()
    np.testing.assert_allclose(frame.maps, maps[-1], rtol=1e-4, atol=1e-4)
    assert frame.label == CLASSES[index[-1]]
    assert np.mean(index == y) >= 0.95
    # The time average of a class's map plus the class bias is its logit (GAP), so the
    # map with the largest mean (+ bias) is the predicted class.
    bias = predictor.model.classifier.bias.detach().numpy()
    from_maps = (maps.mean(axis=2) + bias).argmax(axis=1)
    assert np.mean(from_maps == index) >= 0.97
