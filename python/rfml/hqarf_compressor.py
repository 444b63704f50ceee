# SPDX-License-Identifier: GPL-3.0-or-later
"""HQARF compressor: complex vectors in, one codec packet (a PDU) out per vector."""

import numpy as np
import pmt
from gnuradio import gr

from ._work_guard import ends_on_error
from .ml.contract import DEFAULT_VECTOR_LENGTH
from .ml.packet import DEFAULT_BATCH_SIZE, DEFAULT_LEVEL, FORWARDED_TAGS


class hqarf_compressor(gr.sync_block):
    """Compresses each complex vector into one codec packet, published as a PDU.

    Vectors go through the HQARF encoder in batches of up to ``batch_size``. Each becomes a
    self-describing packet (docs/codec_packet.md: header + bit-packed code indices) sent on
    the message port ``pdus`` as a PDU: ``(metadata dict, u8vector)``. The metadata holds
    ``level`` (long), ``offset`` (uint64, absolute sample index of the vector's first
    sample), ``valid`` (bool; False for a vector with NaN/Inf samples or zero power, whose
    packet decodes to zeros) and the latest ``rfml_class`` / ``rfml_snr_db`` stream tags
    seen, when there are any. The level can be changed while the flowgraph runs
    (:meth:`set_level`); it applies from the next batch.

    Args:
        model_path (str): HQARF checkpoint (.safetensors + .json card); "" = shipped weights.
        vector_length (int): samples per vector L; must equal the checkpoint's.
        level (int): compression level, 0 (finest) .. 4 (fewest bytes).
        batch_size (int): vectors per model call.
        device (str): "auto" (cuda when available), "cpu" or "cuda".
    """

    def __init__(self, model_path="", vector_length=DEFAULT_VECTOR_LENGTH, level=DEFAULT_LEVEL,
                 batch_size=DEFAULT_BATCH_SIZE, device="auto"):  # fmt: skip
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(vector_length) < 1:
            raise ValueError(f"vector_length must be >= 1, got {vector_length}")
        in_sig = [(np.complex64, int(vector_length))]
        gr.sync_block.__init__(self, name="hqarf_compressor", in_sig=in_sig, out_sig=None)
        from .ml.packet import load_codec

        self.codec, self.card = load_codec(model_path, vector_length, device)
        self.vector_length = int(vector_length)
        self.batch_size = int(batch_size)
        self.level = self.codec.check_level(level)
        self._port = pmt.intern("pdus")
        self.message_port_register_out(self._port)
        self._keys = {k: pmt.intern(k) for k in ("level", "offset", "valid", *FORWARDED_TAGS)}
        self._latest = {}  # forwarded tag name -> its latest PMT value
        self._packets = 0
        self._bytes = 0

    def set_level(self, level):
        """Compression level for the next batches (ValueError naming the levels if absent)."""
        self.level = self.codec.check_level(level)

    def get_level(self):
        return self.level

    def packet_bytes(self):
        """Bytes of one packet at the current level (header included)."""
        return self.codec.packet_bytes(self.level)

    def packet_count(self):
        """Packets published so far."""
        return self._packets

    def bytes_out(self):
        """Bytes of all packets published so far."""
        return self._bytes

    def _tags_by_vector(self, first, n):
        """{vector index within the call: {tag name: value}} of the forwarded tags (tag
        offsets of a vector stream count vectors)."""
        out = {}
        for tag in self.get_tags_in_window(0, 0, n):
            key = pmt.symbol_to_string(tag.key)
            if key in FORWARDED_TAGS:
                out.setdefault(tag.offset - first, {})[key] = tag.value
        return out

    @ends_on_error
    def work(self, input_items, output_items):
        vectors = input_items[0]
        n = len(vectors)
        first = self.nitems_read(0)
        tags = self._tags_by_vector(first, n)
        publish = self.message_port_pub
        for start in range(0, n, self.batch_size):
            batch = vectors[start : start + self.batch_size]
            level = self.level
            packets, valid = self.codec.compress(batch, level)
            level_pmt = pmt.from_long(level)
            for i, (data, ok) in enumerate(zip(packets, valid.tolist(), strict=True)):
                self._latest.update(tags.get(start + i, {}))
                meta = pmt.make_dict()
                meta = pmt.dict_add(meta, self._keys["level"], level_pmt)
                offset = (first + start + i) * self.vector_length
                meta = pmt.dict_add(meta, self._keys["offset"], pmt.from_uint64(offset))
                meta = pmt.dict_add(meta, self._keys["valid"], pmt.from_bool(ok))
                for key, value in self._latest.items():
                    meta = pmt.dict_add(meta, self._keys[key], value)
                body = pmt.init_u8vector(len(data), np.frombuffer(data, np.uint8))
                publish(self._port, pmt.cons(meta, body))
                self._bytes += len(data)
            self._packets += len(packets)
        return n
