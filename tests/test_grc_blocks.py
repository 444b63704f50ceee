# SPDX-License-Identifier: GPL-3.0-or-later
"""Every GRC block at its defaults: it compiles with grcc in a flowgraph holding only it
(null sources and sinks on its required ports) and runs there without stalling; the
compile-time checks of the CAM sinks (QT GUI needed, a PNG path needed) hold."""

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
GRC = REPO / "grc"
BLOCKS = sorted(p.name.removesuffix(".block.yml") for p in GRC.glob("rfml_*.block.yml"))
CATEGORIES = {"[RFML]/Sources", "[RFML]/Channel", "[RFML]/ML", "[RFML]/GUI", "[RFML]/DSP"}
# The Python blocks are the files of python/rfml/ (one block per file); the C++ ones:
PYTHON_BLOCKS = tuple(sorted(p.stem for p in (REPO / "python" / "rfml").glob("*.py")
                             if not p.stem.startswith(("qa_", "_"))))  # fmt: skip
CXX_BLOCKS = ("constellation", "impairments", "capture_sink")


def block_yaml(block_id):
    return yaml.safe_load((GRC / f"{block_id}.block.yml").read_text())


def default_of(spec, template):
    """A port's ``${expression}`` template evaluated at the parameters' defaults (an enum
    parameter is its option string, quotes included, as GRC has it)."""
    template = str(template)
    if not template.startswith("${"):
        return template
    values = {}
    for p in spec["parameters"]:
        try:
            values[p["id"]] = (p.get("default", "") if p.get("dtype") == "enum"
                               else ast.literal_eval(str(p.get("default", ""))))  # fmt: skip
        except (ValueError, SyntaxError):
            values[p["id"]] = p.get("default", "")
    return eval(template[2:-1], {"len": len}, values)


def flowgraph(block_id, generate="no_gui", **overrides):
    """A .grc flowgraph (dict) holding the block at its defaults (and ``overrides``),
    null sources on its required stream inputs and null sinks on its required outputs."""
    spec = block_yaml(block_id)
    blocks = [{"name": "dut", "id": block_id, "parameters": dict(overrides),
               "states": {"state": "enabled"}}]  # fmt: skip
    connections = []
    for direction, other in (("inputs", "blocks_null_source"), ("outputs", "blocks_null_sink")):
        ports = [p for p in spec.get(direction, []) if p.get("domain") == "stream"]
        # a port with a multiplicity is that many ports (e.g. one input per class)
        ports = [p for p in ports for _ in range(int(default_of(spec, p.get("multiplicity", 1))))]
        for k, port in enumerate(ports):
            if port.get("optional") or str(default_of(spec, port.get("hide", False))) == "True":
                continue
            name = f"{direction}_{k}"
            vlen = str(default_of(spec, port.get("vlen", 1)))
            blocks.append({"name": name, "id": other, "states": {"state": "enabled"},
                           "parameters": {"type": port["dtype"], "vlen": vlen}})  # fmt: skip
            pair = (
                [name, "0", "dut", str(k)] if direction == "inputs" else ["dut", str(k), name, "0"]
            )
            connections.append(pair)
    # required message ports: a strobe of non-packet messages in, a debug sink out
    for k, port in enumerate(p for p in spec.get("inputs", []) if p.get("domain") == "message"):
        if not port.get("optional"):
            strobe = {"msg": 'pmt.intern("TEST")', "period": "100"}
            blocks.append({"name": f"strobe_{k}", "id": "blocks_message_strobe",
                           "states": {"state": "enabled"}, "parameters": strobe})  # fmt: skip
            connections.append([f"strobe_{k}", "strobe", "dut", port["id"]])
    for k, port in enumerate(p for p in spec.get("outputs", []) if p.get("domain") == "message"):
        if not port.get("optional"):
            blocks.append({"name": f"debug_{k}", "id": "blocks_message_debug",
                           "states": {"state": "enabled"}, "parameters": {}})  # fmt: skip
            connections.append(["dut", port["id"], f"debug_{k}", "store"])
    options = {"parameters": {"id": "fg", "generate_options": generate, "title": block_id,
                              "output_language": "python"},
               "states": {"state": "enabled"}}  # fmt: skip
    return {"options": options, "blocks": blocks, "connections": connections,
            "metadata": {"file_format": 1}}  # fmt: skip


