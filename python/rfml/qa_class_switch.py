#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA for class_switch: one source at a time, switched on vector boundaries, every switch
tagged with the class (also after many switches while running), round robin, bad settings."""

import numpy as np
import pmt
from gnuradio import blocks, gr, gr_unittest
from gnuradio.rfml import class_switch
from gnuradio.rfml.ml.contract import CLASS_TAG_KEY


class _changes(gr.sync_block):
    """Passes items through and calls ``switch.set_selected(index)`` once ``after`` items
    have passed, for each (after, index) of ``changes``: from inside the flowgraph, so that
    a change cannot come after the run has ended, however busy the machine is."""

    def __init__(self, switch, changes):
        gr.sync_block.__init__(self, "changes", [np.complex64], [np.complex64])
        self.switch, self.changes = switch, sorted(changes)

    def work(self, input_items, output_items):
        done = self.nitems_read(0)
        while self.changes and done >= self.changes[0][0]:
            self.switch.set_selected(self.changes.pop(0)[1])
        n = len(input_items[0])
        if self.changes:  # stop at the next change, so that it is made at its item
            n = min(n, self.changes[0][0] - done)
        output_items[0][:n] = input_items[0][:n]
        return n


def run_switch(switch, n_items, changes=()):
    """Three constant sources (values 0, 1, 2) through ``switch``; ``changes`` = [(after
    how many output items, the input to select then)]; the switch itself is ahead by what
    the buffer after it holds (kept small). Returns (values, [(offset, class tag)])."""
    tb = gr.top_block()
    switch.set_max_output_buffer(0, 1024)
    sources = [blocks.vector_source_c([complex(k)] * 1000, True) for k in range(3)]
    tap = _changes(switch, changes)
    head = blocks.head(gr.sizeof_gr_complex, n_items)
    sink = blocks.vector_sink_c()
    for k, s in enumerate(sources):
        tb.connect(s, (switch, k))
    tb.connect(switch, tap, head, sink)
    tb.run()
    tags = [(t.offset, pmt.symbol_to_string(t.value)) for t in sink.tags()
            if pmt.symbol_to_string(t.key) == CLASS_TAG_KEY]  # fmt: skip
    return np.real(sink.data()).astype(int), tags


def runs(values):
    """[(start, value)] of each run of equal values."""
    starts = np.flatnonzero(np.diff(values, prepend=-1))
    return [(int(s), int(values[s])) for s in starts]


class qa_class_switch(gr_unittest.TestCase):
    def test_001_chosen_input_changes_on_a_vector_boundary(self):
        switch = class_switch(("A", "B", "C"), vector_length=100, selected=1)
        got, tags = run_switch(switch, 5000, changes=[(1000, 2)])
        change = int(np.flatnonzero(got != 1)[0])
        self.assertEqual(change % 100, 0)
        self.assertEqual(set(got[change:]), {2})  # one vector boundary, then C
        self.assertEqual(tags, [(0, "B"), (change, "C")])

    def test_002_every_switch_while_running_is_tagged(self):
        # The reason for this block: blocks.selector passes no tags from an input it is
        # switched to while running, so a meter downstream keeps the first class as truth.
        switch = class_switch(("A", "B", "C"), vector_length=64)
        changes = [(4000 * (k + 1), (1, 2, 0, 2, 1, 0)[k]) for k in range(6)]
        got, tags = run_switch(switch, 40000, changes=changes)
        expected = [(start, "ABC"[value]) for start, value in runs(got)]
        self.assertEqual(tags, expected)
        self.assertGreaterEqual(len(tags), 5)  # (two quick changes may fall in one vector)
        self.assertTrue(all(start % 64 == 0 for start, _ in tags))

    def test_003_cycle_takes_whole_vectors_of_each_input_in_turn(self):
        got, tags = run_switch(class_switch(("A", "B", "C"), vector_length=50, cycle=2), 1000)
        self.assertEqual(list(got), [(i // 100) % 3 for i in range(1000)])
        self.assertEqual(tags, [(k, "ABC"[(k // 100) % 3]) for k in range(0, 1000, 100)])

    def test_004_bad_settings_are_refused_with_the_reason(self):
        switch = class_switch(("A", "B", "C"), vector_length=100)
        with self.assertRaisesRegex(ValueError, r"class index 3 out of range 0..2.*A, B, C"):
            switch.set_selected(3)
        self.assertEqual(switch.selected(), 0)  # the running selection is kept
        for kwargs, message in (
            (dict(classes=()), "at least one class"),
            (dict(vector_length=0), "vector_length must be >= 1"),
            (dict(cycle=-1), "cycle must be >= 0"),
            (dict(selected=6), "class index 6 out of range 0..5"),
        ):
            with self.assertRaisesRegex(ValueError, message):
                class_switch(**kwargs)

    def test_005_defaults_are_the_six_classes_of_the_shipped_models(self):
        switch = class_switch()
        self.assertEqual(switch.classes, ("OOK", "GFSK", "GMSK", "DBPSK", "DQPSK", "OFDM"))
        self.assertEqual(switch.vector_length, 1024)


if __name__ == "__main__":
    gr_unittest.run(qa_class_switch)
