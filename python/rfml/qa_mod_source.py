#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA for mod_source: unit power, and GNU Radio's own demodulators recover the payload."""

import math

import numpy as np
import pmt
from gnuradio import blocks, digital, filter, gr, gr_unittest
from gnuradio.rfml import dsp, mod_source

SNR_DB = 20.0


def capture(block, n):
    """First n output samples of a source block (complex64 (n,))."""
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    tb.connect(block, blocks.head(gr.sizeof_gr_complex, n), sink)
    tb.run()
    return np.asarray(sink.data(), dtype=np.complex64)


def with_noise(x, snr_db=SNR_DB, seed=1):
    """x plus white Gaussian noise at snr_db, measured over the whole capture."""
    return dsp.add_awgn(x, snr_db, np.random.default_rng(seed))[0]


def run_demod(x, demod):
    """Bytes out of a demodulator (hier block complex -> bytes) fed with x."""
    tb = gr.top_block()
    sink = blocks.vector_sink_b()
    tb.connect(blocks.vector_source_c(x.tolist()), demod, sink)
    tb.run()
    return np.asarray(sink.data(), dtype=np.uint8)


def channel_filter(demod, sps=10, cutoff=1.0):
    """A receiver front end: low-pass to +-cutoff symbol rates, then demod (bytes out).

    gr-digital's FSK demodulators quadrature-demodulate whatever reaches them; at 10
    samples per symbol the noise outside the signal's band would otherwise dominate.
    """
    rx = gr.hier_block2(
        "channel_filter",
        gr.io_signature(1, 1, gr.sizeof_gr_complex),
        gr.io_signature(1, 1, gr.sizeof_char),
    )
    lpf = filter.fir_filter_ccf(1, filter.firdes.low_pass(1.0, sps, cutoff, 0.3))
    rx.connect(rx, lpf, demod, rx)
    return rx


def bit_errors(rx, tx, skip=300, window=1000, max_lag=400):
    """(errors, bits compared) of rx against tx after finding their alignment.

    The delay d (rx[i] ~ tx[i - d]) is the lag in [-max_lag, max_lag] with the fewest
    errors on ``window`` bits after the demodulator's first ``skip`` bits (its
    synchronisation transient); errors are then counted on every overlapping bit after
    ``skip``, except the last 50 (still in the demodulator's filters at the end).
    """
    seg = rx[skip : skip + window]
    best = None
    for d in range(-max_lag, max_lag + 1):
        lo = skip - d
        if lo < 0 or lo + window > len(tx):
            continue
        e = int(np.count_nonzero(seg != tx[lo : lo + window]))
        if best is None or e < best[0]:
            best = (e, d)
    d = best[1]
    i = np.arange(skip, len(rx) - 50)
    i = i[(i - d >= 0) & (i - d < len(tx))]
    return int(np.count_nonzero(rx[i] != tx[i - d])), len(i)


def ook_energy_detector(x, sps):
    """Bits of an OOK signal with integer sps: |x| integrated over a symbol, best phase."""
    mag = np.convolve(np.abs(x), np.ones(sps) / sps, mode="valid")
    phases = [mag[p::sps] for p in range(sps)]
    s = max(phases, key=np.var)
    return (s > s.mean()).astype(np.uint8)


