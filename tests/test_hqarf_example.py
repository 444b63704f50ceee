# SPDX-License-Identifier: GPL-3.0-or-later
"""examples/codec_link.grc compiles with grcc into a flowgraph holding the codec link."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_codec_link_compiles(tmp_path):
    if shutil.which("grcc") is None:
        pytest.fail("grcc not found: install the Debian package gnuradio (./run.sh setup does)")
    # The repository's block YAML first, so the test sees the blocks of this checkout.
    paths = [str(REPO / "grc"), os.environ.get("GRC_BLOCKS_PATH", "")]
    env = {**os.environ, "GRC_BLOCKS_PATH": os.pathsep.join(p for p in paths if p)}
    r = subprocess.run(["grcc", "-o", str(tmp_path), str(REPO / "examples" / "codec_link.grc")],
                       capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert r.returncode == 0, f"grcc failed:\n{r.stdout}\n{r.stderr}"
    code = (tmp_path / "codec_link.py").read_text()
    for part in ("rfml.hqarf_compressor(", "rfml.hqarf_decompressor(", "zeromq.pub_msg_sink(",
                 "zeromq.sub_msg_source(", "rfml.tsddae_classifier(", ".set_level("):  # fmt: skip
        assert part in code, part
    # The meter's accuracy() and the compressor's packet_bytes() are polled for the labels.
    assert ".packet_bytes()" in code and ".accuracy()" in code
