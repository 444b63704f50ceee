# SPDX-License-Identifier: GPL-3.0-or-later
"""What the Python blocks share so that an error inside work() never hangs a flowgraph.

GNU Radio ends a block's thread when its Python work() raises, and the flowgraph then
waits for ever on that block. ``ends_on_error`` turns the exception into a logged error
and WORK_DONE: the block's stream ends, the flowgraph finishes (``tb.run()`` and
``tb.wait()`` return), and the exception is kept in the block's ``work_error``.
"""

import functools

from gnuradio import gr

WORK_DONE = -1


def ends_on_error(work):
    """Decorator of a block's ``work(self, input_items, output_items)`` (see the module)."""

    @functools.wraps(work)
    def guarded(self, input_items, output_items):
        try:
            return work(self, input_items, output_items)
        except Exception as e:
            self.work_error = e
            gr.logger(self.alias()).error(
                f"{type(e).__name__}: {e}; the block ends its stream, so the flowgraph stops"
            )
            return WORK_DONE

    return guarded
