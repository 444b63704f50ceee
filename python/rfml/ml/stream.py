# SPDX-License-Identifier: GPL-3.0-or-later
"""Live tensors from a running flowgraph: a torch IterableDataset over a batch queue.

The producer (the ``vector_to_tensor`` block) puts pairs ``(batch, valid)`` into a
``queue.Queue``: float32 numpy batches ``(B, 2, L)`` and bool ``(B,)`` masks (False for a
vector with a NaN/Inf sample); when its flowgraph stops, it puts the end marker
``END_OF_STREAM`` (``ml.contract``, re-exported here). Plain ``(B, 2, L)`` arrays are
accepted too (every vector valid).
Nothing here imports GNU Radio.
"""

import queue

import torch

from .contract import END_OF_STREAM  # put by the producer after its last batch


class QueueDataset(torch.utils.data.IterableDataset):
    """Yield the batches of a queue as torch tensors until the producer ends the stream.

    Use it with ``DataLoader(dataset, batch_size=None)`` (the items are already batches)
    and ``num_workers=0``: the queue lives in this process.

    Args:
        source (queue.Queue or object with a ``queue`` attribute): the batch queue, or
            the block that fills it.
        timeout (float or None): seconds to wait for each batch; None waits for ever.
            When it runs out, TimeoutError says so (the flowgraph is not producing).
        with_valid (bool): yield ``(tensor, valid)`` pairs instead of tensors.

    Yields:
        torch.float32 tensors (B, 2, L), row 0 = I, row 1 = Q (B may be smaller for the
        last batch of a stream); with ``with_valid``, pairs of such a tensor and a
        torch.bool tensor (B,), False for a vector with a NaN/Inf sample.
    """

    def __init__(self, source, timeout=None, with_valid=False):
        super().__init__()
        self.queue = getattr(source, "queue", source)
        if not hasattr(self.queue, "get"):
            raise TypeError(
                f"QueueDataset needs a queue.Queue or a block with .queue, got {source!r}"
            )
        self.timeout = timeout
        self.with_valid = bool(with_valid)

    def __iter__(self):
        if torch.utils.data.get_worker_info() is not None:
            raise RuntimeError(
                "QueueDataset reads a queue of this process: use DataLoader(num_workers=0)"
            )
        while True:
            try:
                item = self.queue.get(timeout=self.timeout)
            except queue.Empty:
                raise TimeoutError(
                    f"no batch arrived within {self.timeout} s: is the flowgraph running?"
                ) from None
            if item is END_OF_STREAM:
                # later iterations end too (the producer removes it when it starts again)
                self.queue.put(END_OF_STREAM)
                return
            batch, valid = item if isinstance(item, tuple) else (item, None)
            batch = torch.from_numpy(batch)
            if not self.with_valid:
                yield batch
            elif valid is None:
                yield batch, torch.ones(len(batch), dtype=torch.bool)
            else:
                yield batch, torch.from_numpy(valid)
