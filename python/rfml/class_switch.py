# SPDX-License-Identifier: GPL-3.0-or-later
"""class_switch: one of several sources at a time, switched on vector boundaries, with the
true class tagged on the stream (a class chooser in GRC, the display's chooser, the demo's
round robin)."""

import numpy as np
import pmt
from gnuradio import gr

from .ml.contract import CLASS_TAG_KEY, CLASSES, DEFAULT_VECTOR_LENGTH


class class_switch(gr.basic_block):
    """Passes input ``selected`` and tags the class of what it passes.

    Only the selected input is consumed; the others wait with full buffers (each source
    continues where it stopped). A change of ``selected`` takes effect at the next multiple
    of ``vector_length`` output samples, where the tag ``rfml_class`` (the class name as a
    symbol) is put; the first output sample is tagged too. So every vector downstream holds
    one class and the tag that says which, however often the selection changes while the
    flowgraph runs (a plain selector forwards only the tags its first input carried). With
    ``cycle`` > 0 the block itself moves to the next input every ``cycle`` vectors (round
    robin). Incoming tags are not passed on.

    Args:
        classes (sequence of str): class name of each input (one input per class).
        vector_length (int): output samples per vector; switches happen on vector
            boundaries.
        selected (int): the input passed first.
        cycle (int): vectors of each input in turn; 0 = only ``set_selected`` switches.
    """

    def __init__(self, classes=CLASSES, vector_length=DEFAULT_VECTOR_LENGTH, selected=0, cycle=0):
        classes = tuple(str(c) for c in classes)
        if not classes:
            raise ValueError("class_switch needs at least one class (one input per class)")
        if int(vector_length) < 1:
            raise ValueError(f"vector_length must be >= 1 samples, got {vector_length}")
        if int(cycle) < 0:
            raise ValueError(f"cycle must be >= 0 vectors (0 = no round robin), got {cycle}")
        gr.basic_block.__init__(
            self, name="class_switch", in_sig=[np.complex64] * len(classes),
            out_sig=[np.complex64],
        )  # fmt: skip
        self.classes = classes
        self.vector_length = int(vector_length)
        self.cycle = int(cycle)
        self._key = pmt.intern(CLASS_TAG_KEY)
        self._current = None  # the input being passed (None before the first sample)
        self._wanted = 0
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self.set_selected(selected)
        self._first = self._wanted

    def set_selected(self, index):
        """Pass input ``index`` from the next vector boundary on. An index out of range is
        refused (ValueError) and the running selection kept."""
        index = int(index)
        if not 0 <= index < len(self.classes):
            raise ValueError(
                f"class index {index} out of range 0..{len(self.classes) - 1}: the switch has "
                f"one input per class ({', '.join(self.classes)})"
            )
        self._wanted = index

    def selected(self):
        return self._wanted

    def forecast(self, noutput_items, ninputs):
        current = self._wanted if self._current is None else self._current
        return [noutput_items if i == current else 0 for i in range(ninputs)]

    def general_work(self, input_items, output_items):
        written = self.nitems_written(0)
        vector, offset = divmod(written, self.vector_length)
        if self.cycle and offset == 0 and vector and vector % self.cycle == 0:
            self._wanted = (vector // self.cycle + self._first) % len(self.classes)
        if (self._current is None or offset == 0) and self._current != self._wanted:
            self._current = self._wanted
            self.add_item_tag(0, written, self._key, pmt.intern(self.classes[self._current]))
        i = self._current
        room = self.vector_length - offset  # up to the next vector boundary
        n = min(len(output_items[0]), len(input_items[i]), room)
        output_items[0][:n] = input_items[i][:n]
        self.consume(i, n)
        return n
