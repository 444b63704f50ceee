#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA for loopback: identity, each impairment measured, agreement with dsp, BladeRF errors."""

import numpy as np
from gnuradio import blocks, gr, gr_unittest
from gnuradio.rfml import dsp, gaussian_rng, loopback

N = 200_000


def run(x, **kwargs):
    """Output of loopback(**kwargs) for the input samples x (complex64 array)."""
    tb = gr.top_block()
    blk = loopback(**kwargs)
    sink = blocks.vector_sink_c()
    tb.connect(blocks.vector_source_c(x.tolist()), blk, sink)
    tb.run()
    return np.asarray(sink.data(), dtype=np.complex64)


def noise_input(n=N, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64) / np.sqrt(2)


class cpp_normals:
    """dsp.apply_impairments' rng drawing the C++ block's phase-noise steps (same seed)."""

    def __init__(self, seed):
        self.rng = gaussian_rng(seed)

    def standard_normal(self, n, dtype=np.float32):
        return self.rng.normal(n).astype(dtype)


def tone(f, n=N):
    return np.exp(2j * np.pi * f * np.arange(n)).astype(np.complex64)


class qa_loopback(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def test_001_all_zero_is_identity(self):
        x = noise_input()
        np.testing.assert_array_equal(run(x), x)

    def test_002_matches_dsp_reference_across_buffers(self):
        x = noise_input(seed=1)
        kw = dict(freq_offset=0.013, phase=0.4, phase_noise_std=0.01, iq_gain_db=0.8,
                  iq_phase_deg=4.0, dc_offset=0.05 - 0.02j)  # fmt: skip
        y = run(x, seed=5, **kw)
        # the float64 reference on the same phase-noise steps
        ref, _ = dsp.apply_impairments(x.astype(np.complex128), dsp.Impairments(**kw),
                                       cpp_normals(5))  # fmt: skip
        self.assertEqual(len(y), len(x))
        # the C++ stage works in float32 (angles in float64): within 2e-6 of the input's
        # amplitude (max |x| about 5) on every sample
        np.testing.assert_allclose(y, ref, rtol=0, atol=2e-6 * float(np.abs(x).max()))

    def test_003_frequency_offset_and_phase_measured(self):
        y = run(np.ones(N, np.complex64), freq_offset=0.02, phase=1.0)
        slope = np.angle(np.sum(y[1:] * np.conj(y[:-1]))) / (2 * np.pi)
        self.assertAlmostEqual(slope, 0.02, delta=1e-6)
        self.assertAlmostEqual(float(np.angle(y[0])), 1.0, delta=1e-5)
        np.testing.assert_allclose(np.abs(y), 1.0, atol=1e-4)

    def test_004_phase_noise_increments(self):
        std = 0.02
        y = run(np.ones(N, np.complex64), phase_noise_std=std, seed=3)
        steps = np.angle(y[1:] * np.conj(y[:-1]))
        self.assertAlmostEqual(float(np.std(steps)), std, delta=0.02 * std)
        self.assertLess(abs(float(np.mean(steps))), 5 * std / np.sqrt(N))
        lag = 100  # a random walk: the variance of the phase change grows with the lag
        walk = np.unwrap(np.angle(y))
        var = float(np.var(walk[lag:] - walk[:-lag]))
        self.assertAlmostEqual(var / (lag * std**2), 1.0, delta=0.1)
        np.testing.assert_allclose(np.abs(y), 1.0, atol=1e-5)

    def test_008_same_seed_same_bytes(self):
        """Generated data sets must be byte-identical per seed, whatever the work() sizes."""
        x = noise_input(seed=6)
        kw = dict(freq_offset=0.003, phase_noise_std=0.01, timing_drift_ppm=30, iq_gain_db=0.5,
                  iq_phase_deg=3.0, dc_offset=0.01, seed=9)  # fmt: skip
        a, b = run(x, **kw), run(x, **kw)
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
        c = run(x, **{**kw, "seed": 10})
        self.assertGreater(float(np.abs(a - c).max()), 0.01)

    def test_005_iq_imbalance_image_and_dc(self):
        g_db, phi_deg, dc = 1.0, 5.0, 0.1 + 0.05j
        y = run(tone(1 / 16), iq_gain_db=g_db, iq_phase_deg=phi_deg, dc_offset=dc)
        spec = np.fft.fft(y) / N
        k = N // 16
        g, phi = 10 ** (g_db / 20), np.deg2rad(phi_deg)
        mu, nu = (1 + g * np.exp(-1j * phi)) / 2, (1 - g * np.exp(1j * phi)) / 2
        self.assertAlmostEqual(abs(spec[k]), abs(mu), delta=1e-4)
        self.assertAlmostEqual(abs(spec[-k]), abs(nu), delta=1e-4)  # the image
        self.assertAlmostEqual(complex(spec[0]), dc, delta=1e-4)
        # I passes unchanged; Q = g*(cos(phi)*Q - sin(phi)*I)
        x = tone(1 / 16)
        np.testing.assert_allclose(y.real - dc.real, x.real, atol=1e-5)
        q = g * (np.cos(phi) * x.imag - np.sin(phi) * x.real)
        np.testing.assert_allclose(y.imag - dc.imag, q, atol=1e-5)

    def test_006_timing_drift(self):
        ppm, f0 = 500.0, 0.01
        y = run(tone(f0), timing_drift_ppm=ppm)
        expected = N * (1 + ppm * 1e-6)
        self.assertLess(abs(len(y) - expected), 20, f"{len(y)} samples, expected {expected}")
        core = y[1000:-1000]
        f = np.angle(np.sum(core[1:] * np.conj(core[:-1]))) / (2 * np.pi)
        self.assertAlmostEqual(f / f0, 1 / (1 + ppm * 1e-6), delta=1e-6)
        np.testing.assert_allclose(np.abs(core), 1.0, atol=1e-3)

    def test_007_runtime_setters(self):
        blk = loopback(freq_offset=0.01, dc_offset=0.1)
        blk.set_freq_offset(0.02)
        blk.set_dc_offset(0.5)
        self.assertEqual(blk.impairments.freq_offset, 0.02)
        self.assertEqual(blk.stage.params()["dc_offset"], 0.5)
        self.assertEqual(blk.stage.params()["freq_offset"], 0.02)
        blk.set_timing_drift_ppm(10)
        self.assertEqual(blk.stage.params()["timing_drift_ppm"], 10)
        with self.assertRaisesRegex(ValueError, "without impairments .* phase_noise_std cannot"):
            loopback().set_phase_noise_std(0.1)
        # A frequency change while running keeps the phase continuous.
        x = np.ones(N, np.complex64)
        src, sink = blocks.vector_source_c(x.tolist()), blocks.vector_sink_c()
        blk = loopback(freq_offset=0.01)
        self.tb.connect(src, blk, sink)
        blk.set_freq_offset(0.03)
        self.tb.run()
        y = np.asarray(sink.data())
        slope = np.angle(y[1:] * np.conj(y[:-1])) / (2 * np.pi)
        np.testing.assert_allclose(slope, 0.03, atol=1e-5)

    def test_010_bladerf_absent_names_device_and_suggests_sim(self):
        with self.assertRaises(RuntimeError) as ctx:
            loopback(radio="bladerf", device_args="serial=abc123")
        msg = str(ctx.exception)
        self.assertIn("'driver=bladerf,serial=abc123'", msg)
        self.assertIn("radio='sim'", msg)
        self.assertEqual(len(msg.splitlines()), 1)
        with self.assertRaisesRegex(RuntimeError, "for device string 'driver=bladerf'"):
            loopback(radio="bladerf", device_args="driver=bladerf")
        with self.assertRaisesRegex(ValueError, "names another driver"):
            loopback(radio="bladerf", device_args="driver=uhd")

    def test_011_loopback_modes_checked_per_board(self):
        with self.assertRaisesRegex(ValueError, "not supported on any BladeRF"):
            loopback(radio="bladerf", loopback_mode="bb_lpf")
        self.assertEqual(loopback.check_mode("rf_bist", "bladerf2"), "rfic_bist")
        self.assertEqual(loopback.check_mode("RF_LNA2", "bladerf1"), "rf_lna2")
        with self.assertRaisesRegex(ValueError, "not supported on a bladerf2"):
            loopback.check_mode("bb_txlpf_rxlpf", "bladerf2")
        with self.assertRaisesRegex(ValueError, "not supported on a bladerf1"):
            loopback.check_mode("rfic_bist", "bladerf1")
        with self.assertRaisesRegex(ValueError, "unknown radio 'usrp'"):
            loopback(radio="usrp")


if __name__ == "__main__":
    gr_unittest.run(qa_loopback)
