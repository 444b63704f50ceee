#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA for vector_to_tensor and ml.stream.QueueDataset: batches, live DataLoader, full queue."""

import threading
import time

import numpy as np
import pmt
import torch
from gnuradio import blocks, gr, gr_unittest
from gnuradio.rfml import mod_source, vector_to_tensor
from gnuradio.rfml.ml.stream import END_OF_STREAM, QueueDataset

L = 32


def vectors(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, L)) + 1j * rng.standard_normal((n, L))).astype(np.complex64)


def as_tensor(v):
    """Reference (n, 2, L) float32 of complex vectors (n, L)."""
    return np.stack([v.real, v.imag], axis=1).astype(np.float32)


def drain(q):
    """The queue's items: batch arrays (their valid masks checked all True) and markers."""
    items = []
    while not q.empty():
        item = q.get_nowait()
        if item is not END_OF_STREAM:
            batch, valid = item
            assert valid.dtype == bool and valid.shape == (len(batch),) and valid.all()
            item = batch
        items.append(item)
    return items


def waits(tb, timeout):
    """True when tb.wait() returns within timeout seconds (else the flowgraph is stopped)."""
    done = threading.Event()
    threading.Thread(target=lambda: (tb.wait(), done.set()), daemon=True).start()
    if done.wait(timeout):
        return True
    tb.stop()
    return False


