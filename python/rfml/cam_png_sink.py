# SPDX-License-Identifier: GPL-3.0-or-later
"""Class activation maps written as PNG files, with no GUI (the headless CAM sink)."""

import collections
import os

import numpy as np
import pmt
from gnuradio import gr

from ._work_guard import ends_on_error
from .ml import params
from .ml.contract import CLASSES, DEFAULT_VECTOR_LENGTH


def check_png_path(png_path):
    """``png_path`` if it is a usable file name template, else ValueError saying why.

    The only field allowed is ``{vector}`` (the vector index, an int, with any int format
    such as ``{vector:06d}``); the folder of the file must exist.
    """
    png_path = str(png_path)
    if not png_path:
        raise ValueError("png_path is empty: give the PNG file to write, e.g. cam_{vector}.png")
    try:
        first = png_path.format(vector=0)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as e:
        raise ValueError(
            f"png_path {png_path!r} is not a valid file name template ({type(e).__name__}: "
            f"{e}): the only field allowed is {{vector}}, e.g. cam_{{vector:06d}}.png; write "
            "a literal brace as {{ or }}"
        ) from None
    folder = os.path.dirname(os.path.abspath(first))
    if not os.path.isdir(folder):
        raise ValueError(f"the folder of png_path {png_path!r} does not exist: create {folder}")
    return png_path


class cam_png_sink(gr.sync_block):
    """Shows why a GAP CNN classifies a vector as it does, as PNG files (no GUI needed):
    the I/Q trace, one class activation map row per class (Σ_k w_ck f_k(x), upsampled to
    the vector length) and the class probabilities.

    The display of every ``png_every``-th vector is written to ``png_path`` (a
    ``{vector}`` field in the path is replaced by the vector's index, giving one file
    each; otherwise the file is overwritten). The path is checked when the block is made
    (``check_png_path``). A write that fails while running is logged as an error and
    counted (``png_errors()``); the sink keeps consuming, so the flowgraph never stalls.

    Messages from a classifier (``tsddae_classifier``'s ``classification`` port) on the
    optional input port ``classification`` add that classifier's label for the same vector
    to the title.

    An exception inside ``work()`` is logged as an error and ends the block's stream, so the
    flowgraph finishes instead of hanging (the exception is kept in ``work_error``).

    Args:
        model_path (str): CAM model checkpoint (.safetensors + .json card); "" = shipped.
        vector_length (int): samples per vector L; must equal the checkpoint's.
        png_path (str): PNG file (template) to write; required.
        png_every (int): write the PNG for every png_every-th vector.
        device (str): "auto" (cuda when available), "cpu" or "cuda".
        model (torch.nn.Module or None): Python API only: a built CAM model used instead of
            ``model_path`` (logits and ``cam(x) -> (B, C, L)``).
        classes (sequence of str or None): the class names of ``model`` (default the six).
    """

    def __init__(
        self,
        model_path="",
        vector_length=DEFAULT_VECTOR_LENGTH,
        png_path="",
        png_every=100,
        device="auto",
        model=None,
        classes=None,
    ):
        self._setup("cam_png_sink", model_path, vector_length, check_png_path(png_path),
                    png_every, device, model, classes)  # fmt: skip
        self._view.ensure_gui()

    def _setup(self, name, model_path, vector_length, png_path, png_every, device, model,
               classes):  # fmt: skip
        """What both CAM sinks share: parameters, the model and the message port."""
        vector_length = params.integer(vector_length, "vector_length", 1)
        png_every = params.integer(png_every, "png_every", 1)
        gr.sync_block.__init__(self, name=name, in_sig=[(np.complex64, vector_length)], out_sig=[])
        from .gui import cam_view
        from .ml import inference

        self._view = cam_view
        if model is not None:
            self.predictor = inference.Predictor(
                model, classes or CLASSES, vector_length, device
            ).self_check(cam=True)
            self.card = None
        else:
            self.predictor, self.card = inference.load_predictor(
                model_path, kind="cam", vector_length=vector_length, device=device
            )
        self.vector_length = vector_length
        self.png_path = png_path
        self.png_every = png_every
        self._frames = 0
        self._pngs = 0
        self._png_errors = 0
        self._last_frame = None
        self._labels = collections.OrderedDict()  # sample offset -> classifier label
        self.message_port_register_in(pmt.intern("classification"))
        self.set_msg_handler(pmt.intern("classification"), self._on_classification)

    def last_frame(self):
        """The latest CamFrame drawn or written (None before the first)."""
        return self._last_frame

    def frames_drawn(self):
        """Frames computed so far (widget refreshes plus PNGs)."""
        return self._frames

    def pngs_written(self):
        return self._pngs

    def png_errors(self):
        """PNG writes that failed so far (each logged as an error)."""
        return self._png_errors

    def _on_classification(self, msg):
        offset = pmt.to_uint64(pmt.dict_ref(msg, pmt.intern("offset"), pmt.from_uint64(0)))
        label = pmt.symbol_to_string(pmt.dict_ref(msg, pmt.intern("label"), pmt.intern("?")))
        self._labels[offset] = label
        while len(self._labels) > 4096:
            self._labels.popitem(last=False)

    def _frames_for(self, vectors, first):
        """CamFrames of the given vectors; ``first`` = absolute vector index of each row."""
        probs, index, maps = self.predictor.predict_cam(vectors)
        frames = []
        for i, k in enumerate(first):
            offset = int(k) * self.vector_length
            note = f"classifier: {self._labels[offset]}" if offset in self._labels else ""
            frames.append(
                self._view.CamFrame(
                    vectors[i].copy(),
                    probs[i],
                    maps[i],
                    self.predictor.classes,
                    int(index[i]),
                    offset,
                    note,
                )
            )
        self._frames += len(frames)
        return frames

    def _png_rows(self, n):
        """Rows of this call's n vectors whose PNG is due."""
        if not self.png_path:
            return []
        return list(range(-self.nitems_read(0) % self.png_every, n, self.png_every))

    def _write_png(self, frame, vector):
        path = self.png_path.format(vector=vector)
        try:
            self._view.save_png(frame, path)
            self._pngs += 1
        except OSError as e:
            self._png_errors += 1
            gr.logger(self.alias()).error(
                f"PNG {self._png_errors} not written: {e} (the sink keeps running)"
            )

    @ends_on_error
    def work(self, input_items, output_items):
        vectors = input_items[0]  # (n_vectors, L) complex64
        first = self.nitems_read(0)
        rows = self._png_rows(len(vectors))
        if rows:
            frames = self._frames_for(vectors[rows], [first + r for r in rows])
            for r, frame in zip(rows, frames, strict=True):
                self._write_png(frame, first + r)
            self._last_frame = frames[-1]
        return len(vectors)

    def stop(self):
        if self._png_errors:
            gr.logger(self.alias()).error(
                f"{self._png_errors} PNG files could not be written ({self._pngs} written) "
                f"to {self.png_path}: check that the folder exists and is writable"
            )
        return True
