# SPDX-License-Identifier: GPL-3.0-or-later
"""The realtime classification display (pyqtgraph): what a user watches while the classifier
runs.

Panels: the current decision (label, confidence, the true class) with the class
probabilities as bars; a probability waterfall (one column per classified vector, newest on
the right, the true class marked); the constellation of the latest vectors (the C++
renderer, ``rfml.render_constellations``); their spectrum; the running accuracy against the
true class carried by the stream tags; and the class activation maps of the latest vector
(the shipped CAM model through ``ml.inference``) under its I/Q trace. The controls are built
from the chain's ``Control`` descriptions; the status line shows vectors offered and
classified per second.
"""

import collections
import os
import time

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets

# GNU Radio's qtgui and our widgets are PyQt5; pyqtgraph would take PyQt6 where Debian has it.
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PyQt5")
import pyqtgraph as pg  # noqa: E402

from ..ml.plots import mean_psd_db
from .cam_view import diverging_rgb, normalise_maps

HISTORY = 300  # refreshes in the waterfall and the accuracy plot (one minute)
ROLLING = 1000  # scored decisions in the rolling accuracy (about one second at 1 MS/s)
# GUI refresh period; the CAM (a CNN pass, about 30 ms on a busy CPU) every CAM_EVERY
# refreshes. The GUI thread then takes about a fifth of a core (see docs/realtime_display.md).
REFRESH_MS = 200
CAM_EVERY = 5
CONSTELLATION_SIZE = 160
RIGHT, WRONG, UNKNOWN = "#2ca02c", "#d62728", "#555555"


class Scoreboard:
    """Decisions so far, their accuracy against the tagged truth, and the history the
    waterfall and the accuracy curve show: one column per ``add()`` (per GUI refresh), so the
    history spans ``history`` refreshes whatever the vector rate (no Qt; testable).

    Args:
        n_classes (int): number of classes C.
        history (int): columns kept.
        rolling (int): scored decisions in the rolling accuracy.
    """

    def __init__(self, n_classes, history=HISTORY, rolling=ROLLING):
        self.n_classes = int(n_classes)
        self.probs = np.zeros((self.n_classes, history), np.float32)  # (C, columns) waterfall
        self.truth = np.full(history, -1, np.int64)  # the most frequent true class per column
        self.accuracy_curve = np.full(history, np.nan)  # rolling accuracy at each column
        self._recent = collections.deque(maxlen=int(rolling))
        self.scored = self.correct = 0
        self.per_class = np.zeros((self.n_classes, 2), np.int64)  # (correct, scored) per class
        self.last = None

    def add(self, decisions, columns=1):
        """One column from the decisions (``display_chain.Decision``) since the last call,
        oldest first: their mean probabilities, the most frequent true class, the rolling
        accuracy after them. Without decisions (the classifier works in batches) the column
        repeats the previous one: time goes on, nothing new is known. ``columns`` > 1 (a
        late refresh) adds that many, the earlier ones repeating the previous column, so
        that the history stays one column per refresh period of time."""
        k = min(max(int(columns), 1), self.probs.shape[1])
        for arr in (self.probs, self.truth, self.accuracy_curve):
            arr[..., :-k] = arr[..., k:].copy()
            arr[..., -k:] = arr[..., -k - 1 : -k]
        if decisions:
            truth = np.array([d.truth for d in decisions])
            index = np.array([d.index for d in decisions])
            tagged = truth >= 0
            hits = (index == truth)[tagged].astype(int)
            self._recent.extend(hits.tolist())
            self.scored += len(hits)
            self.correct += int(hits.sum())
            np.add.at(self.per_class, (truth[tagged], 0), hits)
            np.add.at(self.per_class, (truth[tagged], 1), 1)
            self.probs[:, -1] = np.mean([d.probs[: self.n_classes] for d in decisions], axis=0)
            if tagged.any():
                self.truth[-1] = np.bincount(truth[tagged]).argmax()
            self.last = decisions[-1]
        self.accuracy_curve[-1] = self.rolling_accuracy()

    def accuracy(self):
        """Accuracy over every scored decision (NaN before the first)."""
        return self.correct / self.scored if self.scored else float("nan")

    def rolling_accuracy(self):
        """Accuracy over the last ``rolling`` scored decisions (NaN before the first)."""
        return float(np.mean(self._recent)) if self._recent else float("nan")


