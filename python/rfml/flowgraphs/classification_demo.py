# SPDX-License-Identifier: GPL-3.0-or-later
"""The classification demo flowgraph: six sources in turn -> loopback -> AWGN -> classifier
-> CAM sink, one run per SNR, and the bookkeeping that scores it.

Per SNR the flowgraph is::

    mod_source x 6 -> class_switch (round robin) -> loopback(sim) -> awgn_snr
        -> stream_to_vector -> head [-> denomae_denoiser] -> tsddae_classifier
            --(messages)--> message_debug
            \\-> cam_sink (widget or PNG files)

The switch passes ``per_class`` whole vectors of each class in turn, so the true class of
the vector starting at sample ``offset`` is ``classes[(offset // L) // per_class]``; the
simulated loopback is kept rate-preserving (no timing drift) so that this holds exactly.
"""

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pmt
from gnuradio import blocks, gr

from ..class_switch import class_switch
from ..ml.contract import CLASSES, DEFAULT_VECTOR_LENGTH

# The sim loopback's impairments in the demo: a small carrier offset, phase noise, IQ
# imbalance and DC offset, no timing drift (which would move vectors off the class cycle).
DEMO_IMPAIRMENTS = dict(
    freq_offset=2e-4, phase_noise_std=1e-3, iq_gain_db=0.2, iq_phase_deg=1.0, dc_offset=0.01
)


@dataclass
class SnrResult:
    """Predictions of one run at one SNR.

    Attributes:
        snr_db (float): the target SNR of the run.
        truth (numpy.ndarray): int64 (N,) true class per vector.
        pred (numpy.ndarray): int64 (N,) predicted class (-1 = invalid).
        probs (numpy.ndarray): float32 (N, C) class probabilities.
        seconds (float): wall time of the run.
        cam_files (dict): class name -> PNG of the CAM display of its first vector.
    """

    snr_db: float
    truth: np.ndarray
    pred: np.ndarray
    probs: np.ndarray
    seconds: float
    cam_files: dict = field(default_factory=dict)

    def accuracy(self, class_index=None):
        keep = slice(None) if class_index is None else self.truth == class_index
        return float(np.mean(self.pred[keep] == self.truth[keep]))


