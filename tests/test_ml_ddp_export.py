# SPDX-License-Identifier: GPL-3.0-or-later
"""Beyond one process and beyond torch: `rfml train` under torchrun (two CPU processes,
DistributedDataParallel over gloo) and `rfml export` to ONNX checked with onnxruntime."""

import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from gnuradio.rfml.apps.__main__ import main as rfml
from gnuradio.rfml.ml import checkpoint, export, models
from gnuradio.rfml.ml.contract import CLASSES

L = 256


def write_tones(path, n, seed):
    """A gr-rfml HDF5 file: class c is a tone at (c + 1) / 16 cycles per sample plus noise."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, len(CLASSES), n)
    t = np.arange(L)
    z = np.exp(1j * (2 * np.pi * (label[:, None] + 1) / 16 * t + rng.uniform(0, 6, (n, 1))))
    clean = np.stack([z.real, z.imag], 1).astype(np.float32)
    iq = clean + 0.3 * rng.standard_normal(clean.shape).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["iq"], f["clean"], f["label"] = iq, clean, label.astype(np.int64)
        f["snr_db"] = np.full(n, 10.0, np.float32)
        f.attrs.update(classes=list(CLASSES), sample_rate=1e6, samples_per_symbol=10,
                       radio="sim", seed=seed)  # fmt: skip
    return path


def test_torchrun_two_processes_train_and_rank0_writes(tmp_path):
    data = write_tones(tmp_path / "train.h5", 400, 1)
    out = tmp_path / "ddp.safetensors"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--standalone", "-m", "gnuradio.rfml.apps", "train", "cnn_baseline", "fit",
           "--data", str(data), "--out", str(out), "--preset", "tiny", "--epochs", "2",
           "--batch-size", "32", "--threads", "1", "--device", "cpu", "--quiet"]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert r.stdout.count("wrote ") == 1  # only rank 0 writes
    model, card = checkpoint.load(out, kind="cnn_baseline")
    result = card["training"]["result"]
    assert result["processes"] == 2
    # 400 vectors, 20 held out, 380 dealt to two processes: 190 each, 5 steps of 32 an epoch
    assert card["training"]["train_vectors"] == 380 and card["training"]["val_vectors"] == 20
    assert result["steps"] == 10 and result["epochs"] == 2
    assert not out.with_name("ddp.resume.safetensors").exists()


@pytest.mark.parametrize("kind", models.kinds())
def test_onnx_export_matches_torch(kind, tmp_path):
    """Every registered model exports (a codec: an encoder and a decoder per level) and
    onnxruntime gives torch's outputs (a codec's codes exactly) on random and real vectors.
    DenoMAE's graph takes the constellation images the C++ renderer makes as a second input."""
    model = models.get(kind).build("tiny", vector_length=L).eval()
    path = tmp_path / f"{kind}.onnx"
    written = export.export_onnx(model, path)
    expected = 2 * len(model.levels()) if models.get(kind).ROLE == "codec" else 1
    assert len(written) == expected and all(p.stat().st_size > 1000 for p in written)
    rng = np.random.default_rng(0)
    random = rng.standard_normal((5, 2, L)).astype(np.float32)
    real = np.asarray(h5py.File(write_tones(tmp_path / "t.h5", 16, 2))["iq"])
    assert export.check_onnx(model, path, random) < 1e-4
    assert export.check_onnx(model, path, real) < 1e-4
    if kind == "denomae":
        import onnxruntime as ort

        inputs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()
        assert [(i.name, i.shape[1:]) for i in inputs] == [
            ("iq", [2, L]), ("image", [len(model.windows), model.image_size, model.image_size])
        ]  # fmt: skip


def test_rfml_export_checks_with_real_vectors(tmp_path, capsys):
    data = write_tones(tmp_path / "d.h5", 64, 3)
    ckpt = tmp_path / "cam.safetensors"
    model = models.get("cam").build("tiny", vector_length=L)
    checkpoint.save(model, {"classes": list(CLASSES)}, ckpt)
    onnx_path = tmp_path / "cam.onnx"
    assert rfml(["export", str(ckpt), "--onnx", str(onnx_path), "--data", str(data)]) == 0
    text = capsys.readouterr().out
    assert "on random vectors" in text and f"on {data} vectors" in text and onnx_path.is_file()
    other = write_tones(tmp_path / "short.h5", 4, 4)
    with h5py.File(other, "a") as f:  # vectors of another length
        del f["iq"]
        f["iq"] = np.zeros((4, 2, 128), np.float32)
    with pytest.raises(ValueError, match="vectors of 128 samples, the model takes 256"):
        rfml(["export", str(ckpt), "--onnx", str(onnx_path), "--data", str(other)])
    assert json.loads(ckpt.with_suffix(".json").read_text())["kind"] == "cam"
