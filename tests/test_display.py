# SPDX-License-Identifier: GPL-3.0-or-later
"""The realtime classification display: its flowgraph (truth tags, probe), its bookkeeping,
its controls, and `rfml display --screenshot` keeping up with 1 MS/s."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pmt
import pytest
from gnuradio import blocks, gr
from gnuradio.rfml.flowgraphs import display_chain
from gnuradio.rfml.flowgraphs.display_chain import Decision
from gnuradio.rfml.ml.contract import CLASSES


@pytest.fixture(scope="module")
def qt_app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gnuradio.rfml.gui import cam_view

    return cam_view.ensure_gui()


def test_probe_joins_decisions_with_tagged_truth_and_snr():
    """Messages of vectors the probe has not seen wait; tags hold from their vector on."""
    length = 4
    data = np.zeros(6 * length, np.complex64)
    tags = [
        gr.tag_utils.python_to_tag((0, pmt.intern("rfml_class"), pmt.intern("GMSK"))),
        gr.tag_utils.python_to_tag((0, pmt.intern("rfml_snr_db"), pmt.from_double(5.0))),
        gr.tag_utils.python_to_tag((3 * length, pmt.intern("rfml_class"), pmt.intern("OFDM"))),
    ]
    tb = gr.top_block()
    src = blocks.vector_source_c(data, False, 1, tags)
    to_vec = blocks.stream_to_vector(gr.sizeof_gr_complex, length)
    probe = display_chain.display_probe(length, CLASSES)
    tb.connect(src, to_vec, probe)
    for vector in (0, 4, 9):  # vector 9 is past the end of the stream
        probs = np.eye(len(CLASSES), dtype=np.float32)[2]
        msg = pmt.make_dict()
        for key, value in (
            ("offset", pmt.from_uint64(vector * length)),
            ("index", pmt.from_long(2)),
            ("probs", pmt.init_f32vector(len(probs), probs.tolist())),
        ):
            msg = pmt.dict_add(msg, pmt.intern(key), value)  # fmt: skip
        probe.to_basic_block()._post(pmt.intern("classification"), msg)
    tb.run()
    time.sleep(0.2)  # the message handler runs in the block's thread
    snap = probe.snapshot()
    assert [(d.vector, CLASSES[d.truth], d.snr_db) for d in snap.decisions] == [
        (0, "GMSK", 5.0), (4, "OFDM", 5.0)
    ]  # fmt: skip
    assert snap.vectors == 6 and snap.latest.shape == (6, length)


def test_scoreboard_scores_against_truth():
    from gnuradio.rfml.gui.display import Scoreboard

    score = Scoreboard(3, history=4, rolling=2)
    probs = np.eye(3, dtype=np.float32)
    decisions = [Decision(k, probs[p], p, truth=t) for k, (p, t) in
                 enumerate([(0, 0), (1, 0), (2, 2), (1, -1), (2, 1)])]  # fmt: skip
    score.add(decisions[:2])
    score.add([])  # a refresh without decisions repeats the column before
    score.add(decisions[2:])
    assert score.scored == 4 and score.correct == 2  # the untagged decision is not scored
    assert score.accuracy() == 0.5 and score.rolling_accuracy() == 0.5  # the last 2: 1 of 2
    assert score.per_class.tolist() == [[1, 2], [0, 1], [1, 1]]
    # one column per add(), oldest first: the first column is still empty
    assert score.truth.tolist() == [-1, 0, 0, 1]  # (the last: truths 2 and 1 tie -> 1)
    np.testing.assert_allclose(score.probs[:, 1:3], [[0.5, 0.5], [0.5, 0.5], [0, 0]])
    np.testing.assert_allclose(score.probs[:, 3], [0, 1 / 3, 2 / 3])
    assert np.isnan(score.accuracy_curve[0]) and score.accuracy_curve[1] == 0.5
    assert score.last is decisions[-1]
    score.add([], columns=2)  # a late refresh: two periods, nothing new
    assert score.truth.tolist() == [0, 1, 1, 1]


def test_controls_drive_the_chain(qt_app):
    from gnuradio.rfml.gui.display import ClassificationDisplay

    chain = display_chain.DisplayChain("GFSK", 10.0, sample_rate=2e5, device="cpu")
    switched = []
    extra = display_chain.Control("switch", "Denoiser", False, switched.append)
    chain.controls = lambda base=chain.controls: [*base(), extra]
    window = ClassificationDisplay(chain)
    window.control_widgets["Transmitted class"].setCurrentIndex(CLASSES.index("OFDM"))
    assert chain.switch.selected() == CLASSES.index("OFDM")
    window.control_widgets["SNR (dB)"].slider.setValue(5)  # -10 + 5 steps of 1 dB
    assert chain.awgn.snr_db() == -5.0
    window.control_widgets["Denoiser"].setChecked(True)
    assert switched == [True]
    window.timer.stop()


def test_chain_classifies_the_chosen_class_with_truth(qt_app):
    chain = display_chain.DisplayChain("DQPSK", 15.0, sample_rate=4e6, device="cpu")
    chain.start()
    try:
        time.sleep(3)
        chain.set_class(CLASSES.index("OOK"))
        time.sleep(3)
    finally:
        chain.stop()
        chain.wait()
    decisions = chain.probe.snapshot().decisions
    truth = np.array([d.truth for d in decisions])
    pred = np.array([d.index for d in decisions])
    assert len(decisions) > 500
    first_ook = int(np.flatnonzero(truth == CLASSES.index("OOK"))[0])
    assert set(truth[:first_ook]) == {CLASSES.index("DQPSK")}
    assert set(truth[first_ook:]) == {CLASSES.index("OOK")}  # one change, tagged
    assert np.mean(pred == truth) >= 0.95


def test_screenshot_draws_every_panel_and_classifies(tmp_path):
    """`rfml display --screenshot`: headless, every panel drawn, the offered 1 MS/s stream
    classified and scored against its tagged class (its speed is measured, not asserted:
    docs/realtime_display.md)."""
    png, figures = tmp_path / "display.png", tmp_path / "display.json"
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("DISPLAY", None)
    r = subprocess.run(
        [sys.executable, "-m", "gnuradio.rfml.apps", "display", "--class", "GMSK",
         "--snr-db", "10", "--seconds", "10", "--screenshot", str(png), "--json", str(figures)],
        capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stderr.strip() == "", r.stderr  # no Qt or torch noise
    got = json.loads(figures.read_text())
    assert got["offered_vectors_per_s"] == pytest.approx(1e6 / 1024)
    assert got["cpu_cores_used"] > 0 and got["classified_vectors_per_s"] > 0, got
    assert got["scored_vectors"] >= 3000 and got["accuracy"] >= 0.95, got
    assert got["per_class"]["GMSK"]["scored"] == got["scored_vectors"]

    from PyQt5 import QtGui

    image = QtGui.QImage(str(png))
    assert (image.width(), image.height()) == (1500, 980)
    colours = {image.pixel(x, y) for x in range(0, image.width(), 5)
               for y in range(0, image.height(), 5)}  # fmt: skip
    assert len(colours) > 200  # waterfall, constellation, spectrum and CAM were drawn
