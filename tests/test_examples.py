# SPDX-License-Identifier: GPL-3.0-or-later
"""The example flowgraphs compile with grcc and run headless."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gnuradio.rfml
import numpy as np
import pytest
from gnuradio.rfml import dsp

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def grc_blocks_path():
    """GRC_BLOCKS_PATH holding this module's block YAML: the installed copy beside the
    package in use (<prefix>/share/gnuradio/grc/blocks), else the repository's grc/."""
    package = Path(gnuradio.rfml.__file__).resolve().parent
    for parent in package.parents:
        installed = parent / "share" / "gnuradio" / "grc" / "blocks"
        if list(installed.glob("rfml_*.block.yml")):
            return str(installed)
    return str(REPO / "grc")


def compile_example(name, out_dir):
    """grcc EXAMPLES/name -> out_dir; returns the generated script."""
    grcc = shutil.which("grcc")
    if grcc is None:
        pytest.fail("grcc not found: install the Debian package gnuradio (./run.sh setup does)")
    env = {**os.environ, "GRC_BLOCKS_PATH": grc_blocks_path()}
    r = subprocess.run(
        [grcc, "-o", str(out_dir), str(EXAMPLES / name)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, f"grcc failed:\n{r.stdout}\n{r.stderr}"
    script = out_dir / (Path(name).stem + ".py")
    assert script.is_file(), f"grcc wrote {sorted(p.name for p in out_dir.iterdir())}"
    return script


def test_dataset_generation_flowgraph(tmp_path):
    script = compile_example("dataset_generation.grc", tmp_path)
    out, noise = tmp_path / "x.cf32", tmp_path / "n.cf32"
    n, length, snr = 64 * 1024, 1024, 5.0
    r = subprocess.run(
        [sys.executable, str(script), "-o", str(out), "--noise-file", str(noise), "-n", str(n),
         "-l", str(length), "-s", str(snr)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    y = np.fromfile(out, dtype=np.complex64)
    w = np.fromfile(noise, dtype=np.complex64)
    assert len(y) == len(w) == n
    # awgn_snr sets the SNR of every vector of `length` samples exactly
    measured = dsp.snr_db((y - w).reshape(-1, length), w.reshape(-1, length))
    assert np.max(np.abs(measured - snr)) < 0.05
    # the loopback output is the unit-power DQPSK signal
    signal_power = np.mean(np.abs(y - w) ** 2)
    assert 0.9 < signal_power < 1.1


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.grc")))
def test_example_compiles(name, tmp_path):
    compile_example(name, tmp_path)


def test_bladerf_loopback_capture_with_sim_radio_writes_sigmf(tmp_path):
    from gnuradio.rfml.ml.contract import CLASSES
    from gnuradio.rfml.ml.datasets import read_dataset

    script = compile_example("bladerf_loopback_capture.grc", tmp_path)
    out = tmp_path / "recording"
    r = subprocess.run(
        [sys.executable, str(script), "--snr-db", "10", "--vectors", "32", "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"SigMF recording: {out}.sigmf-meta" in r.stdout
    ds = read_dataset(out)
    assert len(ds) == 32 and ds.vector_length == 1024
    assert set(ds.label) == {CLASSES.index("GFSK")} and set(ds.snr_db) == {10.0}
    # unit signal power through the loopback plus noise at 10 dB: 1.1 per vector
    power = np.mean(ds.iq.astype(np.float64) ** 2, axis=(1, 2)) * 2
    assert np.all(np.abs(power - 1.1) < 0.1), power


def test_bladerf_loopback_capture_without_a_bladerf_says_what_to_do(tmp_path):
    """The loopback's Radio switched to BladeRF, as in GRC's properties dialog."""
    flowgraph = (EXAMPLES / "bladerf_loopback_capture.grc").read_text()
    assert flowgraph.count("radio: '\"sim\"'") == 1
    switched = tmp_path / "src" / "bladerf_loopback_capture.grc"
    switched.parent.mkdir()
    switched.write_text(flowgraph.replace("radio: '\"sim\"'", "radio: '\"bladerf\"'"))
    script = compile_example(switched, tmp_path)
    r = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "rec")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    if r.returncode == 0:
        pytest.skip("a BladeRF is attached: the capture ran on it")
    assert "driver=bladerf" in r.stderr and "radio='sim'" in r.stderr, r.stderr
    assert not (tmp_path / "rec.sigmf-meta").exists()


RUN_QT_EXAMPLE = """
import importlib.util, json, sys, time
from PyQt5 import Qt
path, top, modulation, png = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
spec = importlib.util.spec_from_file_location("example", path)
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)
app = Qt.QApplication(["example"])
tb = getattr(example, top)()
tb.start()
tb.set_modulation(modulation)  # switched while running: the class tags must follow
tb.resize(1400, 1000)
tb.show()
classifier, cam = tb.rfml_tsddae_classifier_0, tb.rfml_cam_sink_0


def run(seconds, done=lambda: False):
    end = time.time() + seconds
    while time.time() < end and not done():
        app.processEvents()
        time.sleep(0.02)


run(60, lambda: cam.frames_drawn() >= 5)  # the model is warm, the widget drawing
n0, t0 = classifier.classified_count(), time.time()
run(4)
rate = (classifier.classified_count() - n0) / (time.time() - t0)
tb.stop()
tb.wait()
app.processEvents()
image = tb.grab().toImage()
image.save(png)
colours = len({image.pixel(x, y) for x in range(0, image.width(), 4)
               for y in range(0, image.height(), 4)})
figures = {"rate": rate, "frames": cam.frames_drawn(), "note": cam.last_frame().note,
           "colours": colours}
if hasattr(tb, "rfml_hqarf_compressor_0"):  # the codec chain: link and denoiser figures
    figures["packet_bytes"] = tb.rfml_hqarf_compressor_0.packet_bytes()
    figures["packets"] = tb.rfml_hqarf_compressor_0.packet_count()
    figures["accuracy"] = tb.epy_block_0.accuracy()
    figures["scored"] = len(tb.epy_block_0.hits)
    figures["truth"] = tb.epy_block_0.truth
    figures["denoised"] = tb.rfml_denomae_denoiser_0.denoised_count()
    figures["classified"] = classifier.classified_count()
print(json.dumps(figures))
"""


def run_qt_example(name, modulation, tmp_path):
    """Compile a QT GUI example, run it offscreen with the class ``modulation`` chosen;
    returns (figures of RUN_QT_EXAMPLE, stderr)."""
    from gnuradio.rfml.ml.contract import CLASSES

    script = compile_example(name, tmp_path)
    runtime = tmp_path / "xdg"  # private (mode 0700), so that Qt prints nothing about it
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    png = tmp_path / f"{script.stem}.png"
    r = subprocess.run(
        [sys.executable, "-c", RUN_QT_EXAMPLE, str(script), script.stem,
         str(CLASSES.index(modulation)), str(png)],
        capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, f"the generated flowgraph failed:\n{r.stderr[-3000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr


def test_realtime_classification_example_runs(tmp_path):
    """The GRC realtime example at 1 MS/s, offscreen: spectrum, constellation, CAM widget."""
    got, _ = run_qt_example("realtime_classification.grc", "DBPSK", tmp_path)
    assert got["note"] == "classifier: DBPSK"  # the chosen class, at the default 10 dB
    assert got["rate"] >= 0.5 * 1e6 / 1024, got  # in real time (1 MS/s offered)
    assert got["colours"] > 100, got  # spectrum, constellation and CAM drawn


def test_classification_demo_example_runs(tmp_path):
    got, stderr = run_qt_example("classification_demo.grc", "GFSK", tmp_path)
    assert "QStandardPaths" not in stderr, stderr
    assert got["frames"] >= 5 and got["rate"] > 0, got
    assert got["note"] == "classifier: GFSK"  # the chosen class, at the default 10 dB
    assert got["colours"] > 50, got  # the widget drew trace, maps and bars


def test_full_chain_example_runs(tmp_path):
    """Source -> loopback -> AWGN -> denoiser -> compressor -> decompressor -> classifier ->
    CAM display, offscreen at the defaults (10 dB, codec level 3, denoiser on)."""
    got, _ = run_qt_example("full_chain.grc", "DQPSK", tmp_path)
    assert got["frames"] >= 5 and got["rate"] > 0, got
    assert got["colours"] > 50, got  # the CAM widget drew
    # every vector was denoised, sent as one packet of the level-3 size and classified
    assert got["denoised"] >= got["packets"] >= got["classified"] > 0, got
    from gnuradio.rfml.ml.packet import HEADER_BYTES

    assert HEADER_BYTES < got["packet_bytes"] < 1024 * 4 / 40, got  # over 40:1 vs 16-bit I/Q
    # the link meter scored the decoded vectors against the class tags that came through the
    # packets, and its truth followed the switch from the first class to DQPSK (its accuracy
    # depends on the models: docs/denomae.md, docs/hqarf.md)
    assert got["truth"] == "DQPSK", got
    assert got["scored"] > 0 and 0 <= got["accuracy"] <= 100, got
