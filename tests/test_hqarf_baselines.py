# SPDX-License-Identifier: GPL-3.0-or-later
"""Classical codec baselines (dsp/codec.py): real bytes, exact sizes, measured fidelity."""

import numpy as np
import pytest
from gnuradio.rfml.dsp import codec


def tone_mix(n=16, length=1024, seed=0):
    """Band-limited test vectors: a few tones inside the central eighth of the band."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    freqs = rng.uniform(-0.05, 0.05, (n, 4))
    amps = rng.standard_normal((n, 4)) + 1j * rng.standard_normal((n, 4))
    z = np.einsum("bk,bkt->bt", amps, np.exp(2j * np.pi * freqs[:, :, None] * t))
    return z.astype(np.complex64)


@pytest.mark.parametrize("width", [1, 3, 8, 11])
def test_pack_bits_round_trip_and_size(width):
    rng = np.random.default_rng(width)
    values = rng.integers(0, 2**width, (5, 37))
    packed = codec.pack_bits(values, width)
    assert packed.shape == (5, -(-37 * width // 8))
    np.testing.assert_array_equal(codec.unpack_bits(packed, width, 37), values)


def test_pack_bits_is_msb_first():
    assert codec.pack_bits(np.array([[1, 2, 3]]), 2).tobytes() == bytes([0b01101100])


def test_sizes_are_the_bytes_written():
    z = tone_mix(3)
    for family in codec.codec_grid(1024).values():
        for c in family:
            data = c.encode(z)
            assert data.dtype == np.uint8 and data.shape == (3, c.nbytes(1024)), c.name
    # 2 x 1024 values of 4 bits + a float32 scale
    assert codec.ClassicalCodec("scalar", 4).nbytes(1024) == 1024 + 4
    assert codec.ClassicalCodec("decimate", 3, factor=8).nbytes(1024) == 96 + 4
    # rank 2 of a 32 x 32 matrix: two factors of 2*2*32 values of 5 bits, each with a scale
    assert codec.ClassicalCodec("svd", 5, rank=2).nbytes(1024) == 2 * (4 + 80)


def test_fidelity_grows_with_bits_and_decimation_keeps_a_narrow_band():
    z = tone_mix()
    snr = [np.median(codec.snr_db(z, codec.ClassicalCodec("scalar", b).roundtrip(z)[0]))
           for b in (2, 4, 6, 8)]  # fmt: skip
    assert np.all(np.diff(snr) > 8), snr  # about 6 dB per bit
    # The tones lie within +-0.05 cycles/sample: decimating by 8 keeps +-1/16 and loses
    # nothing but quantisation noise: at the rate of 1-bit scalar quantisation it is
    # better by more than 20 dB (the vector edges leak a little out of band).
    dec, nbytes = codec.ClassicalCodec("decimate", 8, factor=8).roundtrip(z)
    one_bit, nbytes_1 = codec.ClassicalCodec("scalar", 1).roundtrip(z)
    assert nbytes == nbytes_1
    assert np.median(codec.snr_db(z, dec)) > np.median(codec.snr_db(z, one_bit)) + 20
    # A full-rank SVD with fine quantisation is near lossless; rank 1 is not.
    full = codec.ClassicalCodec("svd", 8, rank=8)
    assert np.median(codec.snr_db(z, full.roundtrip(z)[0])) > 25
    assert np.median(codec.snr_db(z, codec.ClassicalCodec("svd", 8, rank=1).roundtrip(z)[0])) < 25


def test_evm_and_snr_agree():
    z = tone_mix(4)
    y, _ = codec.ClassicalCodec("scalar", 5).roundtrip(z)
    np.testing.assert_allclose(
        codec.evm_percent(z, y), 100 * 10 ** (-codec.snr_db(z, y) / 20), rtol=1e-9
    )


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="unknown codec"):
        codec.ClassicalCodec("wavelet", 4)
    with pytest.raises(ValueError, match="at least 1 bit"):
        codec.ClassicalCodec("scalar", 0)
    with pytest.raises(ValueError, match="multiple"):
        codec.ClassicalCodec("decimate", 4, factor=3).encode(tone_mix(1))
    with pytest.raises(ValueError, match="expected"):
        codec.ClassicalCodec("scalar", 4).decode(np.zeros((1, 7), np.uint8), 1024)
