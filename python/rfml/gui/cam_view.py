# SPDX-License-Identifier: GPL-3.0-or-later
"""Drawing of class activation maps: one painter for the Qt widget and for headless PNGs.

A frame shows, for one vector, the I/Q trace, one CAM heat-map row per class aligned in time
with the trace (red = evidence for the class, blue = against, normalised by the largest
magnitude over all classes as in the CAE/CAM report) and a bar per class with its
probability. The title names the predicted label.
"""

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets

from ..ml.contract import INVALID_LABEL

BACKGROUND = QtGui.QColor(255, 255, 255)
TEXT = QtGui.QColor(20, 20, 20)
GRID = QtGui.QColor(200, 200, 200)
I_COLOR = QtGui.QColor(31, 119, 180)
Q_COLOR = QtGui.QColor(255, 127, 14)
BAR = QtGui.QColor(150, 150, 150)
BAR_TOP = QtGui.QColor(214, 39, 40)
MARGIN = 8
NAME_WIDTH = 64
BAR_WIDTH = 150
TITLE_HEIGHT = 30


@dataclass
class CamFrame:
    """What one vector's display shows.

    Attributes:
        iq (numpy.ndarray): complex (L,), the vector.
        probs (numpy.ndarray): float (C,), class probabilities (zeros when invalid).
        maps (numpy.ndarray): float (C, L), class activation maps.
        classes (tuple of str): class names, in the order of probs and maps.
        index (int): predicted class, -1 when the vector was invalid.
        offset (int): absolute sample index of the vector's first sample.
        note (str): extra text for the title (e.g. another classifier's label).
    """

    iq: np.ndarray
    probs: np.ndarray
    maps: np.ndarray
    classes: tuple
    index: int
    offset: int = 0
    note: str = ""

    @property
    def label(self):
        return INVALID_LABEL if self.index < 0 else self.classes[self.index]

    def title(self):
        text = f"CAM model: {self.label}"
        if self.index >= 0:
            text += f" {100 * self.probs[self.index]:.1f}%"
        if self.note:
            text += f"    {self.note}"
        return text + f"    sample {self.offset}"


def normalise_maps(maps):
    """(C, L) maps -> [-1, 1] by the largest magnitude over all classes (zeros stay zeros)."""
    maps = np.nan_to_num(np.asarray(maps, np.float32))
    peak = np.abs(maps).max(initial=0.0)
    return maps / peak if peak > 0 else maps


def diverging_rgb(values):
    """Values in [-1, 1] -> uint8 RGB (..., 3): blue (-1) - white (0) - red (+1)."""
    v = np.clip(np.asarray(values, np.float32), -1, 1)[..., None]
    white = np.array([255, 255, 255], np.float32)
    red = np.array([178, 24, 43], np.float32)
    blue = np.array([33, 102, 172], np.float32)
    rgb = np.where(v >= 0, white + v * (red - white), white - v * (blue - white))
    return rgb.round().astype(np.uint8)


def title_font():
    font = QtGui.QFont()
    font.setPixelSize(16)
    font.setBold(True)
    return font


def text_font():
    font = QtGui.QFont()
    font.setPixelSize(12)
    return font


