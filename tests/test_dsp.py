# SPDX-License-Identifier: GPL-3.0-or-later
"""dsp: exact per-vector SNR, impairments streaming and identity, pulse power maths."""

import numpy as np
import pytest
from gnuradio.rfml import dsp


def cnoise(shape, seed=0, dtype=np.complex64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_add_awgn_exact_per_vector_snr(dtype):
    x = (cnoise((500, 256)) * np.linspace(0.001, 100, 500)[:, None]).astype(dtype)
    snr = np.random.default_rng(1).uniform(-20, 30, 500)
    y, noise, valid = dsp.add_awgn(x, snr, np.random.default_rng(2))
    assert y.dtype == dtype and noise.dtype == dtype and valid.all()
    err = np.abs(dsp.snr_db(x, noise) - snr)
    assert err.max() < (1e-3 if dtype == np.complex64 else 1e-9)
    np.testing.assert_allclose(y, x + noise, rtol=1e-6)


def test_add_awgn_invalid_vectors_are_zero_not_nan():
    x = cnoise((4, 64))
    x[1] = 0
    x[2, 7] = np.nan
    x[3, 0] = np.inf
    y, noise, valid = dsp.add_awgn(x, 0.0, np.random.default_rng(0))
    assert valid.tolist() == [True, False, False, False]
    assert np.isfinite(y).all() and np.isfinite(noise).all()
    assert not y[1:].any() and not noise[1:].any()


def test_add_awgn_same_rng_state_same_noise_and_errors():
    x = cnoise((3, 100))
    a = dsp.add_awgn(x, 5.0, np.random.default_rng(7))[0]
    b = dsp.add_awgn(x, 5.0, np.random.default_rng(7))[0]
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="snr_db must be finite"):
        dsp.add_awgn(x, np.inf, np.random.default_rng(0))
    with pytest.raises(ValueError, match="vectors along the last axis"):
        dsp.add_awgn(np.zeros((3, 0), np.complex64), 0.0, np.random.default_rng(0))


def test_impairments_all_zero_is_identity():
    x = cnoise(10_000)
    y, _ = dsp.apply_impairments(x, dsp.Impairments(), np.random.default_rng(0))
    np.testing.assert_array_equal(y, x)
    assert y.dtype == np.complex64


@pytest.mark.parametrize("drift", [0.0, 250.0, -400.0])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_impairments_streaming_equals_one_call_bit_for_bit(drift, dtype):
    imp = dsp.Impairments(
        freq_offset=-0.031,
        phase_noise_std=0.005,
        timing_drift_ppm=drift,
        iq_gain_db=-0.7,
        iq_phase_deg=3.0,
        dc_offset=0.02j,
        phase=2.0,
    )
    x = cnoise(30_000, seed=3, dtype=dtype)
    whole, _ = dsp.apply_impairments(x, imp, np.random.default_rng(4))
    for cuts in (
        [1, 4000, 4003, 17_000],
        np.sort(np.random.default_rng(9).integers(0, 30_000, 40)),
    ):
        parts, state, rng = [], None, np.random.default_rng(4)
        for chunk in np.array_split(x, cuts):
            y, state = dsp.apply_impairments(chunk, imp, rng, state)
            parts.append(y)
        streamed = np.concatenate(parts)
        assert streamed.dtype == whole.dtype == dtype
        np.testing.assert_array_equal(streamed, whole)
    if drift == 0:
        assert len(whole) == len(x)


def test_frequency_change_keeps_phase_continuous():
    x = np.ones(2000, np.complex64)
    rng = np.random.default_rng(0)
    a, state = dsp.apply_impairments(x, dsp.Impairments(freq_offset=0.01), rng)
    b, _ = dsp.apply_impairments(x, dsp.Impairments(freq_offset=0.05), rng, state)
    y = np.concatenate([a, b])
    steps = np.angle(y[1:] * np.conj(y[:-1])) / (2 * np.pi)
    np.testing.assert_allclose(steps[:2000], 0.01, atol=1e-6)
    np.testing.assert_allclose(steps[2000:], 0.05, atol=1e-6)  # no jump at the change


