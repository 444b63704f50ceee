# SPDX-License-Identifier: GPL-3.0-or-later
"""Whole-batch processing for the model blocks (classifier, denoiser).

A block keeps input and output room for two batches (at least MIN_BUFFER_VECTORS): when the
model is the bottleneck every ``work()`` sees full batches, when it keeps up smaller batches
go through at once, and the end of a finite stream is processed too.
"""

MIN_BUFFER_VECTORS = 256


def reserve(block, batch_size):
    """Buffer room for two batches on both sides of ``block`` (GNU Radio sizes the input
    buffer for twice the history)."""
    room = max(2 * int(batch_size), MIN_BUFFER_VECTORS)
    block.set_history(room // 2 + 1)
    block.set_min_output_buffer(room)


def waiting(block, input_items, output_items, batch_size):
    """The vectors to process in this ``work()`` call: (vectors (n, L), n). Whole batches
    when more than one batch waits; the rest waits for the next call."""
    n = len(output_items[0])
    if n > batch_size:
        n -= n % batch_size
    return input_items[0][block.history() - 1 :][:n], n  # past the history