def grcc(tmp_path, name, graph):
    """Compile ``graph`` with grcc; (exit status, output, generated script)."""
    exe = shutil.which("grcc")
    if exe is None:
        pytest.fail("grcc not found: install the Debian package gnuradio (./run.sh setup does)")
    folder = tmp_path / name
    folder.mkdir()
    source = folder / f"{name}.grc"
    source.write_text(yaml.safe_dump(graph))
    r = subprocess.run([exe, "-o", str(folder), str(source)], capture_output=True, text=True,
                       env={**os.environ, "GRC_BLOCKS_PATH": str(GRC)}, timeout=120)  # fmt: skip
    return r.returncode, r.stdout + r.stderr, folder / "fg.py"


# Runs a generated flowgraph for about 3 s and prints "flows" when the items through the
# block kept increasing (or the flowgraph ended by itself), else "stalled". A block fed only
# by messages (argv[2] == "messages") has no items to count: it must keep running, fed with
# messages that are not what it expects, without an error.
RUNNER = textwrap.dedent("""
    import importlib.util, sys, threading, time
    from PyQt5 import QtWidgets
    app = QtWidgets.QApplication(["fg"])
    spec = importlib.util.spec_from_file_location("fg", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tb = module.fg()
    probe = getattr(tb, "outputs_0", None) or tb.dut
    done = threading.Event()
    tb.start()
    threading.Thread(target=lambda: (tb.wait(), done.set()), daemon=True).start()
    counts = []
    for _ in range(3):
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not done.is_set():
            app.processEvents()
            time.sleep(0.01)
        counts.append(probe.nitems_read(0))
    ended = done.is_set()
    tb.stop()
    tb.wait()
    messages = len(sys.argv) > 2 and sys.argv[2] == "messages"
    flowing = ended or counts[2] > counts[1] > counts[0] or (messages and not ended)
    print("RESULT", "flows" if flowing else "stalled", counts)
""")


def test_every_block_has_a_yaml_and_a_sub_category():
    ids = {name.removeprefix("rfml_") for name in BLOCKS}
    assert ids == set(PYTHON_BLOCKS) | set(CXX_BLOCKS)
    for block_id in BLOCKS:
        spec = block_yaml(block_id)
        assert spec["category"] in CATEGORIES, block_id
        assert "Parameters:" in spec["documentation"], block_id


@pytest.mark.parametrize("block_id", BLOCKS)
def test_defaults_compile_and_never_stall(tmp_path, block_id):
    generate = "qt_gui" if "need_qt_gui" in block_yaml(block_id)["flags"] else "no_gui"
    rc, out, script = grcc(tmp_path, block_id, flowgraph(block_id, generate))
    assert rc == 0, f"grcc failed for {block_id}:\n{out}"
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    spec = block_yaml(block_id)
    streams = [p for p in spec.get("inputs", []) if p.get("domain") == "stream"]
    fed = "stream" if streams else "messages"
    r = subprocess.run([sys.executable, "-c", RUNNER, str(script), fed], capture_output=True,
                       text=True, timeout=180, cwd=tmp_path, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert "RESULT flows" in r.stdout, f"{block_id}: {r.stdout[-2000:]}{r.stderr[-2000:]}"


def test_cam_sinks_are_checked_when_compiled(tmp_path):
    rc, out, _ = grcc(tmp_path, "gui_sink_no_gui", flowgraph("rfml_cam_sink", "no_gui"))
    assert rc != 0 and "Can't generate this block in mode: 'no_gui'" in out, out
    rc, out, _ = grcc(tmp_path, "png_sink_no_path",
                      flowgraph("rfml_cam_png_sink", "no_gui", png_path=""))  # fmt: skip
    assert rc != 0 and "len(png_path) > 0" in out, out
    rc, out, _ = grcc(tmp_path, "png_sink", flowgraph("rfml_cam_png_sink", "no_gui"))
    assert rc == 0, out
