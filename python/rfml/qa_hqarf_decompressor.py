#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA of hqarf_decompressor: packets in, the vectors ml.packet decodes out (in order, any
level); bad packets logged and dropped while the flowgraph runs; the compressor -> PDU ->
decompressor link end to end."""

import tempfile
import time
from pathlib import Path

import numpy as np
import pmt
import torch
from gnuradio import blocks, gr, gr_unittest, rfml
from gnuradio.rfml.ml import checkpoint, packet
from gnuradio.rfml.ml.models import hqarf

L = 128


def vectors(n, seed):
    """Complex Gaussian vectors (n, L) of unit power per component."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, L)) + 1j * rng.standard_normal((n, L))).astype(np.complex64)


def pdu(data, **meta):
    m = pmt.make_dict()
    for key, value in meta.items():
        m = pmt.dict_add(m, pmt.intern(key), pmt.to_pmt(value))
    return pmt.cons(m, pmt.init_u8vector(len(data), np.frombuffer(data, np.uint8)))


def setUpModule():
    """One tiny codec checkpoint for the module (seeded codebooks) and its PacketCodec."""
    global TMP, PATH, CODEC
    TMP = tempfile.TemporaryDirectory()
    torch.manual_seed(1)
    model = hqarf.build("tiny", vector_length=L).seed_codebooks(torch.randn(16, 2, L))
    PATH = str(Path(TMP.name) / "hqarf_tiny.safetensors")
    checkpoint.save(model, {"classes": None}, PATH)
    CODEC = packet.load_codec(PATH, L, "cpu")[0]


def tearDownModule():
    TMP.cleanup()


class qa_hqarf_decompressor(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()
        self.path, self.codec = PATH, CODEC

    def tearDown(self):
        self.tb = None

    def run_until(self, sink, n, timeout=20.0):
        """Run the flowgraph until ``sink`` holds n vectors (or the timeout), then stop."""
        self.tb.start()
        end = time.monotonic() + timeout
        while len(sink.data()) < n * L and time.monotonic() < end:
            time.sleep(0.02)
        time.sleep(0.1)  # anything more that would (wrongly) arrive
        self.tb.stop()
        self.tb.wait()

    def test_mixed_levels_and_bad_packets(self):
        iq = vectors(6, seed=3)
        good = [self.codec.compress(iq[i : i + 1], i % 5)[0][0] for i in range(6)]
        other_model = good[1][:4] + b"\x00\x11\x22\x33" + good[1][8:]
        wrong_level = good[2][:3] + bytes([3]) + good[2][4:]  # level 3 header, level 2 body
        msgs = [
            pdu(good[0], rfml_class="GFSK", rfml_snr_db=10.0),
            pdu(good[1][:-2]),
            pdu(good[1]),
            pdu(other_model),
            pmt.intern("not a pdu"),
            pdu(wrong_level),
        ]
        msgs += [pdu(p) for p in good[2:]]  # fmt: skip
        dec = rfml.hqarf_decompressor(self.path, L, 4, "cpu")
        sink = blocks.vector_sink_c(L)
        self.tb.connect(dec, sink)
        for m in msgs:
            dec.to_basic_block()._post(pmt.intern("pdus"), m)
        self.run_until(sink, 6)
        out = np.array(sink.data(), np.complex64).reshape(-1, L)
        self.assertEqual(len(out), 6)
        self.assertEqual(dec.dropped_count(), 4)
        self.assertEqual(dec.decoded_count(), 6)
        want = self.codec.decompress([self.codec.read(p) for p in good])
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
        tags = {
            (t.offset, pmt.symbol_to_string(t.key)): pmt.to_python(t.value) for t in sink.tags()
        }
        self.assertEqual([tags[(i, "rfml_level")] for i in range(6)], [0, 1, 2, 3, 4, 0])
        self.assertEqual(tags[(0, "rfml_class")], "GFSK")
        self.assertEqual(tags[(0, "rfml_snr_db")], 10.0)

    def test_link_through_pdus_end_to_end(self):
        iq = vectors(20, seed=4)
        src = blocks.vector_source_c(iq.reshape(-1).tolist(), False, L)
        comp = rfml.hqarf_compressor(self.path, L, 3, 8, "cpu")
        dec = rfml.hqarf_decompressor(self.path, L, 8, "cpu")
        sink = blocks.vector_sink_c(L)
        self.tb.connect(src, comp)
        self.tb.msg_connect(comp, "pdus", dec, "pdus")
        self.tb.connect(dec, sink)
        self.run_until(sink, 20)
        out = np.array(sink.data(), np.complex64).reshape(-1, L)
        codes, scale, _ = self.codec.runner.encode(iq, 3)
        np.testing.assert_allclose(out, self.codec.runner.decode(codes, scale, 3), rtol=1e-5,
                                   atol=1e-6)  # fmt: skip
        # 8 indices of 5 bits + the 18-byte header: 23 bytes for 128 complex64 samples.
        self.assertEqual(comp.bytes_out(), 20 * 23)
        self.assertAlmostEqual(20 * L * 8 / comp.bytes_out(), 44.52, places=2)
        self.assertEqual(dec.dropped_count(), 0)


if __name__ == "__main__":
    gr_unittest.run(qa_hqarf_decompressor)
