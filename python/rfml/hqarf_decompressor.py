# SPDX-License-Identifier: GPL-3.0-or-later
"""HQARF decompressor: codec packets (PDUs) in, complex vectors out."""

import collections
import threading

import numpy as np
import pmt
from gnuradio import gr

from ._work_guard import ends_on_error
from .ml.contract import DEFAULT_VECTOR_LENGTH
from .ml.packet import DEFAULT_BATCH_SIZE, FORWARDED_TAGS

# How long an idle work() call waits for packets before it returns (seconds).
WAIT_S = 0.05


class hqarf_decompressor(gr.sync_block):
    """Decodes codec packets, arriving as PDUs on the message port ``pdus``, into complex
    vectors on its output, in arrival order.

    Each PDU's u8vector is read as one packet (docs/codec_packet.md) and checked against the
    checkpoint: a packet that is truncated, corrupt, of another model, or of a level the
    model lacks is logged (one warning naming the problem), counted (``dropped_count()``)
    and dropped; the flowgraph keeps running. Packets of any level decode in the same
    stream, batch_size at a time. Each output vector gets a stream tag ``rfml_level`` (long)
    and, when the PDU's metadata holds them, ``rfml_class`` and ``rfml_snr_db`` (as the
    compressor forwards them).

    Args:
        model_path (str): HQARF checkpoint (.safetensors + .json card); "" = shipped weights.
            It must be the one the packets were made with (their model id says which).
        vector_length (int): samples per vector L; must equal the checkpoint's.
        batch_size (int): vectors per model call at most.
        device (str): "auto" (cuda when available), "cpu" or "cuda".
    """

    def __init__(self, model_path="", vector_length=DEFAULT_VECTOR_LENGTH,
                 batch_size=DEFAULT_BATCH_SIZE, device="auto"):  # fmt: skip
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(vector_length) < 1:
            raise ValueError(f"vector_length must be >= 1, got {vector_length}")
        gr.sync_block.__init__(self, name="hqarf_decompressor", in_sig=None,
                               out_sig=[(np.complex64, int(vector_length))])  # fmt: skip
        from .ml.packet import PacketError, load_codec

        self._error = PacketError
        self.codec, self.card = load_codec(model_path, vector_length, device)
        self.batch_size = int(batch_size)
        self.vector_length = int(vector_length)
        self._queue = collections.deque()  # (Packet, {tag name: PMT value})
        self._ready = threading.Condition()
        self._dropped = 0
        self._decoded = 0
        self._level_key = pmt.intern("rfml_level")
        self._tag_keys = {k: pmt.intern(k) for k in FORWARDED_TAGS}
        self._port = pmt.intern("pdus")
        self.message_port_register_in(self._port)
        self.set_msg_handler(self._port, self._on_pdu)

    def dropped_count(self):
        """Packets refused so far (logged and dropped)."""
        return self._dropped

    def decoded_count(self):
        """Vectors decoded so far."""
        return self._decoded

    def _on_pdu(self, msg):
        try:
            if not pmt.is_pair(msg) or not pmt.is_u8vector(pmt.cdr(msg)):
                raise self._error("the message is not a PDU (metadata, u8vector)")
            packet = self.codec.read(bytes(pmt.u8vector_elements(pmt.cdr(msg))))
        except self._error as e:
            self._dropped += 1
            self.logger.warn(f"hqarf_decompressor: packet dropped: {e}")
            return
        meta = pmt.car(msg)
        tags = {}
        if pmt.is_dict(meta):
            for name, key in self._tag_keys.items():
                if pmt.dict_has_key(meta, key):
                    tags[name] = pmt.dict_ref(meta, key, pmt.PMT_NIL)
        with self._ready:
            self._queue.append((packet, tags))
            self._ready.notify()

    @ends_on_error
    def work(self, input_items, output_items):
        out = output_items[0]
        with self._ready:
            if not self._queue:
                self._ready.wait(WAIT_S)
            n = min(len(out), len(self._queue))
            items = [self._queue.popleft() for _ in range(n)]
        if not items:
            return 0
        first = self.nitems_written(0)
        for start in range(0, n, self.batch_size):
            chunk = items[start : start + self.batch_size]
            out[start : start + len(chunk)] = self.codec.decompress([p for p, _ in chunk])
        for i, (packet, tags) in enumerate(items):
            self.add_item_tag(0, first + i, self._level_key, pmt.from_long(packet.level))
            for name, value in tags.items():
                self.add_item_tag(0, first + i, self._tag_keys[name], value)
        self._decoded += n
        return n
