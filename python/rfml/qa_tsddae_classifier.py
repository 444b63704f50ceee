#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA of tsddae_classifier: batching, messages, tags, invalid vectors, checkpoint checks.

The plumbing is checked against a small reference model whose outputs are known exactly
(logits from the mean of the vector), computed again here in numpy.
"""

import json
import tempfile
from pathlib import Path

import numpy as np
import pmt
import torch
from gnuradio import blocks, gr, gr_unittest, rfml
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.contract import CLASSES, INVALID_LABEL, LABEL_TAG_KEY
from gnuradio.rfml.ml.models import tsddae

L = 64


class MeanModel(torch.nn.Module):
    """logits = [mean I, mean Q, -mean I, -mean Q, 0, 0] * 4; records its batch sizes."""

    def __init__(self, n_logits=6):
        super().__init__()
        self.n_logits = n_logits
        self.batches = []

    def forward(self, x):  # x: (B, 2, L)
        self.batches.append(x.shape[0])
        m = x.mean(dim=2)
        logits = torch.cat([m, -m, torch.zeros_like(m)], dim=1) * 4
        return logits[:, : self.n_logits]


def reference_probs(vectors):
    """numpy version of softmax(MeanModel(x)) for complex (B, L)."""
    m = vectors.mean(axis=1)
    logits = np.stack([m.real, m.imag, -m.real, -m.imag, 0 * m.real, 0 * m.real], 1) * 4
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_vectors(n, rng):
    """Noisy constant vectors whose mean points in a random direction: complex64 (n, L)."""
    phase = rng.uniform(0, 2 * np.pi, n)
    noise = rng.normal(size=(n, L)) + 1j * rng.normal(size=(n, L))
    return (np.exp(1j * phase)[:, None] + 0.3 * noise).astype(np.complex64)


class qa_tsddae_classifier(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()
        self.rng = np.random.default_rng(1)

    def tearDown(self):
        self.tb = None

    def run_block(self, vectors, batch_size=8, model=None):
        model = model or MeanModel()
        clf = rfml.tsddae_classifier(
            vector_length=L, batch_size=batch_size, device="cpu", model=model
        )
        model.batches.clear()  # forget the construction-time self-check
        src = blocks.vector_source_c(vectors.ravel().tolist(), False, L)
        sink = blocks.vector_sink_c(L)
        debug = blocks.message_debug()
        self.tb.connect(src, clf, sink)
        self.tb.msg_connect(clf, "classification", debug, "store")
        self.tb.run()
        msgs = [debug.get_message(i) for i in range(debug.num_messages())]
        return clf, model, np.array(sink.data(), np.complex64).reshape(-1, L), sink.tags(), msgs

    def test_messages_tags_and_passthrough(self):
        vectors = make_vectors(48, self.rng)
        clf, model, out, tags, msgs = self.run_block(vectors, batch_size=8)
        want = reference_probs(vectors.astype(np.complex128))
        self.assertEqual(len(msgs), 48)
        probs = np.array(
            [pmt.f32vector_elements(pmt.dict_ref(m, pmt.intern("probs"), None)) for m in msgs]
        )
        np.testing.assert_allclose(probs, want, atol=2e-6)
        index = [pmt.to_long(pmt.dict_ref(m, pmt.intern("index"), None)) for m in msgs]
        self.assertEqual(index, list(want.argmax(1)))
        labels = [pmt.symbol_to_string(pmt.dict_ref(m, pmt.intern("label"), None)) for m in msgs]
        self.assertEqual(labels, [CLASSES[i] for i in want.argmax(1)])
        offsets = [pmt.to_uint64(pmt.dict_ref(m, pmt.intern("offset"), None)) for m in msgs]
        self.assertEqual(offsets, [i * L for i in range(48)])
        # pass-through is bit-exact; one rfml_label tag on each vector, same label as the message
        np.testing.assert_array_equal(out, vectors)
        label_tags = sorted(
            (t.offset, pmt.symbol_to_string(t.value))
            for t in tags
            if pmt.symbol_to_string(t.key) == LABEL_TAG_KEY
        )
        self.assertEqual(label_tags, list(enumerate(labels)))
        # batches of at most batch_size vectors, every vector classified once
        self.assertLessEqual(max(model.batches), 8)
        self.assertEqual(sum(model.batches), 48)
        self.assertEqual(clf.invalid_count(), 0)

    def test_invalid_vectors(self):
        vectors = make_vectors(16, self.rng)
        vectors[3, 5] = np.nan
        vectors[7, 0] = np.inf
        vectors[12] = 0
        clf, model, out, tags, msgs = self.run_block(vectors, batch_size=16)
        labels = [pmt.symbol_to_string(pmt.dict_ref(m, pmt.intern("label"), None)) for m in msgs]
        bad = [i for i, lab in enumerate(labels) if lab == INVALID_LABEL]
        self.assertEqual(bad, [3, 7, 12])
        self.assertEqual(clf.invalid_count(), 3)
        for i in bad:
            m = msgs[i]
            self.assertEqual(pmt.to_long(pmt.dict_ref(m, pmt.intern("index"), None)), -1)
            p = pmt.f32vector_elements(pmt.dict_ref(m, pmt.intern("probs"), None))
            self.assertEqual(list(p), [0.0] * len(CLASSES))
        good = np.setdiff1d(np.arange(16), bad)
        want = reference_probs(vectors[good].astype(np.complex128)).argmax(1)
        self.assertEqual([labels[i] for i in good], [CLASSES[i] for i in want])
        self.assertEqual(model.batches, [13])  # the invalid vectors never reach the model
        self.assertEqual(np.isnan(out[3, 5]), True)  # the pass-through leaves samples alone

    def test_stream_end_is_classified(self):
        vectors = make_vectors(20, self.rng)
        clf, model, out, tags, msgs = self.run_block(vectors, batch_size=8)
        self.assertEqual(clf.classified_count(), 20)
        self.assertEqual(len(msgs), 20)
        np.testing.assert_array_equal(out, vectors)

    def test_full_batches_when_the_model_is_the_bottleneck(self):
        vectors = make_vectors(256, self.rng)
        clf, model, out, tags, msgs = self.run_block(vectors, batch_size=32)
        self.assertEqual(sum(model.batches), 256)
        # the input buffer holds two batches: nearly every call is a full one
        self.assertLessEqual(max(model.batches), 32)
        self.assertGreaterEqual(model.batches.count(32), 256 // 32 - 1)

    def test_tags_without_a_message_subscriber(self):
        vectors = make_vectors(16, self.rng)
        clf = rfml.tsddae_classifier(vector_length=L, batch_size=8, device="cpu",
                                     model=MeanModel())  # fmt: skip
        sink = blocks.vector_sink_c(L)
        self.tb.connect(blocks.vector_source_c(vectors.ravel().tolist(), False, L), clf, sink)
        self.tb.run()
        want = [CLASSES[i] for i in reference_probs(vectors.astype(np.complex128)).argmax(1)]
        got = sorted((t.offset, pmt.symbol_to_string(t.value)) for t in sink.tags())
        self.assertEqual(got, list(enumerate(want)))
        self.assertEqual(clf.classified_count(), 16)

    def test_checkpoints_that_do_not_fit(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "ts_tiny.safetensors"
            checkpoint.save(tsddae.build("tiny", vector_length=L), {"classes": list(CLASSES)},
                            path)  # fmt: skip
            with self.assertRaisesRegex(ValueError, r"ts_tiny.safetensors.*64 samples.*=128"):
                rfml.tsddae_classifier(str(path), vector_length=2 * L, device="cpu")
            with self.assertRaisesRegex(ValueError, r"ts_tiny.safetensors: .*no cam"):
                rfml.cam_sink(str(path), vector_length=L, device="cpu", png_path="x.png")
            # the card says tiny, the weights are of another size: strict loading refuses
            card = json.loads(checkpoint.card_path(path).read_text())
            card["config"]["dim"] = 48
            checkpoint.card_path(path).write_text(json.dumps(card))
            with self.assertRaisesRegex(ValueError, r"ts_tiny.safetensors"):
                rfml.tsddae_classifier(str(path), vector_length=L, device="cpu")

    def test_classes_that_do_not_fit_the_model(self):
        with self.assertRaisesRegex(ValueError, "6 classes are named"):
            rfml.tsddae_classifier(vector_length=L, device="cpu", model=MeanModel(n_logits=4))

    def test_bad_parameters(self):
        with self.assertRaisesRegex(ValueError, "batch_size"):
            rfml.tsddae_classifier(vector_length=L, batch_size=0, model=MeanModel())
        with self.assertRaisesRegex(ValueError, "unknown device"):
            rfml.tsddae_classifier(vector_length=L, device="tpu", model=MeanModel())
        if not torch.cuda.is_available():
            with self.assertRaisesRegex(RuntimeError, "no CUDA GPU.*device='cpu'"):
                rfml.tsddae_classifier(vector_length=L, device="cuda", model=MeanModel())
        clf = rfml.tsddae_classifier(vector_length=L, device="auto", model=MeanModel())
        want = "cuda" if torch.cuda.is_available() else "cpu"
        self.assertEqual(clf.predictor.device.type, want)


if __name__ == "__main__":
    gr_unittest.run(qa_tsddae_classifier)
