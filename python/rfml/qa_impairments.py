#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA for the C++ impairments block and kernels against the float64 references in dsp."""

import numpy as np
from gnuradio import blocks, gr, gr_unittest
from gnuradio.rfml import (
    add_awgn,
    add_awgn_planar,
    dsp,
    gaussian_rng,
    impairment_kernel,
    impairments,
)

ALL = dict(freq_offset=0.013, phase=0.4, phase_noise_std=0.01, iq_gain_db=0.8,
           iq_phase_deg=4.0, dc_offset=0.05 - 0.02j)  # fmt: skip


class cpp_normals:
    """A numpy-Generator stand-in for the references: rfml.gaussian_rng's numbers."""

    def __init__(self, seed):
        self.rng = gaussian_rng(seed)

    def standard_normal(self, size, dtype=np.float32):
        return self.rng.normal(int(np.prod(size))).reshape(size).astype(dtype)


def noise_input(n, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(
        np.complex64
    )


class qa_impairments(gr_unittest.TestCase):
    def test_001_kernel_matches_float64_reference(self):
        x = noise_input(200_000, seed=1)
        for drift in (0.0, 30.0, -400.0):
            kw = dict(ALL, timing_drift_ppm=drift)
            ref, _ = dsp.apply_impairments(
                x.astype(np.complex128), dsp.Impairments(**kw), cpp_normals(5)
            )
            y = impairment_kernel(**kw, seed=5).process(x)
            # The reference stops one output earlier at a buffer end when the last
            # interpolation tap is the newest input; the common part is compared.
            self.assertLessEqual(abs(len(y) - len(ref)), 1)
            n = min(len(y), len(ref))
            # float32 samples, angles in float64: within 2e-6 of max |x| (about 4.5)
            err = float(np.max(np.abs(y[:n] - ref[:n])))
            self.assertLess(err, 2e-6 * float(np.abs(x).max()), f"drift {drift}: {err}")

    def test_002_block_equals_kernel_bit_for_bit(self):
        x = noise_input(300_000, seed=2)
        kw = dict(ALL, timing_drift_ppm=50.0)
        want = impairment_kernel(**kw, seed=9).process(x)
        for max_items in (0, 777):  # default buffers, and small odd ones
            tb = gr.top_block()
            blk = impairments(**kw, seed=9)
            if max_items:
                blk.set_max_noutput_items(max_items)
            sink = blocks.vector_sink_c()
            tb.connect(blocks.vector_source_c(x.tolist()), blk, sink)
            tb.run()
            y = np.asarray(sink.data(), np.complex64)
            self.assertGreater(len(y), len(x))
            np.testing.assert_array_equal(y.view(np.uint32), want[: len(y)].view(np.uint32))
            self.assertEqual(blk.samples(), len(y))

    def test_003_drift_change_keeps_sampling_instants_continuous(self):
        f0 = 0.01
        x = np.exp(2j * np.pi * f0 * np.arange(100_000)).astype(np.complex64)
        k = impairment_kernel(timing_drift_ppm=1000.0)
        a = k.process(x[:50_000])
        k.set_params(timing_drift_ppm=-1000.0)
        b = k.process(x[50_000:])
        y = np.concatenate([a, b])
        step = np.angle(y[1:] * np.conj(y[:-1])) / (2 * np.pi * f0)  # input samples/output
        np.testing.assert_allclose(step[100 : len(a) - 2], 1 / 1.001, atol=1e-4)
        np.testing.assert_allclose(step[len(a) + 2 : -100], 1 / 0.999, atol=1e-4)
        self.assertEqual(k.params()["timing_drift_ppm"], -1000.0)

    def test_004_bad_parameters_named(self):
        with self.assertRaisesRegex(ValueError, "phase_noise_std must be >= 0"):
            impairments(phase_noise_std=-1.0)
        with self.assertRaisesRegex(ValueError, "timing_drift_ppm must be > -1e6"):
            impairment_kernel(timing_drift_ppm=-2e6)
        with self.assertRaisesRegex(ValueError, "one stream"):
            impairment_kernel().process(np.zeros((2, 3), np.complex64))

    def test_005_gaussian_rng_is_standard_normal_and_seeded(self):
        from scipy import stats

        z = gaussian_rng(11).normal(1_000_000)
        self.assertEqual(z.dtype, np.float32)
        np.testing.assert_array_equal(z, gaussian_rng(11).normal(1_000_000))
        # the same stream however it is drawn (each 64-bit draw gives two numbers)
        g = gaussian_rng(11)
        parts = [g.normal(k) for k in (1, 3, 1000, 7, 998_989)]
        np.testing.assert_array_equal(np.concatenate(parts), z)
        self.assertGreater(float(np.mean(z != gaussian_rng(12).normal(1_000_000))), 0.999)
        # Kolmogorov-Smirnov against N(0, 1): the ziggurat's layers, wedges and tail.
        self.assertGreater(stats.kstest(z, "norm").pvalue, 1e-3)
        self.assertAlmostEqual(float(np.mean(z**4)), 3.0, delta=0.05)
        # Consecutive numbers are independent (no lag-1 correlation).
        self.assertLess(abs(float(np.corrcoef(z[:-1], z[1:])[0, 1])), 5e-3)

    def test_006_add_awgn_matches_reference_and_exact_snr(self):
        rng = np.random.default_rng(3)
        x = noise_input(64 * 512, seed=4).reshape(64, 512)
        x *= rng.uniform(1e-3, 1e3, size=(64, 1)).astype(np.float32)
        x[5, 9] = np.nan
        x[6] = 0
        snr = rng.uniform(-10, 30, size=64)
        y, noise, valid = add_awgn(x, snr, gaussian_rng(21))
        ref_y, ref_noise, ref_valid = dsp.add_awgn(x.astype(np.complex128), snr, cpp_normals(21))
        np.testing.assert_array_equal(valid, ref_valid)
        self.assertEqual(list(np.flatnonzero(~valid)), [5, 6])
        np.testing.assert_array_equal(y[~valid], 0)
        np.testing.assert_array_equal(noise[~valid], 0)
        # float32 output: within 1e-6 of each vector's amplitude
        v = valid
        scale = np.abs(x[v]).max(axis=1, keepdims=True) + np.abs(ref_noise[v]).max(
            axis=1, keepdims=True
        )
        self.assertLess(float(np.max(np.abs(y[v] - ref_y[v]) / scale)), 1e-6)
        measured = dsp.snr_db(x[valid], noise[valid])
        np.testing.assert_allclose(measured, snr[valid], atol=1e-4)

    def test_007_planar_layout_and_rows_of_a_batch(self):
        x = noise_input(10 * 256, seed=6).reshape(10, 256)
        y, _, _ = add_awgn(x, 5.0, gaussian_rng(1), return_noise=False)
        iq = np.full((12, 2, 256), np.nan, np.float32)
        clean = np.full((12, 2, 256), np.nan, np.float32)
        _, valid, invalid = add_awgn_planar(x, 5.0, gaussian_rng(1), iq=iq[1:11], clean=clean[1:11])
        self.assertEqual(invalid, 0)
        self.assertTrue(valid.all())
        np.testing.assert_array_equal(iq[1:11, 0], y.real)
        np.testing.assert_array_equal(iq[1:11, 1], y.imag)
        np.testing.assert_array_equal(clean[1:11, 0], x.real)
        np.testing.assert_array_equal(clean[1:11, 1], x.imag)
        self.assertTrue(np.isnan(iq[0]).all() and np.isnan(iq[11]).all())  # rows untouched
        with self.assertRaisesRegex(ValueError, "iq must be a writeable C-contiguous float32"):
            add_awgn_planar(x, 5.0, gaussian_rng(1), iq=np.zeros((10, 2, 256)))
        with self.assertRaisesRegex(ValueError, "snr_db must be finite"):
            add_awgn(x, np.inf, gaussian_rng(1))
        with self.assertRaisesRegex(ValueError, "3 values for 10 vectors"):
            add_awgn(x, [1.0, 2.0, 3.0], gaussian_rng(1))


if __name__ == "__main__":
    gr_unittest.run(qa_impairments)