class qa_mod_source(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def tx_bits(self, n_bytes, seed=0):
        return np.unpackbits(mod_source.payload_bytes(n_bytes, seed))

    def test_001_unit_power_every_class(self):
        for m in ("OOK", "GFSK", "GMSK", "DBPSK", "DQPSK", "OFDM"):
            x = capture(mod_source(modulation=m, seed=3), 400_000)
            p = float(np.mean(np.abs(x) ** 2))
            self.assertAlmostEqual(p, 1.0, delta=0.02, msg=f"{m} power {p:.4f}")

    def test_002_unit_power_randomised_parameters(self):
        cases = [
            dict(modulation="OOK", pulse="rrc", excess_bw=0.1, samples_per_symbol=4),
            dict(modulation="OOK", pulse="gaussian", bt=0.1, samples_per_symbol=13.7),
            dict(modulation="DBPSK", pulse="rect", samples_per_symbol=4.5),
            dict(modulation="DQPSK", pulse="gaussian", bt=0.5, samples_per_symbol=20),
            dict(modulation="DQPSK", excess_bw=0.5, samples_per_symbol=7.3),
            dict(modulation="DBPSK", excess_bw=0.1, samples_per_symbol=16),
            dict(modulation="GFSK", mod_index=0.1, bt=0.1, samples_per_symbol=4.5),
            dict(modulation="GFSK", mod_index=1.0, bt=0.5, samples_per_symbol=20),
            dict(modulation="GMSK", bt=0.3, samples_per_symbol=11.25),
            dict(modulation="OFDM", ofdm_fft_len=256, ofdm_cp_len=32, ofdm_occupied=0.5),
            dict(modulation="OFDM", ofdm_fft_len=128, ofdm_cp_len=9, ofdm_payload_bps=1),
        ]
        for kw in cases:
            x = capture(mod_source(seed=11, **kw), 400_000)
            p = float(np.mean(np.abs(x) ** 2))
            self.assertAlmostEqual(p, 1.0, delta=0.02, msg=f"{kw}: power {p:.4f}")

    def test_004_random_draws_across_documented_ranges(self):
        rng = np.random.default_rng(2024)
        for i in range(24):
            m = ("OOK", "GFSK", "GMSK", "DBPSK", "DQPSK", "OFDM")[i % 6]
            fft = int(rng.choice([64, 128, 256, 512]))
            kw = dict(
                samples_per_symbol=float(rng.uniform(4, 20)),
                bt=float(rng.uniform(0.1, 0.5)),
                excess_bw=float(rng.uniform(0.1, 0.5)),
                mod_index=float(rng.uniform(0.1, 1.0)) if m == "GFSK" else None,
                pulse=str(rng.choice(["rrc", "rect", "gaussian"])),
                ofdm_fft_len=fft,
                ofdm_cp_len=int(fft * rng.choice([1 / 16, 1 / 8, 1 / 4])),
                ofdm_occupied=float(rng.uniform(0.6, 0.9)),
                ofdm_payload_bps=int(rng.integers(1, 4)),
            )
            x = capture(mod_source(m, seed=i, **kw), 400_000)
            p = float(np.mean(np.abs(x) ** 2))
            self.assertAlmostEqual(p, 1.0, delta=0.02, msg=f"{m} {kw}: power {p:.4f}")

    def test_003_same_seed_same_signal(self):
        a = capture(mod_source("DQPSK", seed=5), 5000)
        b = capture(mod_source("DQPSK", seed=5), 5000)
        c = capture(mod_source("DQPSK", seed=6), 5000)
        np.testing.assert_array_equal(a, b)
        self.assertGreater(float(np.mean(np.abs(a - c))), 0.5)

    def test_010_ook_energy_detector(self):
        for pulse in ("rect", "gaussian", "rrc"):
            x = capture(mod_source("OOK", pulse=pulse, seed=7), 200_000)
            rx = ook_energy_detector(with_noise(x), 10)
            errors, n = bit_errors(rx, self.tx_bits(3000, seed=7), skip=50)
            self.assertGreater(n, 19_000)
            self.assertEqual(errors, 0, f"OOK {pulse}: {errors} bit errors in {n}")

    def test_011_gfsk_demod(self):
        for h in (1.0, 0.5):
            x = capture(mod_source("GFSK", mod_index=h, seed=8), 200_000)
            demod = digital.gfsk_demod(samples_per_symbol=10, sensitivity=math.pi * h / 10)
            rx = run_demod(with_noise(x), channel_filter(demod))
            errors, n = bit_errors(rx, self.tx_bits(3000, seed=8))
            self.assertGreater(n, 19_000)
            self.assertEqual(errors, 0, f"GFSK h={h}: {errors} bit errors in {n}")

    def test_012_gmsk_demod(self):
        x = capture(mod_source("GMSK", seed=9), 200_000)
        rx = run_demod(with_noise(x), channel_filter(digital.gmsk_demod(samples_per_symbol=10)))
        errors, n = bit_errors(rx, self.tx_bits(3000, seed=9))
        self.assertGreater(n, 19_000)
        self.assertEqual(errors, 0, f"GMSK: {errors} bit errors in {n}")

    def test_013_dbpsk_dqpsk_psk_demod(self):
        # psk_demod's default loop bandwidths (2*pi/100) slip a cycle about once in 20000
        # bits at 20 dB, also on psk_mod's own output; 2*pi/200 does not.
        loop_bw = 2 * math.pi / 200
        for m, points in (("DBPSK", 2), ("DQPSK", 4)):
            x = capture(mod_source(m, seed=10), 200_000)
            demod = digital.psk_demod(
                constellation_points=points,
                mod_code="gray",
                differential=True,
                samples_per_symbol=10,
                excess_bw=0.35,
                freq_bw=loop_bw,
                timing_bw=loop_bw,
                phase_bw=loop_bw,
            )
            rx = run_demod(with_noise(x), demod)
            errors, n = bit_errors(rx, self.tx_bits(6000, seed=10), skip=1000)
            self.assertGreater(n, 15_000)
            self.assertEqual(errors, 0, f"{m}: {errors} bit errors in {n}")

    def test_014_ofdm_rx_recovers_packets(self):
        src = mod_source("OFDM", seed=12)
        p = src.ofdm_packet_len
        x = capture(src, 120_000)
        gap = np.zeros(2000, np.complex64)  # ofdm_rx syncs on a frame start; flush at end
        noisy = with_noise(np.concatenate([gap, x, gap]))
        rx = run_demod(noisy, digital.ofdm_rx(**src.ofdm_params))
        sent = len(x) // src.ofdm_frame_len
        tx = mod_source.payload_bytes((sent + 1) * p, seed=12).reshape(-1, p)
        index = {pkt.tobytes(): k for k, pkt in enumerate(tx)}
        self.assertEqual(len(rx) % p, 0)
        got = [index.get(pkt.tobytes(), -1) for pkt in rx.reshape(-1, p)]
        self.assertNotIn(-1, got, "a packet that was not sent (ofdm_rx checks the CRC)")
        self.assertEqual(got, sorted(set(got)))
        # gr-digital's ofdm_rx misses a few back-to-back frames even without noise (its
        # own ofdm_tx -> ofdm_rx pair: 69 of 74 packets here); every packet it does
        # output must be right.
        self.assertGreaterEqual(len(got), 0.9 * sent, f"{len(got)} of {sent} packets")

    def test_015_max_samples_ends_the_stream_just_past_them(self):
        cases = [("OOK", {}), ("GFSK", {"samples_per_symbol": 6.5}), ("GMSK", {}),
                 ("DBPSK", {"pulse": "gaussian"}), ("DQPSK", {"samples_per_symbol": 5.3}),
                 ("OFDM", {})]  # fmt: skip
        n = 50_000
        for name, kw in cases:
            tb = gr.top_block()
            src = mod_source(name, seed=3, max_samples=n, **kw)
            sink = blocks.vector_sink_c()
            tb.connect(src, sink)
            tb.run()  # ends by itself
            got = np.asarray(sink.data(), np.complex64)
            frame = src.ofdm_frame_len if name == "OFDM" else 0
            self.assertGreaterEqual(len(got), n, name)
            self.assertLess(len(got), 1.05 * n + 2 * frame + 2000, name)
            # the same samples as the endless source
            tb = gr.top_block()
            head, ref = blocks.head(gr.sizeof_gr_complex, n), blocks.vector_sink_c()
            tb.connect(mod_source(name, seed=3, **kw), head, ref)
            tb.run()
            np.testing.assert_array_equal(got[:n], np.asarray(ref.data(), np.complex64))
        with self.assertRaisesRegex(ValueError, "max_samples must be >= 1"):
            mod_source("OOK", max_samples=0)

    def test_020_errors_name_the_problem(self):
        with self.assertRaisesRegex(ValueError, "unknown class 'QAM'"):
            mod_source("QAM")
        with self.assertRaisesRegex(ValueError, "GMSK has modulation index 0.5"):
            mod_source("GMSK", mod_index=0.7)
        with self.assertRaisesRegex(ValueError, "samples_per_symbol must be >= 2"):
            mod_source("OOK", samples_per_symbol=1.5)
        with self.assertRaisesRegex(ValueError, "lower ofdm_packet_len"):
            mod_source("OFDM", ofdm_packet_len=4000)
        with self.assertRaisesRegex(ValueError, "lower ofdm_fft_len"):
            mod_source("OFDM", ofdm_fft_len=1024, ofdm_cp_len=128)
        with self.assertRaisesRegex(ValueError, "unknown pulse 'sinc'"):
            mod_source("DBPSK", pulse="sinc")

    def test_021_excess_bw_checked_for_every_shaped_class(self):
        # DBPSK/DQPSK took excess_bw=0 and gave NaN samples; 5 was accepted too
        for m in ("OOK", "DBPSK", "DQPSK"):
            for pulse in ("rrc", "rect"):
                for bad in (0, 5, -0.1, float("nan")):
                    with self.assertRaisesRegex(
                        ValueError, r"excess_bw must be a finite number in \(0, 1\]"
                    ):
                        mod_source(m, pulse=pulse, excess_bw=bad)
        for m in ("DBPSK", "DQPSK"):
            x = capture(mod_source(m, excess_bw=1.0), 20000)
            self.assertTrue(np.isfinite(x).all())
            self.assertAlmostEqual(float(np.mean(np.abs(x) ** 2)), 1.0, delta=0.05)

    def test_022_class_tag_on_the_first_sample(self):
        for m in ("OOK", "GFSK", "GMSK", "DBPSK", "DQPSK", "OFDM"):
            tb = gr.top_block()
            sink = blocks.vector_sink_c()
            tb.connect(mod_source(m, seed=2), blocks.head(gr.sizeof_gr_complex, 20000), sink)
            tb.run()
            tags = [
                (t.offset, pmt.symbol_to_string(t.value))
                for t in sink.tags()
                if pmt.symbol_to_string(t.key) == "rfml_class"
            ]
            self.assertEqual(tags, [(0, m)])


if __name__ == "__main__":
    gr_unittest.run(qa_mod_source)
