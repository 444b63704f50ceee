# SPDX-License-Identifier: GPL-3.0-or-later
"""The codec packet (ml/packet.py): layout, round trips, and one clear error for bad bytes."""

import struct

import numpy as np
import pytest
import torch
from gnuradio.rfml.ml import packet
from gnuradio.rfml.ml.inference import CodecRunner
from gnuradio.rfml.ml.models import hqarf
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    model = hqarf.build("tiny", vector_length=256).seed_codebooks(torch.randn(8, 2, 256))
    runner = CodecRunner(model, 256, "cpu")
    return packet.PacketCodec(runner, packet.model_id(model))


def signals(n, length=256, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, length)) + 1j * rng.standard_normal((n, length))
    return (z * rng.uniform(0.01, 100, (n, 1))).astype(np.complex64)


def test_layout_is_the_documented_one():
    p = packet.Packet(3, b"\x01\x02\x03\x04", 256, 1024, 0.5, np.arange(64) % 256)
    data = p.to_bytes()
    assert len(data) == 18 + 64 == packet.packet_bytes(256, 64)
    assert data[:4] == b"HQ\x01\x03" and data[4:8] == b"\x01\x02\x03\x04"
    assert struct.unpack(">HHHf", data[8:18]) == (256, 64, 1024, 0.5)
    assert data[18:21] == bytes([0, 1, 2])  # 8-bit indices, one per byte
    back = packet.Packet.from_bytes(data)
    np.testing.assert_array_equal(back.codes, p.codes)
    assert (back.level, back.codebook_size, back.vector_length, back.scale) == (3, 256, 1024, 0.5)


def test_odd_codebook_sizes_take_ceil_log2_bits():
    assert [packet.index_bits(k) for k in (1, 2, 3, 32, 33, 256, 1000)] == [1, 1, 2, 5, 6, 8, 10]
    p = packet.Packet(0, b"abcd", 1000, 256, 1.0, np.array([999, 0, 512]))
    assert len(p.to_bytes()) == 18 + 4  # 30 bits
    np.testing.assert_array_equal(packet.Packet.from_bytes(p.to_bytes()).codes, [999, 0, 512])


def test_round_trip_through_the_model_is_deterministic(codec):
    iq = signals(6)
    for level in codec.levels:
        packets, valid = codec.compress(iq, level)
        assert valid.all() and len(packets) == 6
        assert {len(p) for p in packets} == {codec.packet_bytes(level)}
        assert codec.compress(iq, level)[0] == packets  # same vector, same bits
        read = [codec.read(p) for p in packets]
        out = codec.decompress(read)
        direct = codec.runner.decode(*codec.runner.encode(iq, level)[:2], level)
        np.testing.assert_allclose(out, direct, rtol=1e-5, atol=1e-6)
        # The scale travels in the packet: inputs 80 dB apart in power come back with one
        # and the same output/input power ratio.
        ratio = np.mean(np.abs(out) ** 2, 1) / np.mean(np.abs(iq) ** 2, 1)
        assert np.ptp(np.log10(ratio)) < 0.2, ratio


def test_mixed_levels_decode_in_one_call(codec):
    iq = signals(4, seed=1)
    mixed = [codec.compress(iq[i : i + 1], i % 2 + 3)[0][0] for i in range(4)]
    out = codec.decompress([codec.read(p) for p in mixed])
    for i in range(4):
        single = codec.decompress([codec.read(codec.compress(iq[i : i + 1], i % 2 + 3)[0][0])])
        np.testing.assert_allclose(out[i], single[0], rtol=1e-5, atol=1e-6)


def test_invalid_vectors_send_scale_zero_and_decode_to_zeros(codec):
    iq = signals(3, seed=2)
    iq[1, 5] = np.nan
    packets, valid = codec.compress(iq, 2)
    assert valid.tolist() == [True, False, True]
    read = [codec.read(p) for p in packets]
    assert read[1].scale == 0.0
    out = codec.decompress(read)
    assert np.all(out[1] == 0) and np.all(np.isfinite(out))


def test_truncated_and_padded_packets_are_refused(codec):
    good = codec.compress(signals(1), 4)[0][0]
    for bad in (good[:-1], good[:10], b"", good + b"\x00"):
        with pytest.raises(packet.PacketError, match="bytes"):
            codec.read(bad)


def test_packets_of_another_model_or_level_are_refused(codec):
    good = codec.compress(signals(1), 1)[0][0]
    other_model = good[:4] + b"\xde\xad\xbe\xef" + good[8:]
    with pytest.raises(packet.PacketError, match="deadbeef.*checkpoint that encoded it"):
        codec.read(other_model)
    # The header claims level 2 but carries level 1's code count.
    relabelled = good[:3] + bytes([2]) + good[4:]
    with pytest.raises(packet.PacketError, match="level-2 packet holds .* model's level 2"):
        codec.read(relabelled)
    with pytest.raises(packet.PacketError, match="level 9 is not a level"):
        codec.read(good[:3] + bytes([9]) + good[4:])
    with pytest.raises(packet.PacketError, match="level 7 is not a level"):
        codec.compress(signals(1), 7)


def test_bad_headers_name_the_problem():
    good = packet.Packet(0, b"abcd", 16, 64, 1.0, np.arange(8)).to_bytes()
    with pytest.raises(packet.PacketError, match="magic"):
        packet.Packet.from_bytes(b"XX" + good[2:])
    with pytest.raises(packet.PacketError, match="version 2"):
        packet.Packet.from_bytes(good[:2] + b"\x02" + good[3:])
    with pytest.raises(packet.PacketError, match="scale"):
        packet.Packet.from_bytes(good[:14] + struct.pack(">f", float("nan")) + good[18:])
    # 5-bit indices of a 17-entry codebook can hold 17..31: an index >= K is refused.
    over = packet.Packet(0, b"abcd", 32, 64, 1.0, np.array([31])).to_bytes()
    with pytest.raises(packet.PacketError, match="index 31 >= codebook size 17"):
        packet.Packet.from_bytes(over[:8] + struct.pack(">H", 17) + over[10:])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80))
def test_any_bytes_give_a_packet_or_one_packet_error(data):
    try:
        p = packet.Packet.from_bytes(data)
    except packet.PacketError:
        return
    assert p.to_bytes() == data
    assert np.all((p.codes >= 0) & (p.codes < p.codebook_size))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=18, max_size=18), st.binary(max_size=64))
def test_any_payload_behind_a_valid_magic_reads_or_fails_cleanly(head, tail):
    data = b"HQ\x01" + head[3:] + tail
    try:
        p = packet.Packet.from_bytes(data)
    except packet.PacketError:
        return
    assert len(data) == packet.packet_bytes(p.codebook_size, len(p.codes))
