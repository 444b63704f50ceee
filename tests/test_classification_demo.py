# SPDX-License-Identifier: GPL-3.0-or-later
"""The classification demo (`rfml demo`) and examples/classification_demo.grc, run with the
shipped classifier and CAM model."""

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import gnuradio.rfml
import numpy as np
import pytest
from gnuradio import blocks, gr
from gnuradio.rfml.apps.__main__ import main as rfml_main
from gnuradio.rfml.flowgraphs import classification_demo
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.contract import CLASSES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped_weights():
    """Fails the tests that run the shipped models with one line when they are missing."""
    missing = [str(checkpoint.WEIGHTS_DIR / f"{kind}_small.safetensors")
               for kind in ("tsddae", "cam")
               if not (checkpoint.WEIGHTS_DIR / f"{kind}_small.safetensors").is_file()]  # fmt: skip
    if missing:
        pytest.fail(f"shipped weights not installed: {', '.join(missing)}; they come from "
                    "python/rfml/weights/ with ./run.sh setup", pytrace=False)  # fmt: skip


def quiet_qt_env(tmp_path):
    """The environment of a Qt subprocess: offscreen, with a private XDG_RUNTIME_DIR (mode
    0700, as Qt wants it) so that Qt prints nothing about a missing one."""
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    runtime.chmod(0o700)
    return {**os.environ, "GRC_BLOCKS_PATH": grc_blocks_path(), "QT_QPA_PLATFORM": "offscreen",
            "XDG_RUNTIME_DIR": str(runtime)}  # fmt: skip


def test_class_cycler_takes_whole_segments_in_turn():
    tb = gr.top_block()
    sources = [blocks.vector_source_c([complex(k)] * 4096, True) for k in range(3)]
    cycler = classification_demo.class_cycler(3, 100)
    head = blocks.head(gr.sizeof_gr_complex, 1000)
    sink = blocks.vector_sink_c()
    for k, s in enumerate(sources):
        tb.connect(s, (cycler, k))
    tb.connect(cycler, head, sink)
    tb.run()
    got = np.real(sink.data()).astype(int)
    assert list(got) == [(i // 100) % 3 for i in range(1000)]


def test_demo_classifies_every_vector(tmp_path, capsys, shipped_weights):
    out = tmp_path / "demo"
    figures = tmp_path / "demo.json"
    argv = ["demo", "--out-dir", str(out), "--snr-db", "10", "--per-class", "32",
            "--batch-size", "32", "--display", "none", "--json", str(figures)]  # fmt: skip
    assert rfml_main(argv) == 0
    printed = capsys.readouterr().out
    report = json.loads(figures.read_text())
    assert report["classes"] == list(CLASSES)
    counts = np.array(report["confusion"])
    assert counts.sum() == 6 * 32 and list(counts.sum(axis=1)) == [32] * 6
    # the shipped classifier on the demo's own sim-loopback signals at 10 dB
    assert report["accuracy"] >= 0.95, printed
    assert set(report["per_class_snr"]["10"]) == set(CLASSES)
    for name in ("confusion.png", "accuracy_vs_snr.png", "cam_grid.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert not list(out.glob("cam_+*.png"))  # the single displays are in the grid
    width, height = struct.unpack(">II", (out / "cam_grid.png").read_bytes()[16:24])
    assert (width, height) == (80 + 480, 38 + 6 * 300)  # names + 6 classes x 1 SNR of 480x300
    assert report["files"]["cam_grid"] == str(out / "cam_grid.png")
    assert "accuracy per class and SNR" in printed


def grc_blocks_path():
    """The installed GRC block YAML beside the package in use, else the repository's grc/."""
    package = Path(gnuradio.rfml.__file__).resolve().parent
    for parent in package.parents:
        installed = parent / "share" / "gnuradio" / "grc" / "blocks"
        if list(installed.glob("rfml_*.block.yml")):
            return str(installed)
    return str(REPO / "grc")


RUN_EXAMPLE = """
import importlib.util, json, sys, time
from PyQt5 import Qt
spec = importlib.util.spec_from_file_location("example", sys.argv[1])
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)
app = Qt.QApplication(["example"])
tb = example.classification_demo()
tb.start()
tb.set_modulation(int(sys.argv[2]))  # the selector knows its inputs once started
tb.show()
start = time.time()
while time.time() - start < 60 and tb.rfml_cam_sink_0.frames_drawn() < 5:
    app.processEvents()
    time.sleep(0.02)
tb.stop()
tb.wait()
app.processEvents()
frame = tb.rfml_cam_sink_0.last_frame()
image = tb.rfml_cam_sink_0.pyqwidget().grab().toImage()
colours = len({image.pixel(x, y) for x in range(0, image.width(), 3)
               for y in range(0, image.height(), 3)})
print(json.dumps({"frames": tb.rfml_cam_sink_0.frames_drawn(),
                  "classified": tb.rfml_tsddae_classifier_0.classified_count(),
                  "note": frame.note if frame else "", "colours": colours}))
"""


def test_classification_example_flowgraph(tmp_path, shipped_weights):
    grcc = shutil.which("grcc")
    if grcc is None:
        pytest.fail("grcc not found: install the Debian package gnuradio (./run.sh setup does)")
    env = quiet_qt_env(tmp_path)
    r = subprocess.run([grcc, "-o", str(tmp_path), str(REPO / "examples/classification_demo.grc")],
                       capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert r.returncode == 0, f"grcc failed:\n{r.stdout}\n{r.stderr}"
    script = tmp_path / "classification_demo.py"
    gfsk = CLASSES.index("GFSK")
    r = subprocess.run(
        [sys.executable, "-c", RUN_EXAMPLE, str(script), str(gfsk)],
        capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, f"the generated flowgraph failed:\n{r.stderr[-3000:]}"
    assert "QStandardPaths" not in r.stderr, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["frames"] >= 5 and got["classified"] >= 16
    assert got["note"] == "classifier: GFSK"  # the chosen class, at the default 10 dB
    assert got["colours"] > 50  # the widget drew trace, maps and bars


def test_readme_example(tmp_path, monkeypatch, shipped_weights):
    """The README's flowgraph, as written there."""
    monkeypatch.chdir(tmp_path)
    from gnuradio import rfml

    tb = gr.top_block()
    src = rfml.mod_source("GFSK", seed=1)
    radio = rfml.loopback(radio="sim")
    noise = rfml.awgn_snr(snr_db=5, vector_length=1024, seed=2)
    to_vec = blocks.stream_to_vector(gr.sizeof_gr_complex, 1024)
    head = blocks.head(gr.sizeof_gr_complex * 1024, 640)
    clf = rfml.tsddae_classifier()
    cam = rfml.cam_sink(png_path="cam_{vector}.png", png_every=128)
    labels = blocks.message_debug()
    tb.connect(src, radio, noise, to_vec, head, clf, cam)
    tb.msg_connect(clf, "classification", labels, "store")
    tb.msg_connect(clf, "classification", cam, "classification")
    tb.run()

    import pmt

    got = [pmt.symbol_to_string(pmt.dict_ref(labels.get_message(i), pmt.intern("label"), None))
           for i in range(labels.num_messages())]  # fmt: skip
    assert len(got) == 640
    assert got.count("GFSK") >= 0.95 * 640
    assert sorted(p.name for p in tmp_path.glob("cam_*.png")) == sorted(
        f"cam_{k}.png" for k in range(0, 640, 128)
    )