class qa_vector_to_tensor(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def test_001_batches_partial_last_and_end_marker(self):
        v = vectors(70)
        blk = vector_to_tensor(vector_length=L, batch_size=16, queue_size=8)
        self.tb.connect(blocks.vector_source_c(v.reshape(-1).tolist(), vlen=L), blk)
        self.tb.run()
        items = drain(blk.queue)
        self.assertIs(items[-1], END_OF_STREAM)
        batches = items[:-1]
        self.assertEqual([b.shape for b in batches], [(16, 2, L)] * 4 + [(6, 2, L)])
        self.assertTrue(all(b.dtype == np.float32 for b in batches))
        np.testing.assert_array_equal(np.concatenate(batches), as_tensor(v))
        self.assertEqual((blk.delivered(), blk.dropped()), (70, 0))

    def test_002_dataloader_reads_live_flowgraph(self):
        n_vec, batch = 600, 64
        src = mod_source("DQPSK", seed=4)
        blk = vector_to_tensor(vector_length=L, batch_size=batch, queue_size=2, when_full="block")
        self.tb.connect(
            src,
            blocks.head(gr.sizeof_gr_complex, n_vec * L),
            blocks.stream_to_vector(gr.sizeof_gr_complex, L),
            blk,
        )
        loader = torch.utils.data.DataLoader(QueueDataset(blk, timeout=30), batch_size=None)
        self.tb.start()
        got = [t for t in loader]  # ends at END_OF_STREAM when the flowgraph stops
        self.tb.wait()
        self.assertEqual(sum(len(t) for t in got), n_vec)
        self.assertTrue(all(t.dtype == torch.float32 and t.shape[1:] == (2, L) for t in got))
        self.assertEqual(len(got), -(-n_vec // batch))
        # The tensors are the source's samples: compare with a capture of the same seed.
        ref_tb = gr.top_block()
        sink = blocks.vector_sink_c()
        ref_tb.connect(mod_source("DQPSK", seed=4), blocks.head(8, n_vec * L), sink)
        ref_tb.run()
        ref = as_tensor(np.asarray(sink.data(), np.complex64).reshape(n_vec, L))
        np.testing.assert_array_equal(torch.cat(got).numpy(), ref)
        self.assertEqual(len(list(loader)), 0, "a second pass ends at once")

    def test_003_drop_counts_and_reports(self):
        v = vectors(10 * 8)
        blk = vector_to_tensor(vector_length=L, batch_size=8, queue_size=3, when_full="drop")
        self.tb.connect(blocks.vector_source_c(v.reshape(-1).tolist(), vlen=L), blk)
        self.tb.run()
        items = drain(blk.queue)
        self.assertEqual(len(items), 4)
        self.assertIs(items[-1], END_OF_STREAM)
        self.assertEqual(blk.dropped(), 7 * 8)
        self.assertEqual(blk.delivered(), 3 * 8)
        np.testing.assert_array_equal(np.concatenate(items[:3]), as_tensor(v[:24]))

    def test_004_block_holds_flowgraph_and_still_stops(self):
        blk = vector_to_tensor(vector_length=L, batch_size=8, queue_size=2, when_full="block")
        src = blocks.vector_source_c(vectors(1).reshape(-1).tolist(), repeat=True, vlen=L)
        self.tb.connect(src, blk)
        self.tb.start()
        time.sleep(0.5)
        self.assertEqual(blk.queue.qsize(), 2)
        consumed = blk.nitems_read(0)
        time.sleep(0.3)
        self.assertEqual(blk.nitems_read(0), consumed, "input consumed while the queue is full")
        first, _ = blk.queue.get_nowait()
        deadline = time.time() + 5
        while blk.delivered() < 3 * 8 and time.time() < deadline:
            time.sleep(0.01)
        self.assertEqual(blk.delivered(), 3 * 8, "a batch delivered once there was room")
        t0 = time.time()
        self.tb.stop()
        self.tb.wait()
        self.assertLess(time.time() - t0, 5.0)
        self.assertEqual(blk.dropped() + blk.delivered(), blk.nitems_read(0))
        self.assertEqual(first.shape, (8, 2, L))

    def test_005_messages(self):
        v = vectors(20)
        blk = vector_to_tensor(vector_length=L, batch_size=8, queue_size=0, emit_messages=True)
        dbg = blocks.message_debug()
        self.tb.connect(blocks.vector_source_c(v.reshape(-1).tolist(), vlen=L), blk)
        self.tb.msg_connect(blk, "tensor", dbg, "store")
        self.tb.run()
        self.assertIsNone(blk.queue)
        self.assertEqual(dbg.num_messages(), 2)  # full batches; the last 4 vectors stay
        offsets, data, valid = [], [], []
        for i in range(2):
            msg = dbg.get_message(i)
            meta = pmt.car(msg)
            valid += pmt.u8vector_elements(pmt.dict_ref(meta, pmt.intern("valid"), pmt.PMT_NIL))
            shape = tuple(
                pmt.s32vector_elements(pmt.dict_ref(meta, pmt.intern("shape"), pmt.PMT_NIL))
            )
            offsets.append(pmt.to_uint64(pmt.dict_ref(meta, pmt.intern("offset"), pmt.PMT_NIL)))
            data.append(np.asarray(pmt.f32vector_elements(pmt.cdr(msg))).reshape(shape))
        self.assertEqual(offsets, [0, 8])
        self.assertEqual(valid, [1] * 16)
        self.assertEqual(blk.delivered(), 16)
        np.testing.assert_array_equal(np.concatenate(data), as_tensor(v[:16]))

    def test_006_bad_parameters(self):
        with self.assertRaisesRegex(ValueError, "when_full must be one of drop_oldest, drop"):
            vector_to_tensor(when_full="wait")
        with self.assertRaisesRegex(ValueError, "deliver nothing"):
            vector_to_tensor(queue_size=0)
        with self.assertRaisesRegex(ValueError, "batch_size must be an integer >= 1, got 0"):
            vector_to_tensor(batch_size=0)
        with self.assertRaisesRegex(ValueError, "vector_length must be an integer >= 1, got 2.7"):
            vector_to_tensor(vector_length=2.7)
        with self.assertRaisesRegex(TypeError, "needs a queue.Queue"):
            QueueDataset(object())

    def test_007_stop_with_a_full_queue_twice(self):
        # stop() put its end marker into a full queue: queue.Full, SIGABRT
        blk = vector_to_tensor(vector_length=L, batch_size=8, queue_size=2, when_full="block")
        src = blocks.vector_source_c(vectors(1).reshape(-1).tolist(), repeat=True, vlen=L)
        self.tb.connect(src, blocks.throttle(gr.sizeof_gr_complex * L, 20000), blk)
        read = 0
        for _ in range(2):
            self.tb.start()
            time.sleep(0.3)
            self.tb.stop()
            self.assertTrue(waits(self.tb, 10), "tb.wait() hangs after stop()")
            read += blk.nitems_read(0)
        items = drain(blk.queue)
        self.assertEqual(len(items), 3, "two batches and one end marker")
        self.assertIs(items[-1], END_OF_STREAM)
        self.assertEqual(blk.dropped() + blk.delivered(), read)

    def test_008_second_epoch(self):
        # the reader put END_OF_STREAM back and start() kept it: epoch 2 read 0 vectors
        v = vectors(50)
        src = blocks.vector_source_c(v.reshape(-1).tolist(), vlen=L)
        blk = vector_to_tensor(vector_length=L, batch_size=16, queue_size=4, when_full="block")
        self.tb.connect(src, blk)
        for epoch in range(2):
            src.rewind()
            self.tb.start()
            got = list(torch.utils.data.DataLoader(QueueDataset(blk, timeout=10), batch_size=None))
            self.assertTrue(waits(self.tb, 10), f"tb.wait() hangs in epoch {epoch + 1}")
            self.assertEqual([len(t) for t in got], [16, 16, 16, 2], f"epoch {epoch + 1}")
            np.testing.assert_array_equal(torch.cat(got).numpy(), as_tensor(v))

    def test_009_defaults_never_stall_without_a_reader(self):
        # GRC defaults (queue of 16, no reader): "block" stalled the flowgraph after 1.3 s
        blk = vector_to_tensor(vector_length=L)
        self.assertEqual(blk.when_full, "drop_oldest")
        src = blocks.vector_source_c(vectors(64).reshape(-1).tolist(), repeat=True, vlen=L)
        self.tb.connect(src, blocks.throttle(gr.sizeof_gr_complex * L, 5000), blk)
        self.tb.start()
        time.sleep(1.5)
        early = blk.nitems_read(0)
        time.sleep(0.5)
        late = blk.nitems_read(0)
        self.tb.stop()
        self.assertTrue(waits(self.tb, 10))
        self.assertGreater(late - early, 1000, "the input stopped flowing")
        self.assertGreater(blk.dropped(), 0)
        self.assertEqual(blk.dropped() + blk.delivered(), blk.nitems_read(0))
        items = drain(blk.queue)
        self.assertEqual(len(items), 17, "the newest 16 batches and the end marker")
        self.assertEqual(blk.delivered(), sum(len(b) for b in items[:-1]))
        # the newest batches stay: the last one ends with the last vector read
        last = (blk.nitems_read(0) - 1) % 64
        np.testing.assert_array_equal(items[-2][-1], as_tensor(vectors(64))[last])

    def test_010_nan_vectors_are_flagged(self):
        v = vectors(20)
        v[3, 5] = np.nan
        v[17, 0] = np.inf
        blk = vector_to_tensor(vector_length=L, batch_size=8, queue_size=4)
        self.tb.connect(blocks.vector_source_c(v.reshape(-1).tolist(), vlen=L), blk)
        self.tb.run()
        got = list(QueueDataset(blk, with_valid=True))
        valid = torch.cat([m for _, m in got]).numpy()
        self.assertEqual(np.flatnonzero(~valid).tolist(), [3, 17])
        self.assertEqual(blk.invalid_count(), 2)
        self.assertEqual(torch.cat([t for t, _ in got]).shape, (20, 2, L))


if __name__ == "__main__":
    gr_unittest.run(qa_vector_to_tensor)
