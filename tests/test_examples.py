# SPDX-License-Identifier: GPL-3.0-or-later
"""The example flowgraphs compile with grcc and run headless."""

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
