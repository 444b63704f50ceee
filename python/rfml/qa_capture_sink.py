#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA for capture_sink: vectors cut at given indices across buffers, then the flowgraph ends."""

import numpy as np
from gnuradio import blocks, gr, gr_unittest
from gnuradio.rfml import capture_sink


class qa_capture_sink(gr_unittest.TestCase):
    def test_001_vectors_at_starts_across_buffers_then_done(self):
        x = (np.arange(50_000) + 1j * (np.arange(50_000) % 7)).astype(np.complex64)
        starts = [0, 3, 500, 1000, 1001, 30_000, 39_990]  # overlapping, buffer-crossing
        for max_items in (0, 97):
            tb = gr.top_block()
            src = blocks.vector_source_c(x.tolist(), repeat=True)  # endless: the sink ends it
            head = blocks.head(gr.sizeof_gr_complex, 10**9)
            sink = capture_sink(starts, 64)
            if max_items:
                sink.set_max_noutput_items(max_items)
            tb.connect(src, head, sink)
            tb.run()
            v = sink.vectors()
            self.assertEqual(v.shape, (len(starts), 64))
            for k, s in enumerate(starts):
                np.testing.assert_array_equal(v[k], x[s : s + 64])
            self.assertEqual(sink.total(), 39_990 + 64)
            self.assertGreaterEqual(sink.position(), sink.total())

    def test_002_bad_arguments_named(self):
        with self.assertRaisesRegex(ValueError, "starts must be increasing and >= 0 .index 1"):
            capture_sink([5, 2], 8)
        with self.assertRaisesRegex(ValueError, "length must be >= 1"):
            capture_sink([0], 0)
        with self.assertRaisesRegex(ValueError, "at least one start"):
            capture_sink([], 8)


if __name__ == "__main__":
    gr_unittest.run(qa_capture_sink)
