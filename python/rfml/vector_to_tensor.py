# SPDX-License-Identifier: GPL-3.0-or-later
"""vector_to_tensor: complex vectors -> float32 (B, 2, L) batches in a queue and/or PMTs."""

import queue
import time

import numpy as np
import pmt
from gnuradio import gr

from ._work_guard import ends_on_error
from .ml import params
from .ml.contract import DEFAULT_VECTOR_LENGTH, END_OF_STREAM

WHEN_FULL = ("drop_oldest", "drop", "block")
MESSAGE_PORT = "tensor"


class vector_to_tensor(gr.sync_block):
    """Batch complex vectors into float32 ``(B, 2, L)`` arrays for torch (row 0 = I, 1 = Q).

    Each full batch of ``batch_size`` vectors goes into a ``queue.Queue`` (``.queue``,
    read it with ``ml.stream.QueueDataset``) that holds at most ``queue_size`` batches,
    and/or out of the message port "tensor". A queue item is a pair ``(batch, valid)``:
    ``batch`` float32 ``(B, 2, L)`` and ``valid`` bool ``(B,)``, False for a vector with a
    NaN/Inf sample (passed on as it is, and counted: ``invalid_count()``). When the
    flowgraph stops, a last partial batch goes into the queue (not to the message port,
    whose handlers are stopping) and then ``ml.stream.END_OF_STREAM``, which always fits;
    ``start()`` removes an end marker left from a previous run, so a flowgraph can be
    started again (a new epoch).

    When the queue holds ``queue_size`` batches: "drop_oldest" (the default: a flowgraph
    with no reader never stalls) discards the oldest queued batch for the new one; "drop"
    discards the new batch; "block" waits for the reader, holding the flowgraph back
    (work() waits at most 50 ms per call so the flowgraph can still be stopped). Dropped
    vectors are counted (``dropped()``), logged once when dropping starts and again when
    the flowgraph stops.

    A message is ``(meta . data)``: meta is a dict with ``shape`` (s32vector [B, 2, L]),
    ``offset`` (uint64, index of the batch's first vector in the stream) and ``valid``
    (u8vector of B, 0 for a vector with a NaN/Inf sample); data is an f32vector of
    B*2*L values in C order.

    An exception inside ``work()`` is logged as an error and ends the block's stream, so the
    flowgraph finishes instead of hanging (the exception is kept in ``work_error``).

    Args:
        vector_length (int): samples per vector L (the input item is a vector of L).
        batch_size (int): vectors per batch B.
        queue_size (int): batches the queue holds; 0 = no queue (messages only).
        when_full (str): "drop_oldest", "drop" or "block".
        emit_messages (bool): also publish each batch on the "tensor" port.
    """

    def __init__(
        self,
        vector_length=DEFAULT_VECTOR_LENGTH,
        batch_size=64,
        queue_size=16,
        when_full="drop_oldest",
        emit_messages=False,
    ):
        vector_length = params.integer(vector_length, "vector_length", 1)
        batch_size = params.integer(batch_size, "batch_size", 1)
        queue_size = params.integer(queue_size, "queue_size", 0)
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
        # Unbounded: the block never queues more than queue_size batches, so the end
        # marker always fits.
        self.queue = queue.Queue() if queue_size else None
        self.message_port_register_out(pmt.intern(MESSAGE_PORT))
        self._batch = np.empty((batch_size, 2, vector_length), np.float32)
        self._valid = np.empty(batch_size, bool)
        self._fill = 0
        self._pending = None  # a full batch waiting for room in the queue ("block")
        self._first = 0  # stream index of the first vector of the batch being filled
        self._dropped = 0
        self._delivered = 0
        self._invalid = 0
        self._warned = False

    def dropped(self):
        """Vectors not queued because the queue was full (or no reader at stop)."""
        return self._dropped

    def delivered(self):
        """Vectors queued so far and not dropped since (published, when there is no
        queue)."""
        return self._delivered

    def invalid_count(self):
        """Vectors with a NaN/Inf sample so far (flagged False in ``valid``)."""
        return self._invalid

    def start(self):
        self._fill = 0
        self._pending = None
        self._warned = False
        if self.queue is not None:  # an end marker of the previous run
            with self.queue.mutex:
                kept = [item for item in self.queue.queue if item is not END_OF_STREAM]
                self.queue.queue.clear()
                self.queue.queue.extend(kept)
        return True

    def _publish(self, batch, valid, offset):
        meta = pmt.make_dict()
        meta = pmt.dict_add(meta, pmt.intern("shape"), pmt.init_s32vector(3, list(batch.shape)))
        meta = pmt.dict_add(meta, pmt.intern("offset"), pmt.from_uint64(int(offset)))
        meta = pmt.dict_add(
            meta, pmt.intern("valid"), pmt.init_u8vector(len(valid), valid.astype(np.uint8))
        )
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

    def _drop(self, n):
        self._dropped += n
        if not self._warned:
            self._warned = True
            gr.logger(self.alias()).warn(
                f"the tensor queue is full ({self.queue_size} batches): dropping batches "
                f"({self.when_full}); read it faster or raise queue_size"
            )

    def _queue(self, batch, valid):
        """Put a batch into the queue under the when_full policy (room already awaited)."""
        if self.queue.qsize() >= self.queue_size and self.when_full == "drop_oldest":
            try:
                old, _ = self.queue.get_nowait()
                self._delivered -= len(old)
                self._drop(len(old))
            except queue.Empty:  # the reader took it meanwhile
                pass
        if self.queue.qsize() < self.queue_size:
            self.queue.put_nowait((batch, valid))
            self._delivered += len(batch)
        else:
            self._drop(len(batch))

    def _deliver(self, batch, valid, offset, wait, publish=True):
        """Queue and/or publish a batch; False when "block" must wait for room."""
        if self.queue is not None:
            if self.when_full == "block" and not self._room(wait):
                return False
            self._queue(batch, valid)
        if self.emit_messages and publish:
            self._publish(batch, valid, offset)
            if self.queue is None:
                self._delivered += len(batch)
        return True

    @ends_on_error
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
            rows = slice(self._fill, self._fill + take)
            self._batch[rows, 0] = chunk.real
            self._batch[rows, 1] = chunk.imag
            self._valid[rows] = np.isfinite(self._batch[rows]).all(axis=(1, 2))
            self._invalid += take - int(np.count_nonzero(self._valid[rows]))
            self._fill += take
            used += take
            if self._fill == self.batch_size:
                full = (self._batch, self._valid, self._first)
                self._batch, self._valid = np.empty_like(self._batch), np.empty_like(self._valid)
                self._fill = 0
                self._first += self.batch_size
                if not self._deliver(*full, wait=0.05):
                    self._pending = full
                    return used
        return used

    def stop(self):
        last = [self._pending] if self._pending is not None else []
        if self._fill:
            n = self._fill
            last.append((self._batch[:n].copy(), self._valid[:n].copy(), self._first))
            self._first += n
        self._pending, self._fill = None, 0
        for batch, valid, offset in last:  # messages sent now would not be handled any more
            if not self._deliver(batch, valid, offset, wait=1.0, publish=False):
                self._dropped += len(batch)  # the reader has gone away
        if self.queue is not None:
            self.queue.put_nowait(END_OF_STREAM)  # unbounded: always fits
        if self._dropped:
            gr.logger(self.alias()).warn(
                f"dropped {self._dropped} of {self._dropped + self._delivered} vectors because "
                "the tensor queue was full: read it faster or raise queue_size"
            )
        return True
