# SPDX-License-Identifier: GPL-3.0-or-later
"""Checkpoints: round trip, strict loading, and clear errors for wrong or broken files."""

import json

import pytest
import torch
from gnuradio.rfml.ml import checkpoint
from gnuradio.rfml.ml.contract import CLASSES
from gnuradio.rfml.ml.models import cam, tsddae


def _save(tmp_path, model, name="m"):
    path = tmp_path / f"{name}.safetensors"
    checkpoint.save(model, {"classes": list(CLASSES)}, path)
    return path


def test_round_trip_gives_the_same_outputs(tmp_path):
    model = tsddae.build("tiny", vector_length=256).eval()
    path = _save(tmp_path, model)
    loaded, card = checkpoint.load(path, kind="tsddae")
    assert not loaded.training
    assert card["kind"] == "tsddae" and card["preset"] == "tiny"
    assert card["vector_length"] == 256 and card["classes"] == list(CLASSES)
    x = torch.randn(2, 2, 256)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))
    # the card is plain JSON and nothing is pickled
    assert json.loads(path.with_suffix(".json").read_text())["config"]["dim"] == 32
    assert path.read_bytes()[8:9] == b"{"  # safetensors: 8-byte length, then a JSON header


def test_other_kind_is_refused(tmp_path):
    path = _save(tmp_path, cam.build("tiny", vector_length=256))
    with pytest.raises(checkpoint.CheckpointError, match="is a 'cam' checkpoint, not 'tsddae'"):
        checkpoint.load(path, kind="tsddae")


def test_weights_of_another_preset_name_the_file_and_keys(tmp_path):
    path = _save(tmp_path, tsddae.build("tiny", vector_length=256))
    small = tsddae.build("small", vector_length=256)
    with pytest.raises(checkpoint.CheckpointError) as e:
        checkpoint.load_weights(small, path)
    msg = str(e.value)
    assert str(path) in msg and "missing keys: " in msg and "layers.1." in msg
    assert "keys of another shape" in msg


def test_weights_of_another_model_name_unexpected_keys(tmp_path):
    path = _save(tmp_path, cam.build("tiny", vector_length=256))
    with pytest.raises(checkpoint.CheckpointError, match="unexpected keys: .*features"):
        checkpoint.load_weights(tsddae.build("tiny", vector_length=256), path)


def test_card_not_matching_weights_is_refused(tmp_path):
    path = _save(tmp_path, tsddae.build("tiny", vector_length=256))
    card = json.loads(path.with_suffix(".json").read_text())
    card["config"]["depth"] = 2
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(checkpoint.CheckpointError, match="missing keys: .*layers.1."):
        checkpoint.load(path)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        checkpoint.load(tmp_path / "nothing.safetensors")
    path = _save(tmp_path, tsddae.build("tiny", vector_length=256))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError, match="not a readable safetensors file"):
        checkpoint.load(path)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(checkpoint.CheckpointError, match="not a readable JSON card"):
        checkpoint.load(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(checkpoint.CheckpointError, match="card .* is missing"):
        checkpoint.load(path)


def test_save_checks_classes_and_suffix(tmp_path):
    model = tsddae.build("tiny", n_classes=3, vector_length=256)
    with pytest.raises(checkpoint.CheckpointError, match="one class name per output"):
        checkpoint.save(model, {"classes": list(CLASSES)}, tmp_path / "m.safetensors")
    with pytest.raises(checkpoint.CheckpointError, match="must end in .safetensors"):
        checkpoint.save(model, {"classes": ["a", "b", "c"]}, tmp_path / "m.pt")


def test_shipped_names_the_kinds():
    # a kind without shipped weights; the message lists those that have them
    with pytest.raises(
        checkpoint.CheckpointError, match=r"choose one of cam, cnn_baseline, (\w+, )*tsddae"
    ):
        checkpoint.shipped("resnet")
