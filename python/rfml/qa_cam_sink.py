#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA of cam_sink and cam_png_sink: CAMs against a numpy reference, PNG cadence, bad
PNG paths, failing writes, and the offscreen widget.

The model is a small GAP CNN with fixed weights whose CAMs are known exactly:
features f = relu([I, Q, -I, -Q]) (B, 4, L), logits = W · mean_t f, CAM = W · f.
"""

import os
import tempfile
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from gnuradio import (  # noqa: E402
    blocks,
    gr,
    gr_unittest,
    rfml,  # noqa: E402
)
from gnuradio.rfml.gui import cam_view  # noqa: E402
from gnuradio.rfml.ml.contract import CLASSES  # noqa: E402
from PyQt5 import QtGui, QtWidgets  # noqa: E402

L = 128
W = np.zeros((6, 4), np.float32)
W[:4, :4] = 3 * np.eye(4)


class GapModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 6, bias=False)
        self.fc.weight.data = torch.from_numpy(W)

    def features(self, x):  # (B, 2, L) -> (B, 4, L)
        return torch.relu(torch.cat([x, -x], dim=1))

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=2))

    def cam(self, x):  # (B, C, L)
        return torch.einsum("ck,bkl->bcl", self.fc.weight, self.features(x))


def reference(vector):
    """numpy CAM (C, L) and probabilities (C,) of one complex vector."""
    f = np.maximum(np.stack([vector.real, vector.imag, -vector.real, -vector.imag]), 0)
    cam = W @ f
    logits = cam.mean(axis=1)
    e = np.exp(logits - logits.max())
    return cam, e / e.sum()


def make_vectors(n, rng):
    """Vectors whose mean points along +I, +Q, -I or -Q in turn (classes 0..3): (n, L)."""
    direction = np.array([1, 1j, -1, -1j])[np.arange(n) % 4]
    noise = rng.normal(size=(n, L)) + 1j * rng.normal(size=(n, L))
    return (direction[:, None] + 0.3 * noise).astype(np.complex64)


def rgb(image):
    """A QImage as uint8 (H, W, 3)."""
    image = image.convertToFormat(QtGui.QImage.Format_RGB32)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    bgra = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return bgra[:, : image.width(), 2::-1].copy()


def ink(image):
    """Dark pixels of a QImage as a bool array (H, W)."""
    return rgb(image).max(axis=2) < 128


def text_found(strip, text):
    """True when ``text`` drawn in the title font appears in the ink mask ``strip``."""
    metrics = QtGui.QFontMetrics(cam_view.title_font())
    image = QtGui.QImage(
        metrics.horizontalAdvance(text) + 4, metrics.height() + 4, QtGui.QImage.Format_RGB32
    )
    image.fill(cam_view.BACKGROUND)
    p = QtGui.QPainter(image)
    p.setFont(cam_view.title_font())
    p.setPen(cam_view.TEXT)
    p.drawText(2, 2 + metrics.ascent(), text)
    p.end()
    t = ink(image)
    rows, cols = np.nonzero(t)
    t = t[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = t.shape
    if strip.shape[0] < h or strip.shape[1] < w:
        return False
    windows = np.lib.stride_tricks.sliding_window_view(strip, (h, w))
    # glyphs may sit at another sub-pixel position: allow a few edge pixels to differ
    mismatch = (windows != t).sum(axis=(2, 3)).min()
    return bool(mismatch <= 0.1 * t.sum())


class qa_cam_sink(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()
        self.rng = np.random.default_rng(3)

    def tearDown(self):
        self.tb = None

    def run_sink(self, vectors, **kwargs):
        sink = rfml.cam_sink(vector_length=L, device="cpu", model=GapModel(), **kwargs)
        src = blocks.vector_source_c(vectors.ravel().tolist(), False, L)
        self.tb.connect(src, sink)
        self.tb.run()
        return sink

    def test_headless_png_every_n_vectors(self):
        vectors = make_vectors(50, self.rng)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "cam_{vector}.png")
            sink = self.run_sink(vectors, png_path=path, png_every=10, headless=True)
            written = sorted(os.listdir(d))
            self.assertEqual(written, [f"cam_{k}.png" for k in (0, 10, 20, 30, 40)])
            image = QtGui.QImage(os.path.join(d, "cam_40.png"))
            self.assertEqual((image.width(), image.height()), (960, 600))
            drawn = (rgb(image) != 255).any(axis=2).mean()
            self.assertGreater(drawn, 0.1)  # trace, heat maps and bars cover the image
        self.assertEqual(sink.pngs_written(), 5)
        frame = sink.last_frame()
        self.assertEqual(frame.offset, 40 * L)
        cam, probs = reference(vectors[40].astype(np.complex128))
        np.testing.assert_allclose(frame.maps, cam, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(frame.probs, probs, atol=1e-6)
        self.assertEqual(frame.label, CLASSES[0])  # vector 40 points along +I

    def test_headless_needs_a_png_path(self):
        with self.assertRaisesRegex(ValueError, "png_path"):
            rfml.cam_sink(vector_length=L, model=GapModel(), headless=True)
        with self.assertRaisesRegex(ValueError, "png_path is empty"):
            rfml.cam_png_sink(vector_length=L, model=GapModel())

    def test_bad_png_paths_are_refused_when_made(self):
        # these were accepted; the first write then raised inside work() and the
        # flowgraph stalled
        with tempfile.TemporaryDirectory() as d:
            bad = {
                os.path.join(d, "missing", "cam.png"): "folder of png_path .* does not exist",
                os.path.join(d, "cam_{foo}.png"): "not a valid file name template",
                os.path.join(d, "cam_{}.png"): "not a valid file name template",
                os.path.join(d, "cam_{vector:q}.png"): "not a valid file name template",
                os.path.join(d, "cam_{vector[0]}.png"): "not a valid file name template",
            }
            for path, message in bad.items():
                for block in (rfml.cam_png_sink, rfml.cam_sink):
                    with self.assertRaisesRegex(ValueError, message):
                        block(vector_length=L, model=GapModel(), png_path=path)
            sink = rfml.cam_png_sink(
                vector_length=L, model=GapModel(), png_path=os.path.join(d, "c{vector:03d}.png")
            )
            self.tb.connect(
                blocks.vector_source_c(make_vectors(3, self.rng).ravel().tolist(), False, L),
                sink,
            )
            self.tb.run()
            self.assertEqual(os.listdir(d), ["c000.png"])

    def test_a_failing_write_is_counted_and_the_sink_keeps_consuming(self):
        vectors = make_vectors(40, self.rng)
        with tempfile.TemporaryDirectory() as d:
            folder = os.path.join(d, "gone")
            os.mkdir(folder)
            sink = rfml.cam_png_sink(
                vector_length=L,
                device="cpu",
                model=GapModel(),
                png_path=os.path.join(folder, "cam_{vector}.png"),
                png_every=10,
            )
            os.rmdir(folder)  # removed after the sink was made: every write fails
            self.tb.connect(blocks.vector_source_c(vectors.ravel().tolist(), False, L), sink)
            done = threading.Event()
            threading.Thread(target=lambda: (self.tb.run(), done.set()), daemon=True).start()
            self.assertTrue(done.wait(60), "the flowgraph hangs after a failing write")
        self.assertEqual(sink.nitems_read(0), 40, "every vector consumed")
        self.assertEqual((sink.pngs_written(), sink.png_errors()), (0, 4))

    def test_model_without_cam(self):
        with self.assertRaisesRegex(ValueError, "no cam"):
            rfml.cam_sink(
                vector_length=L,
                model=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * L, 6)),
                png_path="x.png",
            )

    def test_offscreen_widget_shows_trace_maps_and_label(self):
        app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
        vectors = make_vectors(8, self.rng)  # the last one points along -Q: class 3
        sink = rfml.cam_sink(vector_length=L, device="cpu", model=GapModel(), update_period=0)
        self.tb.connect(blocks.vector_source_c(vectors.ravel().tolist(), False, L), sink)
        self.tb.run()
        widget = sink.pyqwidget()
        self.assertIsInstance(widget, QtWidgets.QWidget)
        self.assertNotEqual(sink.qwidget(), 0)
        widget.resize(960, 600)
        app.processEvents()
        self.assertEqual(sink.last_frame().offset, 7 * L)
        label = sink.last_frame().label
        self.assertEqual(label, CLASSES[3])
        grabbed = widget.grab().toImage()
        drawn = (rgb(grabbed) != 255).any(axis=2).mean()
        self.assertGreater(drawn, 0.1)  # not blank: trace, maps and bars drawn
        colours = np.unique(rgb(grabbed).reshape(-1, 3), axis=0)
        self.assertGreater(len(colours), 50)  # heat maps span many shades
        title = cam_view.layout(960, 600, len(CLASSES))["title"]
        strip = ink(grabbed)[title.top() : title.bottom() + 1, title.left() : title.right() + 1]
        self.assertTrue(text_found(strip, label))
        for other in set(CLASSES) - {label}:  # DQPSK differs from DBPSK in one letter
            self.assertFalse(text_found(strip, other), other)


if __name__ == "__main__":
    gr_unittest.run(qa_cam_sink)