def layout(width, height, n_classes):
    """Rectangles of the frame's parts: dict title, trace, rows (list), bars (list), names."""
    top = MARGIN + TITLE_HEIGHT
    plot_left = MARGIN + NAME_WIDTH
    plot_width = max(width - plot_left - BAR_WIDTH - 2 * MARGIN, 10)
    body = max(height - top - MARGIN, 10)
    trace_h = int(body * 0.35)
    row_h = max((body - trace_h - MARGIN) // max(n_classes, 1), 4)
    rows, bars, names = [], [], []
    for c in range(n_classes):
        y = top + trace_h + MARGIN + c * row_h
        rows.append(QtCore.QRect(plot_left, y, plot_width, row_h - 2))
        bars.append(QtCore.QRect(plot_left + plot_width + MARGIN, y, BAR_WIDTH, row_h - 2))
        names.append(QtCore.QRect(MARGIN, y, NAME_WIDTH - 4, row_h - 2))
    return {
        "title": QtCore.QRect(MARGIN, MARGIN, width - 2 * MARGIN, TITLE_HEIGHT - 4),
        "trace": QtCore.QRect(plot_left, top, plot_width, trace_h),
        "trace_names": QtCore.QRect(MARGIN, top, NAME_WIDTH - 4, trace_h),
        "rows": rows,
        "bars": bars,
        "names": names,
    }


def _paint_trace(p, rect, iq):
    p.setPen(QtGui.QPen(GRID, 1))
    p.drawRect(rect)
    mid = rect.center().y()
    p.drawLine(rect.left(), mid, rect.right(), mid)
    iq = np.nan_to_num(np.asarray(iq, np.complex64))
    if len(iq) < 2:
        return
    scale = max(float(np.abs(iq.view(np.float32)).max(initial=0.0)), 1e-12)
    x = rect.left() + np.arange(len(iq)) * (rect.width() - 1) / (len(iq) - 1)
    half = (rect.height() - 4) / 2
    for values, color in ((iq.real, I_COLOR), (iq.imag, Q_COLOR)):
        y = mid - values / scale * half
        p.setPen(QtGui.QPen(color, 1))
        p.drawPolyline(QtGui.QPolygonF([QtCore.QPointF(a, b) for a, b in zip(x, y, strict=True)]))


def _heat_image(maps):
    """(C, L) maps -> a QImage of C rows and L columns (kept alive with its buffer)."""
    rgb = np.ascontiguousarray(diverging_rgb(normalise_maps(maps)))
    c, length = rgb.shape[:2]
    image = QtGui.QImage(rgb.data, length, c, 3 * length, QtGui.QImage.Format_RGB888)
    return image.copy()


def paint_frame(p, width, height, frame):
    """Draw ``frame`` with QPainter ``p`` on a ``width`` x ``height`` device."""
    n = len(frame.classes)
    box = layout(width, height, n)
    p.fillRect(0, 0, width, height, BACKGROUND)
    p.setPen(TEXT)
    p.setFont(title_font())
    p.drawText(box["title"], QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter, frame.title())

    _paint_trace(p, box["trace"], frame.iq)
    p.setFont(text_font())
    names = box["trace_names"]
    half = names.height() // 2
    p.setPen(I_COLOR)
    p.drawText(
        QtCore.QRect(names.left(), names.top(), names.width(), half), QtCore.Qt.AlignCenter, "I"
    )
    p.setPen(Q_COLOR)
    p.drawText(
        QtCore.QRect(names.left(), names.top() + half, names.width(), half),
        QtCore.Qt.AlignCenter,
        "Q",
    )

    heat = _heat_image(frame.maps)
    for c in range(n):
        row = box["rows"][c]
        p.drawImage(row, heat, QtCore.QRect(0, c, heat.width(), 1))
        p.setPen(TEXT)
        p.drawText(box["names"][c], QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, frame.classes[c])
        bar = box["bars"][c]
        prob = float(np.nan_to_num(frame.probs[c]))
        fill = QtCore.QRect(
            bar.left(), bar.top() + 2, int(round(prob * (bar.width() - 50))), bar.height() - 4
        )
        p.fillRect(fill, BAR_TOP if c == frame.index else BAR)
        p.setPen(TEXT)
        p.drawText(bar, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, f"{100 * prob:.1f}%")


def render_image(frame, width=960, height=600):
    """``frame`` drawn on a new QImage (needs a QGuiApplication, see ``ensure_gui``)."""
    image = QtGui.QImage(width, height, QtGui.QImage.Format_RGB32)
    p = QtGui.QPainter(image)
    try:
        paint_frame(p, width, height, frame)
    finally:
        p.end()
    return image


def save_png(frame, path, width=960, height=600):
    """Write ``frame`` as a PNG; OSError naming the path when it cannot be written."""
    if not render_image(frame, width, height).save(str(path), "PNG"):
        raise OSError(
            f"could not write the CAM image {path}: check the folder exists and is writable"
        )


_gui_app = None


def ensure_gui():
    """The running Qt application (needed to draw text), or an offscreen one made here.

    Qt wants a private runtime folder; where the session has none (a headless service, a
    container), a fresh one (mode 0700) is made so that Qt does not warn about it.
    """
    global _gui_app
    app = QtGui.QGuiApplication.instance()
    if app is None:
        if not os.environ.get("XDG_RUNTIME_DIR"):
            runtime = tempfile.mkdtemp(prefix="rfml-xdg-")
            atexit.register(shutil.rmtree, runtime, ignore_errors=True)
            os.environ["XDG_RUNTIME_DIR"] = runtime
        _gui_app = app = QtWidgets.QApplication(["rfml", "-platform", "offscreen"])
    return app


class CamWidget(QtWidgets.QWidget):
    """Qt widget showing the latest CamFrame; ``frame_ready`` is safe to emit from any thread."""

    frame_ready = QtCore.pyqtSignal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame = None
        self.setMinimumSize(480, 320)
        self.frame_ready.connect(self.show_frame)

    def sizeHint(self):
        return QtCore.QSize(960, 600)

    def show_frame(self, frame):
        self.frame = frame
        self.update()

    def paintEvent(self, event):
        p = QtGui.QPainter(self)
        try:
            if self.frame is None:
                p.fillRect(self.rect(), BACKGROUND)
                p.setPen(TEXT)
                p.drawText(self.rect(), QtCore.Qt.AlignCenter, "waiting for vectors")
            else:
                paint_frame(p, self.width(), self.height(), self.frame)
        finally:
            p.end()


def save_grid(files, row_names, col_names, path, cell=(480, 300)):
    """One PNG of many CAM displays: ``files[r][c]`` (a PNG path, or None for an empty
    cell) drawn at ``cell`` size in a grid with the row names on the left and the column
    names on top. OSError naming the path when a file cannot be read or written.

    Args:
        files (list of list): rows of PNG paths (or None).
        row_names, col_names (sequence of str): the labels.
        path (str or Path): the PNG to write.
        cell ((int, int)): width and height of one display in the grid.
    """
    ensure_gui()
    width, height = cell
    left, top = NAME_WIDTH + 2 * MARGIN, TITLE_HEIGHT + MARGIN
    grid = QtGui.QImage(left + width * len(col_names), top + height * len(row_names),
                        QtGui.QImage.Format_RGB32)  # fmt: skip
    grid.fill(BACKGROUND)
    p = QtGui.QPainter(grid)
    try:
        p.setRenderHint(QtGui.QPainter.SmoothPixmapTransform)
        p.setFont(title_font())
        p.setPen(TEXT)
        for c, name in enumerate(col_names):
            p.drawText(QtCore.QRect(left + c * width, 0, width, top), QtCore.Qt.AlignCenter, name)
        for r, name in enumerate(row_names):
            p.drawText(QtCore.QRect(0, top + r * height, left - MARGIN, height),
                       QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, name)  # fmt: skip
            for c, file in enumerate(files[r]):
                if file is None:
                    continue
                image = QtGui.QImage(str(file))
                if image.isNull():
                    raise OSError(f"could not read the CAM image {file}: check it is a PNG")
                target = QtCore.QRect(left + c * width, top + r * height, width, height)
                p.drawImage(target.adjusted(2, 2, -2, -2), image)
    finally:
        p.end()
    if not grid.save(str(path), "PNG"):
        raise OSError(f"could not write {path}: check the folder exists and is writable")
    return path
