#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA of denomae_denoiser: batching, the power scale, invalid vectors, the image output, and
the shipped model's SNR gain through the block on fresh signals.

The plumbing is checked against a reference model whose output is known exactly
(``denoise(x) = 0.5 x`` on the unit-RMS scale, so the block must output half its input).
"""

import tempfile
from pathlib import Path

import numpy as np
import torch
from gnuradio import blocks, gr, gr_unittest, rfml
from gnuradio.rfml.dsp.denoise import output_snr_db
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.signal import iq_to_complex

L = 64


class HalfModel(torch.nn.Module):
    """denoise(x) = 0.5 x; records its batch sizes."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def denoise(self, x):  # x: (B, 2, L), unit mean square per I/Q
        self.batches.append(x.shape[0])
        return 0.5 * x


def make_vectors(n, rng, length=L):
    """Random complex vectors of random power: complex64 (n, length)."""
    z = rng.normal(size=(n, length)) + 1j * rng.normal(size=(n, length))
    return (z * rng.uniform(0.01, 100, (n, 1))).astype(np.complex64)


class qa_denomae_denoiser(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()
        self.rng = np.random.default_rng(3)

    def tearDown(self):
        self.tb = None

    def run_block(self, vectors, length=L, **kw):
        blk = rfml.denomae_denoiser(vector_length=length, device="cpu", **kw)
        src = blocks.vector_source_c(vectors.ravel().tolist(), False, length)
        sink = blocks.vector_sink_c(length)
        self.tb.connect(src, blk, sink)
        images = None
        if kw.get("image_output"):
            images = blocks.vector_sink_f(3 * blk.image_size**2)
            self.tb.connect((blk, 1), images)
        self.tb.run()
        out = np.array(sink.data(), np.complex64).reshape(-1, length)
        if images is not None:
            images = np.array(images.data(), np.float32).reshape(len(out), 3, blk.image_size, -1)
        return blk, out, images

    def test_output_on_the_input_power_scale_in_batches(self):
        vectors = make_vectors(50, self.rng)
        model = HalfModel()
        blk, out, _ = self.run_block(vectors, batch_size=8, model=model)
        np.testing.assert_allclose(out, 0.5 * vectors, rtol=1e-5, atol=1e-6 * np.abs(vectors).max())
        self.assertEqual(blk.denoised_count(), 50)
        self.assertEqual(sum(model.batches[1:]), 50)  # the first is the self-check
        self.assertLessEqual(max(model.batches[1:]), 8)
        self.assertEqual(blk.invalid_count(), 0)

    def test_invalid_vectors_pass_through_and_are_counted(self):
        vectors = make_vectors(16, self.rng)
        vectors[3, 5] = np.nan
        vectors[7, 0] = np.inf
        vectors[12] = 0
        model = HalfModel()
        blk, out, images = self.run_block(vectors, batch_size=16, model=model,
                                          image_output=True, image_size=16)  # fmt: skip
        self.assertEqual(blk.invalid_count(), 3)
        self.assertEqual(model.batches[1:], [13])  # invalid vectors never reach the model
        self.assertTrue(np.isnan(out[3, 5]) and np.isinf(out[7, 0].real))
        np.testing.assert_array_equal(out[12], 0)
        good = np.setdiff1d(np.arange(16), [3, 7, 12])
        np.testing.assert_allclose(out[good], 0.5 * vectors[good], rtol=1e-5,
                                   atol=1e-6 * np.abs(vectors[good]).max())  # fmt: skip
        self.assertEqual(float(np.abs(images[[3, 7, 12]]).max()), 0.0)
        # every other image: decay channels normalised to a maximum of 1
        np.testing.assert_allclose(images[good].max(axis=(2, 3)), 1.0, atol=1e-6)

    def test_disabled_block_passes_vectors_through_and_can_be_switched_back(self):
        vectors = make_vectors(12, self.rng)
        vectors[4] = 0
        model = HalfModel()
        blk, out, _ = self.run_block(vectors, batch_size=4, model=model, enabled=False)
        self.assertFalse(blk.enabled())
        np.testing.assert_array_equal(out, vectors)
        self.assertEqual(model.batches[1:], [])  # the model is not called
        self.assertEqual((blk.denoised_count(), blk.invalid_count()), (12, 1))
        blk.set_enabled(True)  # the same block, switched on, in the next run
        self.assertTrue(blk.enabled())
        self.tb.disconnect_all()
        src = blocks.vector_source_c(vectors.ravel().tolist(), False, L)
        sink = blocks.vector_sink_c(L)
        self.tb.connect(src, blk, sink)
        self.tb.run()
        out = np.array(sink.data(), np.complex64).reshape(-1, L)
        np.testing.assert_allclose(out, 0.5 * vectors, rtol=1e-5, atol=1e-6 * np.abs(vectors).max())
        self.assertEqual(sum(model.batches[1:]), 11)  # the zero vector never reaches it

    def test_image_output_is_the_constellation_of_the_denoised_vector(self):
        # a QPSK-like vector: its image has four bright spots, one per quadrant
        sym = np.exp(1j * (np.pi / 4 + np.pi / 2 * self.rng.integers(0, 4, (4, L))))
        vectors = (3.0 * sym).astype(np.complex64)
        _, _, images = self.run_block(vectors, model=HalfModel(), image_output=True,
                                      image_size=32)  # fmt: skip
        first = images[:, 0]  # the narrowest decay channel
        half = 16
        for quadrant in (first[:, :half, :half], first[:, :half, half:],
                         first[:, half:, :half], first[:, half:, half:]):  # fmt: skip
            self.assertGreater(float(quadrant.max(axis=(1, 2)).min()), 0.5)
        # nothing near the centre (|z| = 1 on the unit-RMS scale, extent 3.5)
        self.assertLess(float(first[:, 14:18, 14:18].max()), 0.05)

    def test_bad_parameters(self):
        with self.assertRaisesRegex(ValueError, "batch_size"):
            rfml.denomae_denoiser(vector_length=L, batch_size=0, model=HalfModel())
        with self.assertRaisesRegex(ValueError, "unknown device"):
            rfml.denomae_denoiser(vector_length=L, device="tpu", model=HalfModel())
        with tempfile.TemporaryDirectory() as d:
            from gnuradio.rfml.ml.models import tsddae

            path = Path(d) / "ts.safetensors"
            checkpoint.save(tsddae.build("tiny", vector_length=L), {"classes": ["a"] * 6}, path)
            with self.assertRaisesRegex(ValueError, "needs a denoiser"):
                rfml.denomae_denoiser(str(path), vector_length=L, device="cpu")

    def test_shipped_model_gain_on_fresh_signals(self):
        """The shipped model through the block on vectors of a seed of their own, at -5 and
        5 dB: the mean SNR gain over the classes is within 1.5 dB of the card's."""
        from gnuradio.rfml.flowgraphs.generation import GenerationConfig, generate
        from gnuradio.rfml.ml.datasets import read_dataset

        path = checkpoint.shipped("denomae")
        card = checkpoint.read_card(path)
        table = card["metrics"]["nominal"]["snr"]
        with tempfile.TemporaryDirectory() as d:
            data = Path(d) / "fresh.h5"
            generate(GenerationConfig(per_class=8, snr_db="-5,5", length=1024, seed=9091), data)
            ds = read_dataset(data)
        iq, clean = iq_to_complex(ds.iq), iq_to_complex(ds.clean)
        _, out, _ = self.run_block(iq, length=1024, model_path=str(path), batch_size=32)
        gain = output_snr_db(out, clean) - output_snr_db(iq, clean)
        for snr in (-5, 5):
            got = float(np.mean([gain[(ds.label == c) & (ds.snr_db == snr)].mean()
                                 for c in np.unique(ds.label)]))  # fmt: skip
            want = table["methods"]["model"]["mean_gain"][table["snr_db"].index(snr)]
            self.assertLess(abs(got - want), 1.5, f"{snr} dB: gain {got:.2f} dB, card {want:.2f}")


if __name__ == "__main__":
    gr_unittest.run(qa_denomae_denoiser)