def test_timing_drift_rate_and_tone_frequency():
    ppm, f0, n = 1000.0, 0.02, 100_000
    x = np.exp(2j * np.pi * f0 * np.arange(n))
    y, _ = dsp.apply_impairments(x, dsp.Impairments(timing_drift_ppm=ppm), np.random.default_rng(0))
    assert abs(len(y) - n * (1 + ppm * 1e-6)) < 4
    f = np.angle(np.sum(y[1:] * np.conj(y[:-1]))) / (2 * np.pi)
    assert f == pytest.approx(f0 / (1 + ppm * 1e-6), rel=1e-7)
    assert np.abs(np.abs(y[10:-10]) - 1).max() < 1e-4  # cubic interpolation of a slow tone


def test_impairments_bad_values():
    with pytest.raises(ValueError, match="phase_noise_std must be >= 0"):
        dsp.Impairments(phase_noise_std=-1)
    with pytest.raises(ValueError, match="freq_offset must be finite"):
        dsp.Impairments(freq_offset=np.nan)
    with pytest.raises(ValueError, match=r"one stream \(N,\)"):
        dsp.apply_impairments(np.zeros((2, 2), np.complex64), dsp.Impairments(), None)


@pytest.mark.parametrize("pulse", dsp.PULSES)
@pytest.mark.parametrize("rate", [10.0, 4.5, 13.7])
def test_pfb_output_power_matches_gnuradio_resampler(pulse, rate):
    """The closed form against GNU Radio's pfb_arb_resampler_ccf fed OOK symbols."""
    from gnuradio import blocks, filter, gr

    nfilts = 32
    proto = dsp.pulse_taps(pulse, nfilts, excess_bw=0.25, bt=0.3)
    sym = np.random.default_rng(5).integers(0, 2, 100_000).astype(np.complex64)
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    resampler = filter.pfb_arb_resampler_ccf(rate, proto.astype(np.float32).tolist(), nfilts)
    tb.connect(blocks.vector_source_c(sym.tolist()), resampler, sink)
    tb.run()
    y = np.asarray(sink.data())[200:-200]
    predicted = dsp.pfb_output_power(proto, nfilts, rate, mean=0.5, var=0.25)
    assert np.mean(np.abs(y) ** 2) == pytest.approx(predicted, rel=0.01)


def test_rrc_unit_energy_and_zero_isi_when_matched():
    sps = 8
    h = dsp.rrc_taps(sps, 0.35, span=16)
    assert np.sum(h**2) == pytest.approx(1.0)
    rc = np.convolve(h, h)
    centre = len(rc) // 2
    at_symbols = rc[centre % sps :: sps]
    others = np.delete(at_symbols, centre // sps)
    assert np.abs(others).max() < 0.01 * rc[centre]


@pytest.mark.parametrize("fft_len,cp_len,bps,packet_len", [(64, 16, 2, 560), (256, 64, 1, 97)])
def test_ofdm_frame_power_matches_ofdm_tx(fft_len, cp_len, bps, packet_len):
    from gnuradio import blocks, digital, gr
    from gnuradio.rfml.mod_source import ofdm_carriers

    data, pilots = ofdm_carriers(fft_len, 0.8)
    tx = digital.ofdm_tx(fft_len=fft_len, cp_len=cp_len, packet_length_tag_key="len",
                         occupied_carriers=(data,), pilot_carriers=(pilots,),
                         pilot_symbols=((1.0,) * len(pilots),), bps_payload=bps)  # fmt: skip
    payload = np.random.default_rng(0).integers(0, 256, 40 * packet_len).tolist()
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    tb.connect(blocks.vector_source_b(payload),
               blocks.stream_to_tagged_stream(1, 1, packet_len, "len"), tx, sink)  # fmt: skip
    tb.run()
    measured = np.mean(np.abs(np.asarray(sink.data())) ** 2)
    const = (digital.constellation_bpsk(), digital.constellation_qpsk())[bps - 1]
    p_const = np.mean(np.abs(np.asarray(const.points())) ** 2)
    predicted = dsp.ofdm_frame_power(
        tx.sync_words, data, pilots, ((1.0,) * len(pilots),), fft_len, cp_len, bps, packet_len,
        payload_power=p_const,
    )  # fmt: skip
    assert measured == pytest.approx(predicted, rel=0.005)
