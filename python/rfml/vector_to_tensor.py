# SPDX-License-Identifier: GPL-3.0-or-later
"""vector_to_tensor: complex vectors -> float32 (B, 2, L) batches in a queue and/or PMTs."""

import queue
import time

import numpy as np
import pmt
from gnuradio import gr

from .ml.contract import DEFAULT_VECTOR_LENGTH, END_OF_STREAM

WHEN_FULL = ("block", "drop")
MESSAGE_PORT = "tensor"


class vector_to_tensor(gr.sync_block):
    """Batch complex vectors into float32 ``(B, 2, L)`` arrays for torch (row 0 = I, 1 = Q).

    Each full batch of ``batch_size`` vectors goes into a bounded ``queue.Queue``
    (``.queue``, read it with ``ml.stream.QueueDataset``) and/or out of the message port
    "tensor". When the flowgraph stops, a last partial batch goes into the queue (not to
    the message port, whose handlers are stopping) and then ``ml.stream.END_OF_STREAM``
    (there is always room for it).

    When the queue holds ``queue_size`` batches: "block" waits for the reader, holding
    the flowgraph back (work() waits at most 50 ms per call so the flowgraph can still be
    stopped); "drop" discards the new batch. Dropped vectors are counted (``dropped()``)
    and logged when the flowgraph stops.

    A message is ``(meta . data)``: meta is a dict with ``shape`` (s32vector [B, 2, L])
    and ``offset`` (uint64, index of the batch's first vector in the stream); data is
    an f32vector of B*2*L values in C order.

    Args:
        vector_length (int): samples per vector L (the input item is a vector of L).
        batch_size (int): vectors per batch B.
        queue_size (int): batches the queue holds; 0 = no queue (messages only).
        when_full (str): "block" or "drop".
        emit_messages (bool): also publish each batch on the "tensor" port.
    """

    def __init__(
        self,
        vector_length=DEFAULT_VECTOR_LENGTH,
        batch_size=64,
        queue_size=16,
        when_full="block",
        emit_messages=False,
    ):
        vector_length, batch_size, queue_size = int(vector_length), int(batch_size), int(queue_size)
        if vector_length < 1 or batch_size < 1 or queue_size < 0:
            raise ValueError(
                "need vector_length >= 1, batch_size >= 1 and queue_size >= 0, got "
                f"{vector_length}, {batch_size}, {queue_size}"
            )
        if when_full not in WHEN_FULL:
            raise ValueError(f"when_full must be one of {', '.join(WHEN_FULL)}, got {when_full!r}")
        if queue_size == 0 and not emit_messages:
            raise ValueError("queue_size=0 and emit_messages=False deliver nothing: enable one")
        gr.sync_block.__init__(
            self, name="vector_to_tensor", in_sig=[(np.complex64, vector_length)], out_sig=None
        )
        self.vector_length = vector_length
        self.batch_size = batch_size
        self.queue_size = queue_size
        self.when_full = when_full
        self.emit_messages = bool(emit_messages)
        # One slot more than queue_size, kept free for END_OF_STREAM.
        self.queue = queue.Queue(maxsize=queue_size + 1) if queue_size else None
        self.message_port_register_out(pmt.intern(MESSAGE_PORT))
        self._batch = np.empty((batch_size, 2, vector_length), np.float32)
        self._fill = 0
        self._pending = None  # a full batch waiting for room in the queue ("block")
        self._first = 0  # stream index of the first vector of the batch being filled
        self._dropped = 0
        self._delivered = 0

    def dropped(self):
        """Vectors not queued because the queue was full ("drop", or no reader at stop)."""
        return self._dropped

    def delivered(self):
        """Vectors queued so far (published, when there is no queue)."""
        return self._delivered

    def start(self):
        self._fill = 0
        self._pending = None
        return True

    def _publish(self, batch, offset):
        meta = pmt.make_dict()
        meta = pmt.dict_add(meta, pmt.intern("shape"), pmt.init_s32vector(3, list(batch.shape)))
        meta = pmt.dict_add(meta, pmt.intern("offset"), pmt.from_uint64(int(offset)))
        data = pmt.init_f32vector(batch.size, batch.reshape(-1))
        self.message_port_pub(pmt.intern(MESSAGE_PORT), pmt.cons(meta, data))

    def _room(self, wait):
        """True when the queue has room for a batch (waiting up to ``wait`` seconds)."""
        deadline = time.monotonic() + wait
        while self.queue.qsize() >= self.queue_size:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.0005)
        return True

    def _deliver(self, batch, offset, wait, publish=True):
        """Queue and/or publish a batch; False when "block" must wait for room."""
        if self.queue is not None:
            if self.when_full == "block" and not self._room(wait):
                return False
            if self.queue.qsize() < self.queue_size:
                self.queue.put_nowait(batch)
                self._delivered += len(batch)
            else:
                self._dropped += len(batch)
        if self.emit_messages and publish:
            self._publish(batch, offset)
            if self.queue is None:
                self._delivered += len(batch)
        return True

    def work(self, input_items, output_items):
        x = input_items[0]  # (n, L) complex64
        if self._pending is not None:
            if not self._deliver(*self._pending, wait=0.05):
                return 0
            self._pending = None
        used = 0
        while used < len(x):
            take = min(len(x) - used, self.batch_size - self._fill)
            chunk = x[used : used + take]
            self._batch[self._fill : self._fill + take, 0] = chunk.real
            self._batch[self._fill : self._fill + take, 1] = chunk.imag
            self._fill += take
            used += take
            if self._fill == self.batch_size:
                full, offset = self._batch, self._first
                self._batch = np.empty_like(full)
                self._fill = 0
                self._first += self.batch_size
                if not self._deliver(full, offset, wait=0.05):
                    self._pending = (full, offset)
                    return used
        return used

    def stop(self):
        last = [self._pending] if self._pending is not None else []
        if self._fill:
            last.append((self._batch[: self._fill].copy(), self._first))
            self._first += self._fill
        self._pending, self._fill = None, 0
        for batch, offset in last:  # messages sent now would not be handled any more
            if not self._deliver(batch, offset, wait=1.0, publish=False):
                self._dropped += len(batch)  # the reader has gone away
        if self.queue is not None:
            self.queue.put_nowait(END_OF_STREAM)
        if self._dropped:
            gr.logger(self.alias()).warn(
                f"dropped {self._dropped} of {self._dropped + self._delivered} vectors because "
                "the tensor queue was full: read it faster, raise queue_size or use "
                "when_full='block'"
            )
        return True