class RateMeter:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window=2.0):
        self.window = window
        self.samples = collections.deque()

    def update(self, count, now=None):
        now = time.monotonic() if now is None else now
        self.samples.append((now, count))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window:
            self.samples.popleft()
        (t0, c0), (t1, c1) = self.samples[0], self.samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0


def _bold(size):
    font = QtGui.QFont()
    font.setPixelSize(size)
    font.setBold(True)
    return font


def _class_axis(plot, classes, axis="left"):
    plot.getAxis(axis).setTicks([[(i + 0.5, c) for i, c in enumerate(classes)]])


def _ago_axis(plot):
    """x axis of the history panels: seconds before the newest column (HISTORY - 1)."""
    plot.setLabel("bottom", "seconds ago")
    per_s = 1000 // REFRESH_MS
    ticks = [(HISTORY - k * per_s, str(k)) for k in range(0, HISTORY // per_s + 1, 10)]
    plot.getAxis("bottom").setTicks([ticks])


class ClassificationDisplay(QtWidgets.QWidget):
    """The display of a running ``DisplayChain`` (see the module docstring).

    Args:
        chain (flowgraphs.display_chain.DisplayChain): the flowgraph (started by the caller).
        cam_predictor (ml.inference.Predictor or None): CAM model; None = no CAM panel.
    """

    def __init__(self, chain, cam_predictor=None, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w",
                            foreground="k")  # fmt: skip
        self.chain = chain
        self.classes = tuple(chain.classes)
        self.cam = cam_predictor
        self.score = Scoreboard(len(self.classes))
        self.rate = RateMeter()
        self.ticks = 0
        self.setWindowTitle("rfml: realtime modulation classification")
        self.resize(1500, 980)
        grid = QtWidgets.QGridLayout(self)
        grid.addLayout(self._controls(), 0, 0, 1, 3)
        grid.addWidget(self._decision_panel(), 1, 0)
        grid.addWidget(self._waterfall_panel(), 1, 1, 1, 2)
        grid.addWidget(self._constellation_panel(), 2, 0)
        grid.addWidget(self._spectrum_panel(), 2, 1)
        grid.addWidget(self._accuracy_panel(), 2, 2)
        if self.cam is not None:
            grid.addWidget(self._cam_panel(), 3, 0, 1, 3)
        for row, stretch in ((1, 3), (2, 3), (3, 4)):
            grid.setRowStretch(row, stretch)
        self._column_time = time.monotonic()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)

    # ------------------------------------------------------------------ building

    def _controls(self):
        row = QtWidgets.QHBoxLayout()
        self.control_widgets = {}
        for control in self.chain.controls():
            row.addWidget(QtWidgets.QLabel(control.label))
            widget = self._control_widget(control)
            self.control_widgets[control.label] = widget
            row.addWidget(widget)
            row.addSpacing(24)
        self.status = QtWidgets.QLabel("starting")
        row.addStretch(1)
        row.addWidget(self.status)
        return row

    def _control_widget(self, control):
        if control.kind == "choice":
            widget = QtWidgets.QComboBox()
            widget.addItems(list(control.options))
            widget.setCurrentIndex(int(control.value))
            widget.currentIndexChanged.connect(control.setter)
            return widget
        if control.kind == "range":
            box = QtWidgets.QWidget()
            layout = QtWidgets.QHBoxLayout(box)
            layout.setContentsMargins(0, 0, 0, 0)
            slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
            steps = int(round((control.high - control.low) / control.step))
            slider.setRange(0, steps)
            slider.setMinimumWidth(240)
            value = QtWidgets.QLabel()

            def changed(position):
                v = control.low + position * control.step
                value.setText(f"{v:g}")
                control.setter(v)

            slider.valueChanged.connect(changed)
            slider.setValue(int(round((float(control.value) - control.low) / control.step)))
            value.setText(f"{float(control.value):g}")
            layout.addWidget(slider)
            layout.addWidget(value)
            box.slider = slider
            return box
        if control.kind == "switch":
            widget = QtWidgets.QCheckBox()
            widget.setChecked(bool(control.value))
            widget.toggled.connect(control.setter)
            return widget
        raise ValueError(f"unknown control kind {control.kind!r}: choose choice, range or switch")

    def _decision_panel(self):
        box = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(box)
        self.label = QtWidgets.QLabel("waiting for vectors")
        self.label.setFont(_bold(30))
        self.truth_label = QtWidgets.QLabel("")
        self.truth_label.setFont(_bold(15))
        self.bars_plot = pg.PlotWidget(title="class probabilities")
        self.bars_plot.setYRange(0, 1)
        self.bars_plot.setXRange(-0.6, len(self.classes) - 0.4)
        self.bars_plot.getAxis("bottom").setTicks([list(enumerate(self.classes))])
        self.bars_plot.setMouseEnabled(False, False)
        self.bars = pg.BarGraphItem(x=np.arange(len(self.classes)), height=np.zeros(
            len(self.classes)), width=0.7, brush="#999999")  # fmt: skip
        self.bars_plot.addItem(self.bars)
        for w in (self.label, self.truth_label, self.bars_plot):
            layout.addWidget(w)
        return box

    def _waterfall_panel(self):
        self.waterfall_plot = pg.PlotWidget(title=f"class probabilities, mean per "
                                            f"{REFRESH_MS / 1000:g} s (newest right; white: "
                                            "true class)")  # fmt: skip
        self.waterfall = pg.ImageItem(self.score.probs)
        self.waterfall.setColorMap(pg.colormap.get("viridis"))
        self.waterfall.setLevels((0.0, 1.0))
        self.waterfall_plot.addItem(self.waterfall)
        self.truth_marks = pg.ScatterPlotItem(size=4, pen=None, brush="w")
        self.waterfall_plot.addItem(self.truth_marks)
        self.waterfall_plot.invertY(True)
        _class_axis(self.waterfall_plot, self.classes)
        _ago_axis(self.waterfall_plot)
        self.waterfall_plot.setMouseEnabled(False, False)
        return self.waterfall_plot

    def _constellation_panel(self):
        plot = pg.PlotWidget(title="constellation (latest vectors, RMS-scaled)")
        self.constellation = pg.ImageItem(np.zeros((CONSTELLATION_SIZE, CONSTELLATION_SIZE)))
        self.constellation.setColorMap(pg.colormap.get("inferno"))
        plot.addItem(self.constellation)
        plot.invertY(True)
        plot.setAspectLocked(True)
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMouseEnabled(False, False)
        return plot

    def _spectrum_panel(self):
        plot = pg.PlotWidget(title="spectrum (latest vectors)")
        plot.setLabel("bottom", "frequency (kHz)")
        plot.setLabel("left", "PSD (dB)")
        plot.showGrid(x=True, y=True, alpha=0.3)
        self.spectrum = plot.plot(pen=pg.mkPen("#1f77b4", width=1))
        return plot

    def _accuracy_panel(self):
        plot = pg.PlotWidget(title=f"accuracy over the last {ROLLING} tagged decisions (%)")
        plot.setYRange(0, 101)
        plot.setXRange(0, HISTORY)
        _ago_axis(plot)
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.setMouseEnabled(False, False)
        self.accuracy_line = plot.plot(pen=pg.mkPen("#d62728", width=2))
        self.accuracy_text = pg.TextItem("", color="k", anchor=(0, 1))
        self.accuracy_text.setFont(_bold(14))
        self.accuracy_text.setPos(5, 5)
        plot.addItem(self.accuracy_text)
        return plot

    def _cam_panel(self):
        view = pg.GraphicsLayoutWidget()
        self.cam_title = view.addLabel("class activation maps of the latest vector", row=0, col=0)
        self.trace_plot = view.addPlot(row=1, col=0)
        self.trace_i = self.trace_plot.plot(pen=pg.mkPen("#1f77b4", width=1), name="I")
        self.trace_q = self.trace_plot.plot(pen=pg.mkPen("#ff7f0e", width=1), name="Q")
        self.trace_plot.setLabel("left", "I / Q")
        self.trace_plot.hideAxis("bottom")
        self.cam_plot = view.addPlot(row=2, col=0)
        self.cam_image = pg.ImageItem(np.zeros((len(self.classes), 8, 3), np.uint8))
        self.cam_plot.addItem(self.cam_image)
        self.cam_plot.invertY(True)
        _class_axis(self.cam_plot, self.classes)
        self.cam_plot.setLabel("bottom", "sample (red: evidence for the class, blue: against)")
        self.cam_plot.setXLink(self.trace_plot)
        small = QtGui.QFont()
        small.setPixelSize(10)
        self.cam_plot.getAxis("left").setStyle(tickFont=small)
        for p in (self.trace_plot, self.cam_plot):
            p.setMouseEnabled(False, False)
            p.getAxis("left").setWidth(60)
        view.ci.layout.setRowStretchFactor(1, 1)
        view.ci.layout.setRowStretchFactor(2, 2)
        return view

    def step_class(self):
        """The class chooser's next class (as if the user picked it)."""
        chooser = self.control_widgets["Transmitted class"]
        chooser.setCurrentIndex((chooser.currentIndex() + 1) % chooser.count())

    # ------------------------------------------------------------------ refreshing

    def refresh(self):
        snap = self.chain.probe.snapshot()
        now = time.monotonic()
        # one column per refresh period that went by (a busy GUI thread refreshes late)
        columns = max(1, round((now - self._column_time) / (REFRESH_MS / 1000)))
        self._column_time = max(self._column_time + columns * REFRESH_MS / 1000, now - 1.0)
        self.score.add(snap.decisions, columns)
        self.ticks += 1
        classified = self.rate.update(self.chain.classifier.classified_count())
        self._show_decision()
        self._show_history()
        if len(snap.latest):
            self._show_signal(snap.latest, cam=self.ticks % CAM_EVERY == 1 % CAM_EVERY)
        offered = self.chain.sample_rate / self.chain.vector_length
        self.status.setText(f"offered {offered:.0f} vectors/s · classified {classified:.0f} "
                            f"vectors/s · {self.chain.classifier.classified_count()} "
                            "vectors so far")  # fmt: skip

    def _show_decision(self):
        d = self.score.last
        if d is None:
            return
        name = self.classes[d.index] if d.index >= 0 else "invalid"
        confidence = f" {100 * d.probs[d.index]:.1f}%" if d.index >= 0 else ""
        colour = UNKNOWN if d.truth < 0 else (RIGHT if d.index == d.truth else WRONG)
        self.label.setText(name + confidence)
        self.label.setStyleSheet(f"color: {colour}")
        truth = self.classes[d.truth] if d.truth >= 0 else "not tagged"
        snr = f" · SNR {d.snr_db:g} dB" if np.isfinite(d.snr_db) else ""
        self.truth_label.setText(f"true class: {truth}{snr}")
        brushes = ["#999999"] * len(self.classes)
        if d.index >= 0:
            brushes[d.index] = colour
        self.bars.setOpts(height=d.probs[: len(self.classes)], brushes=brushes)

    def _show_history(self):
        s = self.score
        self.waterfall.setImage(s.probs, autoLevels=False)
        cols = np.flatnonzero(s.truth >= 0)
        self.truth_marks.setData(cols + 0.5, s.truth[cols] + 0.5)
        valid = np.isfinite(s.accuracy_curve)
        x = np.arange(HISTORY)[valid]
        self.accuracy_line.setData(x, 100 * s.accuracy_curve[valid])
        if s.scored:
            self.accuracy_text.setText(
                f"{100 * s.rolling_accuracy():.1f}% now · {100 * s.accuracy():.1f}% of "
                f"{s.scored} since start"
            )

    def _show_signal(self, latest, cam):
        from .. import rfml_python

        image = rfml_python.render_constellations(
            np.ascontiguousarray(latest.reshape(1, -1)), mode="histogram",
            size=CONSTELLATION_SIZE, extent="auto", normalise="max", threads=1,
        )[0, 0]  # fmt: skip
        self.constellation.setImage(np.sqrt(image), levels=(0.0, 1.0))
        rate = self.chain.sample_rate
        freq, psd = mean_psd_db(latest)
        self.spectrum.setData(freq * rate / 1e3, psd)
        if cam and self.cam is not None:
            self._show_cam(latest[-1:])

    def _show_cam(self, vector):
        probs, index, maps = self.cam.predict_cam(vector)
        rgb = np.ascontiguousarray(diverging_rgb(normalise_maps(maps[0])))  # (C, L, 3)
        self.cam_image.setImage(rgb, levels=(0, 255))
        self.cam_image.setRect(QtCore.QRectF(0, 0, rgb.shape[1], rgb.shape[0]))
        x = np.arange(vector.shape[1])
        self.trace_i.setData(x, vector[0].real)
        self.trace_q.setData(x, vector[0].imag)
        label = self.cam.classes[index[0]] if index[0] >= 0 else "invalid"
        self.cam_title.setText(f"class activation maps of the latest vector · CAM model: "
                               f"{label} {100 * probs[0].max():.1f}%")  # fmt: skip
