# SPDX-License-Identifier: GPL-3.0-or-later
"""Class activation map display: a Qt widget (and PNG files if asked)."""

import time

from ._work_guard import ends_on_error
from .cam_png_sink import cam_png_sink, check_png_path
from .ml.contract import DEFAULT_VECTOR_LENGTH


class cam_sink(cam_png_sink):
    """Shows why a GAP CNN classifies a vector as it does in a Qt widget: the I/Q trace,
    one class activation map row per class and the class probabilities.

    The widget (``pyqwidget()``; ``qwidget()`` gives its address like the qtgui sinks)
    needs a running QApplication (a GRC "QT GUI" flowgraph) and is refreshed every
    ``update_period`` seconds with the latest vector. With ``png_path`` set it also writes
    PNG files as ``cam_png_sink`` does. For no GUI at all use ``cam_png_sink``
    (``headless=True`` here does the same).

    Messages from a classifier on the optional input port ``classification`` add that
    classifier's label for the same vector to the title.

    An exception inside ``work()`` is logged as an error and ends the block's stream, so the
    flowgraph finishes instead of hanging (the exception is kept in ``work_error``).

    Args:
        update_period (float): seconds between widget refreshes.
        png_path (str): PNG file (template) to write as well ("" = none).
        headless (bool): no widget, PNG files only (``png_path`` required).
        model_path, vector_length, png_every, device, model, classes: as for
            ``cam_png_sink``.
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
        from PyQt5 import QtWidgets

        app = QtWidgets.QApplication.instance()
        gui = not headless and isinstance(app, QtWidgets.QApplication)
        if not gui and not png_path:
            raise ValueError(
                "cam_sink has no display (headless, or no QApplication is running) and no "
                "png_path: use cam_png_sink with png_path for PNG files, or run cam_sink "
                "in a QT GUI flowgraph"
            )
        if png_path:
            png_path = check_png_path(png_path)
        self._setup("cam_sink", model_path, vector_length, png_path, png_every, device,
                    model, classes)  # fmt: skip
        self.update_period = float(update_period)
        self._last_update = -float("inf")
        self._widget = self._view.CamWidget() if gui else None
        if not gui:
            self._view.ensure_gui()

    def set_update_period(self, update_period):
        self.update_period = float(update_period)

    def pyqwidget(self):
        """The Qt widget (None when headless)."""
        return self._widget

    def qwidget(self):
        """Address of the Qt widget, for ``sip.wrapinstance`` like the qtgui sinks."""
        import sip

        return sip.unwrapinstance(self._widget) if self._widget is not None else 0

    @ends_on_error
    def work(self, input_items, output_items):
        vectors = input_items[0]  # (n_vectors, L) complex64
        n = len(vectors)
        first = self.nitems_read(0)
        due = self._png_rows(n)
        rows = list(due)
        now = time.monotonic()
        show = self._widget is not None and now - self._last_update >= self.update_period
        if show and (not rows or rows[-1] != n - 1):
            rows.append(n - 1)
        if rows:
            frames = self._frames_for(vectors[rows], [first + r for r in rows])
            for r, frame in zip(rows, frames, strict=True):
                if r in due:
                    self._write_png(frame, first + r)
            self._last_frame = frames[-1]
            if show:
                self._widget.frame_ready.emit(frames[-1])
                self._last_update = now
        return n
