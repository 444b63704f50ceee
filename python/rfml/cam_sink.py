# SPDX-License-Identifier: GPL-3.0-or-later
"""Class activation map display: a Qt widget, or PNG files when there is no GUI."""

import collections
import time

import numpy as np
import pmt
from gnuradio import gr

from .ml.contract import CLASSES, DEFAULT_VECTOR_LENGTH


class cam_sink(gr.sync_block):
    """Shows why a GAP CNN classifies a vector as it does: the I/Q trace, one class
    activation map row per class (Σ_k w_ck f_k(x), upsampled to the vector length) and the
    class probabilities.

    With a running QApplication (a GRC "QT GUI" flowgraph) and ``headless=False`` the block
    draws into a Qt widget (``pyqwidget()``; ``qwidget()`` gives its address like the qtgui
    sinks), refreshed every ``update_period`` seconds with the latest vector. Otherwise it
    runs headless. With
    ``png_path`` set it also writes the display of every ``png_every``-th vector to that file
    (a ``{vector}`` field in the path is replaced by the vector's index, giving one file
    each; otherwise the file is overwritten). Headless without ``png_path`` is an error.

    Messages from a classifier (``tsddae_classifier``'s ``classification`` port) on the
    optional input port ``classification`` add that classifier's label for the same vector
    to the title.

    Args:
        model_path (str): CAM model checkpoint (.safetensors + .json card); "" = shipped.
        vector_length (int): samples per vector L; must equal the checkpoint's.
        update_period (float): seconds between widget refreshes.
        png_path (str): PNG file to write ("" = none).
        png_every (int): write the PNG for every png_every-th vector.
        device (str): "auto" (cuda when available), "cpu" or "cuda".
        headless (bool): never build a widget, even when a QApplication is running.
        model (torch.nn.Module or None): Python API only: a built CAM model used instead of
            ``model_path`` (logits and ``cam(x) -> (B, C, L)``).
        classes (sequence of str or None): the class names of ``model`` (default the six).
    """

    def __init__(
        self,
        model_path="",
        vector_length=DEFAULT_VECTOR_LENGTH,
        update_period=0.1,
        png_path="",
        png_every=100,
        device="auto",
        headless=False,
        model=None,
        classes=None,
    ):
        if int(png_every) < 1:
            raise ValueError(f"png_every must be >= 1 vector, got {png_every}")
        gr.sync_block.__init__(
            self, name="cam_sink", in_sig=[(np.complex64, int(vector_length))], out_sig=[]
        )
        from PyQt5 import QtWidgets

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
        self.vector_length = int(vector_length)
        self.png_path = str(png_path)
        self.png_every = int(png_every)
        self.update_period = float(update_period)
        self._widget = None
        app = QtWidgets.QApplication.instance()
        if not headless and isinstance(app, QtWidgets.QApplication):
            self._widget = cam_view.CamWidget()
        elif not self.png_path:
            raise ValueError(
                "cam_sink has no display (no QApplication is running) and no png_path: "
                "give png_path to write PNG files, or run it in a QT GUI flowgraph"
            )
        else:
            cam_view.ensure_gui()
        self._last_update = -np.inf
        self._frames = 0
        self._pngs = 0
        self._last_frame = None
        self._labels = collections.OrderedDict()  # sample offset -> classifier label
        self.message_port_register_in(pmt.intern("classification"))
        self.set_msg_handler(pmt.intern("classification"), self._on_classification)

    def set_update_period(self, update_period):
        self.update_period = float(update_period)

    def pyqwidget(self):
        """The Qt widget (None when headless)."""
        return self._widget

    def qwidget(self):
        """Address of the Qt widget, for ``sip.wrapinstance`` like the qtgui sinks."""
        import sip

        return sip.unwrapinstance(self._widget) if self._widget is not None else 0

    def last_frame(self):
        """The latest CamFrame drawn or written (None before the first)."""
        return self._last_frame

    def frames_drawn(self):
        """Frames computed so far (widget refreshes plus PNGs)."""
        return self._frames

    def pngs_written(self):
        return self._pngs

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

    def work(self, input_items, output_items):
        vectors = input_items[0]  # (n_vectors, L) complex64
        n = len(vectors)
        first = self.nitems_read(0)
        rows = []
        if self.png_path:
            k0 = -first % self.png_every
            rows = list(range(k0, n, self.png_every))
        now = time.monotonic()
        show = self._widget is not None and now - self._last_update >= self.update_period
        if show and (not rows or rows[-1] != n - 1):
            rows.append(n - 1)
        if rows:
            frames = self._frames_for(vectors[rows], [first + r for r in rows])
            for r, frame in zip(rows, frames, strict=True):
                if self.png_path and (first + r) % self.png_every == 0:
                    self._view.save_png(frame, self.png_path.format(vector=first + r))
                    self._pngs += 1
            self._last_frame = frames[-1]
            if show:
                self._widget.frame_ready.emit(frames[-1])
                self._last_update = now
        return n
