#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA for awgn_snr: exact SNR per vector, run-time SNR changes, invalid vectors."""

import time

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest
from gnuradio.rfml import awgn_snr, dsp, mod_source

L = 1024


class qa_awgn_snr(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def run_vectors(self, x, **kwargs):
        """(y, noise, block) for input samples x through awgn_snr(**kwargs)."""
        blk = awgn_snr(**kwargs)
        out, noise = blocks.vector_sink_c(), blocks.vector_sink_c()
        self.tb.connect(blocks.vector_source_c(x.tolist()), blk, out)
        self.tb.connect((blk, 1), noise)
        self.tb.run()
        return np.asarray(out.data()), np.asarray(noise.data()), blk

    def test_001_every_vector_within_0p05_db(self):
        rng = np.random.default_rng(0)
        tb = gr.top_block()
        sink = blocks.vector_sink_c()
        tb.connect(mod_source("DQPSK", seed=1), blocks.head(gr.sizeof_gr_complex, 1000 * L), sink)
        tb.run()
        x = np.asarray(sink.data(), np.complex64)
        x *= rng.uniform(0.01, 10, 1000).repeat(L).astype(np.float32)  # varied powers
        for snr in (-10.0, 0.0, 20.0):
            self.tb = gr.top_block()
            y, noise, _ = self.run_vectors(x, snr_db=snr, vector_length=L, seed=2)
            self.assertEqual(len(y), 1000 * L)
            measured = dsp.snr_db(x.reshape(-1, L), noise.reshape(-1, L))
            worst = float(np.max(np.abs(measured - snr)))
            self.assertLess(worst, 0.05, f"{snr} dB: worst vector off by {worst:.4f} dB")
            np.testing.assert_allclose(y, x + noise, rtol=0, atol=1e-5 * np.abs(x).max())
            # The noise is white, circular and zero-mean: I and Q powers equal, and the
            # spectrum flat (no 64-bin band of the averaged periodogram 10% off the mean).
            n = noise.reshape(-1, L)
            n = n / np.sqrt(np.mean(np.abs(n) ** 2, axis=1))[:, None]  # unit-power rows
            self.assertAlmostEqual(float(np.mean(n.real**2)), 0.5, delta=0.005)
            self.assertLess(abs(float(np.mean(n.real * n.imag))), 0.005)
            psd = np.mean(np.abs(np.fft.fft(n, axis=1)) ** 2, axis=0).reshape(16, 64).mean(1)
            self.assertLess(float(np.max(np.abs(psd / psd.mean() - 1))), 0.1)

    def test_002_set_snr_db_while_running(self):
        blk = awgn_snr(snr_db=0.0, vector_length=L, seed=3)
        out, noise = blocks.vector_sink_c(), blocks.vector_sink_c()
        self.tb.connect(mod_source("GMSK", seed=4), blocks.throttle(8, 2e6), blk, out)
        self.tb.connect((blk, 1), noise)
        self.tb.start()
        deadline = time.time() + 20
        while len(out.data()) < 50 * L and time.time() < deadline:
            time.sleep(0.01)
        blk.set_snr_db(15.0)
        self.assertEqual(blk.snr_db(), 15.0)
        n_switch = len(out.data())
        while len(out.data()) < n_switch + 100 * L and time.time() < deadline:
            time.sleep(0.01)
        self.tb.stop()
        self.tb.wait()
        k = min(len(out.data()), len(noise.data())) // L * L
        y = np.asarray(out.data()[:k]).reshape(-1, L)
        w = np.asarray(noise.data()[:k]).reshape(-1, L)
        measured = dsp.snr_db(y - w, w)
        is_low = np.abs(measured - 0.0) < 0.05
        is_high = np.abs(measured - 15.0) < 0.05
        self.assertTrue(np.all(is_low | is_high), "a vector at neither SNR")
        first_high = int(np.argmax(is_high))
        self.assertTrue(is_low[:first_high].all() and is_high[first_high:].all())
        self.assertGreaterEqual(first_high, 50)
        self.assertGreaterEqual(len(measured) - first_high, 50)

    def test_003_invalid_vectors_counted_never_nan(self):
        L8 = 8
        x = np.ones((6, L8), np.complex64)
        x[1] = 0
        x[3, 2] = np.nan
        x[4, 5] = np.inf
        y, noise, blk = self.run_vectors(x.reshape(-1), snr_db=5.0, vector_length=L8, seed=1)
        self.assertEqual(blk.invalid_count(), 3)
        self.assertEqual(blk.vector_count(), 6)
        self.assertTrue(np.all(np.isfinite(y)) and np.all(np.isfinite(noise)))
        y = y.reshape(-1, L8)
        for i in (1, 3, 4):
            np.testing.assert_array_equal(y[i], 0)
        measured = dsp.snr_db(x[[0, 2, 5]], noise.reshape(-1, L8)[[0, 2, 5]])
        np.testing.assert_allclose(measured, 5.0, atol=1e-4)

    def test_004_single_output_and_seed(self):
        x = (np.arange(4 * L) % 7 + 1j).astype(np.complex64)
        ys = []
        for _ in range(2):
            tb = gr.top_block()
            sink = blocks.vector_sink_c()
            blk = awgn_snr(3.0, L, seed=9)  # a Python block must stay referenced while it runs
            tb.connect(blocks.vector_source_c(x.tolist()), blk, sink)
            tb.run()
            ys.append(np.asarray(sink.data()))
        np.testing.assert_array_equal(ys[0], ys[1])
        self.assertEqual(len(ys[0]), 4 * L)

    def test_005_bad_parameters(self):
        for snr in (float("nan"), 1e308, -1000.0, 100.5):
            with self.assertRaisesRegex(
                ValueError, r"snr_db must be a finite number in \[-100.0, 100.0\], got"
            ):
                awgn_snr(snr_db=snr)
        for length in (0, 2.7, "8"):
            with self.assertRaisesRegex(ValueError, "vector_length must be an integer >= 1"):
                awgn_snr(vector_length=length)

    def test_006_a_refused_setting_keeps_the_running_value(self):
        # set_snr_db(1e39) was accepted, then raised inside work(): the flowgraph hung
        blk = awgn_snr(snr_db=5.0, vector_length=L, seed=3)
        out, noise = blocks.vector_sink_c(), blocks.vector_sink_c()
        self.tb.connect(mod_source("GMSK", seed=4), blocks.throttle(8, 2e6), blk, out)
        self.tb.connect((blk, 1), noise)
        self.tb.start()
        for bad in (1e39, float("inf"), -1000.0):
            with self.assertRaisesRegex(ValueError, r"snr_db must be a finite number in"):
                blk.set_snr_db(bad)
            self.assertEqual(blk.snr_db(), 5.0)
        before = blk.vector_count()
        deadline = time.time() + 20
        while blk.vector_count() < before + 50 and time.time() < deadline:
            time.sleep(0.01)
        self.tb.stop()
        self.tb.wait()
        self.assertGreaterEqual(blk.vector_count(), before + 50, "vectors stopped flowing")
        k = min(len(out.data()), len(noise.data())) // L * L
        w = np.asarray(noise.data()[:k]).reshape(-1, L)
        y = np.asarray(out.data()[:k]).reshape(-1, L)
        np.testing.assert_allclose(dsp.snr_db(y - w, w), 5.0, atol=0.05)

    def test_007_extreme_accepted_snrs_give_finite_outputs(self):
        L8 = 64
        rng = np.random.default_rng(5)
        unit = np.exp(2j * np.pi * rng.random((3, L8))).astype(np.complex64)
        scales = np.array([1.0, 1e35, 1e-30], np.float32)[:, None]  # powers 1, 1e70, 1e-60
        x = (unit * scales).astype(np.complex64)
        for snr, invalid in ((-100.0, [1]), (100.0, [])):
            self.tb = gr.top_block()
            y, noise, blk = self.run_vectors(x.reshape(-1), snr_db=snr, vector_length=L8)
            self.assertTrue(np.isfinite(y).all() and np.isfinite(noise).all(), f"{snr} dB")
            y, noise = y.reshape(-1, L8), noise.reshape(-1, L8)
            bad = [i for i in range(3) if not np.any(noise[i])]
            self.assertEqual(bad, invalid, f"{snr} dB: vectors counted invalid")
            self.assertEqual(blk.invalid_count(), len(invalid))
            ok = [i for i in range(3) if i not in invalid]
            np.testing.assert_allclose(dsp.snr_db(x[ok], noise[ok]), snr, atol=0.01)

    def test_008_snr_tags_on_the_first_vector_and_each_change(self):
        L8 = 16
        x = np.ones(40 * L8, np.complex64)
        src = blocks.vector_source_c(x.tolist())
        blk = awgn_snr(snr_db=7.5, vector_length=L8)
        sink = blocks.vector_sink_c()
        self.tb.connect(src, blk, sink)
        self.tb.run()
        tags = [(t.offset, pmt.symbol_to_string(t.key), pmt.to_double(t.value))
                for t in sink.tags()]  # fmt: skip
        self.assertEqual(tags, [(0, "rfml_snr_db", 7.5)])
        # a change while running: the next vector after the change is tagged
        self.tb = gr.top_block()
        src = blocks.vector_source_c(x.tolist(), repeat=True)
        blk = awgn_snr(snr_db=7.5, vector_length=L8)
        sink = blocks.vector_sink_c()
        self.tb.connect(src, blocks.throttle(8, 50000), blk, sink)
        self.tb.start()
        time.sleep(0.3)
        blk.set_snr_db(-3.0)
        time.sleep(0.3)
        self.tb.stop()
        self.tb.wait()
        tags = [(t.offset, pmt.to_double(t.value)) for t in sink.tags()]
        self.assertEqual([v for _, v in tags], [7.5, -3.0])
        self.assertEqual(tags[0][0], 0)
        self.assertEqual(tags[1][0] % L8, 0, "the tag sits on a vector's first sample")
        self.assertGreater(tags[1][0], 0)


if __name__ == "__main__":
    gr_unittest.run(qa_awgn_snr)
