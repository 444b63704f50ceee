# SPDX-License-Identifier: GPL-3.0-or-later
"""class_switch: one source at a time, switched on vector boundaries, the class tagged."""

import time

import numpy as np
import pmt
import pytest
from gnuradio import blocks, gr
from gnuradio.rfml.flowgraphs.class_switch import CLASS_TAG_KEY, class_switch


def run_switch(switch, n_items, change=None):
    """Three constant sources (values 0, 1, 2) through ``switch``; ``change`` = (after how
    many output items, the input to select then). Returns (values, [(offset, class tag)])."""
    tb = gr.top_block()
    sources = [blocks.vector_source_c([complex(k)] * 1000, True) for k in range(3)]
    head = blocks.head(gr.sizeof_gr_complex, n_items)
    sink = blocks.vector_sink_c()
    for k, s in enumerate(sources):
        tb.connect(s, (switch, k))
    tb.connect(switch, head, sink)
    tb.start()
    if change is not None:
        while head.nitems_written(0) < change[0]:
            time.sleep(0.001)
        switch.set_selected(change[1])
    tb.wait()
    tags = [(t.offset, pmt.symbol_to_string(t.value)) for t in sink.tags()
            if pmt.symbol_to_string(t.key) == CLASS_TAG_KEY]  # fmt: skip
    return np.real(sink.data()).astype(int), tags


def test_chosen_input_changes_on_a_vector_boundary():
    switch = class_switch(("A", "B", "C"), align=100, selected=1)
    got, tags = run_switch(switch, 5000, change=(1000, 2))
    change = int(np.flatnonzero(got != 1)[0])
    assert change % 100 == 0 and set(got[change:]) == {2}  # one vector boundary, then C
    assert tags == [(0, "B"), (change, "C")]
    with pytest.raises(ValueError, match="class index 3 out of range 0..2"):
        switch.set_selected(3)


def test_cycle_takes_whole_vectors_of_each_input_in_turn():
    got, tags = run_switch(class_switch(("A", "B", "C"), align=50, cycle=2), 1000)
    assert list(got) == [(i // 100) % 3 for i in range(1000)]
    assert tags == [(k, "ABC"[(k // 100) % 3]) for k in range(0, 1000, 100)]
