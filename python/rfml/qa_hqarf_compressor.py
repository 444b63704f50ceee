#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA of hqarf_compressor: one PDU per vector, holding exactly the packet ml.packet makes;
metadata, forwarded tags, and the level changed between runs."""

import tempfile
from pathlib import Path

import numpy as np
import pmt
import torch
from gnuradio import blocks, gr, gr_unittest, rfml
from gnuradio.rfml.ml import checkpoint, packet
from gnuradio.rfml.ml.models import hqarf

L = 128


def vectors(n, seed=0):
    """Complex Gaussian vectors (n, L) of powers 40 dB apart."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, L)) + 1j * rng.standard_normal((n, L))
    return (z * rng.uniform(0.1, 10, (n, 1))).astype(np.complex64)


def pdus(debug):
    """(metadata dict as Python, bytes) of every message a message_debug stored."""
    out = []
    for i in range(debug.num_messages()):
        msg = debug.get_message(i)
        out.append((pmt.to_python(pmt.car(msg)), bytes(pmt.u8vector_elements(pmt.cdr(msg)))))
    return out


class qa_hqarf_compressor(gr_unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        torch.manual_seed(0)
        model = hqarf.build("tiny", vector_length=L).seed_codebooks(torch.randn(16, 2, L))
        cls.path = str(Path(cls.tmp.name) / "hqarf_tiny.safetensors")
        checkpoint.save(model, {"classes": None}, cls.path)
        cls.codec, _ = packet.load_codec(cls.path, L, "cpu")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def run_block(self, iq, level, batch_size=4, tags=()):
        src = blocks.vector_source_c(iq.reshape(-1).tolist(), False, L, list(tags))
        comp = rfml.hqarf_compressor(self.path, L, level, batch_size, "cpu")
        debug = blocks.message_debug()
        self.tb.connect(src, comp)
        self.tb.msg_connect(comp, "pdus", debug, "store")
        self.tb.run()
        return comp, src, debug

    def test_one_packet_per_vector_as_ml_packet_writes_it(self):
        iq = vectors(11)
        iq[5, 3] = np.nan
        comp, _, debug = self.run_block(iq, 2, batch_size=4)
        got = pdus(debug)
        want, valid = self.codec.compress(iq, 2)
        self.assertEqual([b for _, b in got], want)
        self.assertEqual([m["valid"] for m, _ in got], valid.tolist())
        self.assertFalse(got[5][0]["valid"])
        self.assertEqual([m["offset"] for m, _ in got], [i * L for i in range(11)])
        self.assertEqual({m["level"] for m, _ in got}, {2})
        # 128 samples -> level 2 has 128 / 8 = 16 indices of 5 bits (K = 32): 10 + 18 bytes.
        self.assertEqual(comp.packet_bytes(), 28)
        self.assertEqual(comp.bytes_out(), 11 * 28)
        self.assertEqual(comp.packet_count(), 11)

    def test_level_changes_between_batches(self):
        iq = vectors(6, seed=1)
        src = blocks.vector_source_c(iq.reshape(-1).tolist(), False, L)
        comp = rfml.hqarf_compressor(self.path, L, 0, 6, "cpu")
        debug = blocks.message_debug()
        self.tb.connect(src, comp)
        self.tb.msg_connect(comp, "pdus", debug, "store")
        self.tb.run()
        comp.set_level(4)
        self.assertEqual(comp.get_level(), 4)
        src.rewind()
        self.tb.run()
        got = pdus(debug)
        self.assertEqual([m["level"] for m, _ in got], [0] * 6 + [4] * 6)
        self.assertEqual([len(b) for _, b in got], [18 + 40] * 6 + [18 + 3] * 6)
        self.assertEqual([b for _, b in got[6:]], self.codec.compress(iq, 4)[0])
        with self.assertRaisesRegex(ValueError, "level 5 is not a level"):
            comp.set_level(5)

    def test_class_and_snr_tags_are_forwarded_in_the_metadata(self):
        def tag(offset, key, value):
            t = gr.tag_t()
            t.offset, t.key, t.value = offset, pmt.intern(key), value
            return t

        tags = [
            tag(0, "rfml_class", pmt.intern("GFSK")),
            tag(0, "rfml_snr_db", pmt.from_double(5.0)),
            tag(3, "rfml_class", pmt.intern("OOK")),
        ]
        _, _, debug = self.run_block(vectors(5, seed=2), 1, tags=tags)
        meta = [m for m, _ in pdus(debug)]
        self.assertEqual([m["rfml_class"] for m in meta], ["GFSK"] * 3 + ["OOK"] * 2)
        self.assertEqual({m["rfml_snr_db"] for m in meta}, {5.0})

    def test_bad_settings_are_clear_errors(self):
        with self.assertRaisesRegex(ValueError, "level 9 is not a level"):
            rfml.hqarf_compressor(self.path, L, 9)
        with self.assertRaisesRegex(ValueError, "trained on vectors of 128 samples"):
            rfml.hqarf_compressor(self.path, 256, 1)
        with self.assertRaisesRegex(ValueError, "batch_size"):
            rfml.hqarf_compressor(self.path, L, 1, 0)


if __name__ == "__main__":
    gr_unittest.run(qa_hqarf_compressor)