def read_messages(debug, vector_length, per_class, n_classes):
    """(truth, pred, probs) from the classifier messages stored in a message_debug."""
    truth, pred, probs = [], [], []
    k_offset, k_index, k_probs = (pmt.intern(k) for k in ("offset", "index", "probs"))
    for i in range(debug.num_messages()):
        msg = debug.get_message(i)
        vector = pmt.to_uint64(pmt.dict_ref(msg, k_offset, pmt.PMT_NIL)) // vector_length
        truth.append((vector // per_class) % n_classes)
        pred.append(pmt.to_long(pmt.dict_ref(msg, k_index, pmt.PMT_NIL)))
        probs.append(pmt.f32vector_elements(pmt.dict_ref(msg, k_probs, pmt.PMT_NIL)))
    return (np.array(truth, np.int64), np.array(pred, np.int64),
            np.array(probs, np.float32).reshape(len(truth), -1))  # fmt: skip


class demo_flowgraph(gr.top_block):
    """The demo's top block for one SNR (it holds every block, which Python blocks need).

    Args:
        snr_db (float): target SNR of every vector.
        per_class (int): vectors of each class in turn.
        vector_length (int): samples per vector L.
        classes (sequence of str): the classes, in turn.
        model_path, cam_model_path (str): checkpoints ("" = shipped).
        batch_size (int): classifier batch size.
        device (str): "auto", "cpu" or "cuda".
        seed (int): seeds the sources, the loopback and the noise.
        cam_png (str): PNG path pattern of the CAM sink ("" and headless = no CAM sink).
        headless (bool): no CAM widget.
        denoiser_path (str | None): denoise the vectors before classifying them with this
            checkpoint ("" = the shipped DenoMAE); None = no denoiser.
    """

    def __init__(self, snr_db, *, per_class, vector_length=DEFAULT_VECTOR_LENGTH,
                 classes=CLASSES, model_path="", cam_model_path="", batch_size=64,
                 device="auto", seed=0, cam_png="", headless=True,
                 denoiser_path=None):  # fmt: skip
        from ..awgn_snr import awgn_snr
        from ..cam_sink import cam_sink
        from ..denomae_denoiser import denomae_denoiser
        from ..loopback import loopback
        from ..mod_source import mod_source
        from ..tsddae_classifier import tsddae_classifier

        gr.top_block.__init__(self, "rfml classification demo")
        self.n_vectors = per_class * len(classes)
        seeds = np.random.default_rng(seed).integers(1, 2**31 - 1, size=len(classes) + 2)
        self.sources = [mod_source(c, seed=int(s)) for c, s in zip(classes, seeds, strict=False)]
        self.switch = class_switch(classes, vector_length, cycle=per_class)
        self.loopback = loopback(radio="sim", seed=int(seeds[-2]), **DEMO_IMPAIRMENTS)
        self.awgn = awgn_snr(snr_db=snr_db, vector_length=vector_length, seed=int(seeds[-1]))
        self.to_vector = blocks.stream_to_vector(gr.sizeof_gr_complex, vector_length)
        self.head = blocks.head(gr.sizeof_gr_complex * vector_length, self.n_vectors)
        self.classifier = tsddae_classifier(model_path, vector_length, batch_size, device)
        self.denoiser = None
        if denoiser_path is not None:
            self.denoiser = denomae_denoiser(denoiser_path, vector_length, batch_size, device)
        self.debug = blocks.message_debug()
        for i, src in enumerate(self.sources):
            self.connect(src, (self.switch, i))
        chain = [self.switch, self.loopback, self.awgn, self.to_vector, self.head]
        if self.denoiser is not None:
            chain.append(self.denoiser)
        self.connect(*chain, self.classifier)
        self.msg_connect(self.classifier, "classification", self.debug, "store")
        self.cam = None
        if cam_png or not headless:
            self.cam = cam_sink(cam_model_path, vector_length, png_path=cam_png,
                                png_every=per_class, device=device, headless=headless)  # fmt: skip
            self.connect(self.classifier, self.cam)
            self.msg_connect(self.classifier, "classification", self.cam, "classification")
        else:
            self.sink = blocks.null_sink(gr.sizeof_gr_complex * vector_length)
            self.connect(self.classifier, self.sink)


def has_display():
    """True when a window can be shown (an X11 or Wayland display is set)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _run(tb, widget_app=None):
    """Run a top block to the end; with a Qt application, keep its window live meanwhile."""
    if widget_app is None:
        tb.run()
        return
    worker = threading.Thread(target=tb.run)
    worker.start()
    while worker.is_alive():
        widget_app.processEvents()
        worker.join(0.02)
    widget_app.processEvents()


def table_header(classes):
    return f"{'SNR dB':>7} " + " ".join(f"{c:>6}" for c in classes) + f" {'all':>6} {'vec/s':>7}"


def table_row(result, classes):
    cells = " ".join(f"{100 * result.accuracy(i):6.1f}" for i in range(len(classes)))
    rate = len(result.truth) / result.seconds
    return f"{result.snr_db:7.1f} {cells} {100 * result.accuracy():6.1f} {rate:7.0f}"


def run_demo(snrs, *, per_class, out_dir, vector_length=DEFAULT_VECTOR_LENGTH,
             model_path="", cam_model_path="", batch_size=64, device="auto", seed=0,
             gui=False, write=print, denoiser_path=None):  # fmt: skip
    """Run the demo flowgraph once per SNR; print one table row per SNR as it finishes.

    Args:
        snrs (sequence of float): SNRs in dB, in the order they are run.
        per_class (int): vectors of each class per SNR.
        out_dir (str or Path): folder for the CAM PNGs (cam_<snr>dB_<class>.png).
        gui (bool): show the CAM widget in a window (needs a display) instead of PNGs only.
        write (callable): where table lines go.
        denoiser_path (str | None): denoiser checkpoint ("" = shipped) run before the
            classifier; None = none.

    Returns:
        list of SnrResult, one per SNR.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    app = None
    if gui:
        from PyQt5 import QtWidgets

        app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["rfml demo"])
    write(table_header(CLASSES) + "   (accuracy %, per true class)")
    results = []
    window = None
    for k, snr in enumerate(snrs):
        pattern = out_dir / f"cam_{snr:+g}dB_{{vector}}.png"
        tb = demo_flowgraph(
            snr, per_class=per_class, vector_length=vector_length, model_path=model_path,
            cam_model_path=cam_model_path, batch_size=batch_size, device=device,
            seed=seed + 1000 * k, cam_png=str(pattern), headless=not gui,
            denoiser_path=denoiser_path,
        )  # fmt: skip
        if gui:
            if window is not None:
                window.close()
            window = tb.cam.pyqwidget()
            window.setWindowTitle(f"rfml demo: CAM at {snr:g} dB")
            window.show()
        start = time.perf_counter()
        _run(tb, app)
        seconds = time.perf_counter() - start
        truth, pred, probs = read_messages(tb.debug, vector_length, per_class,
                                           len(CLASSES))  # fmt: skip
        cam_files = {}
        for c, name in enumerate(CLASSES):
            written = Path(str(pattern).format(vector=c * per_class))
            if written.exists():
                target = out_dir / f"cam_{snr:+g}dB_{name}.png"
                written.replace(target)
                cam_files[name] = target
        result = SnrResult(float(snr), truth, pred, probs, seconds, cam_files)
        results.append(result)
        write(table_row(result, CLASSES))
    if window is not None:
        window.close()
    return results


def summary(results, out_dir):
    """Accuracy per class and SNR as a dict, and the confusion and accuracy PNGs.

    Returns a JSON-ready dict: accuracy, per_snr, per_class_snr, classes, confusion (all
    SNRs), confusion_at ({snr: counts}), files.
    """
    from ..ml import metrics, plots

    out_dir = Path(out_dir)
    truth = np.concatenate([r.truth for r in results])
    pred = np.concatenate([r.pred for r in results])
    snr = np.concatenate([np.full(len(r.truth), r.snr_db) for r in results])
    report = metrics.report(pred, truth, snr, CLASSES, confusion_snrs=[r.snr_db for r in results])
    report["per_class_snr"] = {
        metrics.snr_key(r.snr_db): {c: r.accuracy(i) for i, c in enumerate(CLASSES)}
        for r in results
    }
    n = len(CLASSES)
    confusion_png = out_dir / "confusion.png"
    plots.confusion_matrix(metrics.confusion(pred, truth, n), CLASSES, confusion_png,
                           title=f"Demo: all SNRs ({len(truth)} vectors)")  # fmt: skip
    accuracy_png = out_dir / "accuracy_vs_snr.png"
    curves = {"all classes": report["per_snr"]}
    curves.update({c: {metrics.snr_key(r.snr_db): r.accuracy(i) for r in results}
                   for i, c in enumerate(CLASSES)})  # fmt: skip
    plots.accuracy_vs_snr(curves, accuracy_png, title="Demo: TS-DDAE accuracy against SNR",
                          overall="all classes")  # fmt: skip
    report["files"] = {
        "confusion": str(confusion_png),
        "accuracy_vs_snr": str(accuracy_png),
        "cam_grid": str(write_cam_grid(results, out_dir / "cam_grid.png")),
    }
    return report


def write_cam_grid(results, path):
    """The CAM displays of every class (rows) at every SNR (columns) as one PNG; the single
    displays it is made of are removed. Returns ``path``."""
    from ..gui import cam_view

    files = [[r.cam_files.get(c) for r in results] for c in CLASSES]
    cam_view.save_grid(files, CLASSES, [f"{r.snr_db:+g} dB" for r in results], path)
    for r in results:
        for f in r.cam_files.values():
            Path(f).unlink(missing_ok=True)
        r.cam_files.clear()
    return Path(path)
