# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml train` and `rfml eval` end to end on tiny data set files the test writes:
gr-rfml HDF5, RadioML 2016.10A pickle and RadioML 2018.01A HDF5."""

import json
import pickle

import h5py
import numpy as np
import pytest
import torch
from gnuradio.rfml.apps.__main__ import main as rfml
from gnuradio.rfml.ml import checkpoint, datasets, models

L = 256
CLASSES = ("OOK", "GFSK", "GMSK")
SNRS = (-10.0, 0.0, 10.0)


def tones(n, seed, n_classes=3, length=L):
    """Class c = a tone at (c + 1) / 16 cycles per sample, random phase and scale, noise at
    one of SNRS: complex (n, L), label (n,), snr (n,)."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % n_classes
    snr = np.asarray(SNRS, np.float32)[(np.arange(n) // n_classes) % len(SNRS)]
    t = np.arange(length)
    s = np.exp(1j * (2 * np.pi * (label[:, None] + 1) / 16 * t + rng.uniform(0, 7, (n, 1))))
    noise = (rng.standard_normal((n, length)) + 1j * rng.standard_normal((n, length))) / 2**0.5
    scale = rng.uniform(0.5, 2.0, (n, 1))
    x = scale * (s + 10 ** (-snr[:, None] / 20) * noise)
    return x.astype(np.complex64), label.astype(np.int64), snr


def write_rfml(path, n, seed):
    x, label, snr = tones(n, seed)
    ds = datasets.Dataset(
        iq=datasets.as_tensor(x), clean=datasets.as_tensor(x), label=label, snr_db=snr,
        classes=CLASSES,
        attrs={"sample_rate": 1e6, "samples_per_symbol": 10, "radio": "sim", "seed": seed},
    )  # fmt: skip
    datasets.write_dataset(path, ds)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    return {"train": write_rfml(d / "train.h5", 360, 1), "test": write_rfml(d / "test.h5", 180, 2),
            "dir": d}  # fmt: skip


def _card(path):
    return json.loads(checkpoint.card_path(path).read_text())


def test_pretrain_finetune_eval(files):
    d = files["dir"]
    pre = d / "pre.safetensors"
    common = ["--preset", "tiny", "--batch-size", "32", "--quiet"]
    assert rfml(["train", "tsddae", "pretrain", "--data", str(files["train"]), "--out", str(pre),
                 "--epochs", "1", *common]) == 0  # fmt: skip
    card = _card(pre)
    assert card["kind"] == "tsddae" and card["training"]["stage"] == "pretrain"
    assert card["training"]["result"]["steps"] == (360 - 18) // 32
    assert card["command"].startswith("rfml train tsddae pretrain")

    fine = d / "fine.safetensors"
    assert rfml(["train", "tsddae", "finetune", "--data", str(files["train"]), "--init", str(pre),
                 "--out", str(fine), "--test", str(files["test"]), "--epochs", "5",
                 "--lr", "3e-3", *common]) == 0  # fmt: skip
    card = _card(fine)
    assert card["training"]["stage"] == "finetune"
    assert card["training"]["pretraining"]["stage"] == "pretrain"
    assert card["classes"] == list(CLASSES)
    acc = card["metrics"]["test"]["accuracy"]
    assert acc > 0.9
    assert set(card["metrics"]["test"]["per_snr"]) == {"-10", "0", "10"}

    base = d / "base.safetensors"
    assert rfml(["train", "cnn_baseline", "fit", "--data", str(files["train"]), "--out", str(base),
                 "--epochs", "5", *common]) == 0  # fmt: skip
    # a plain classifier's training continues from a checkpoint (--init), with a new budget
    more = d / "base_more.safetensors"
    assert rfml(["train", "cnn_baseline", "fit", "--data", str(files["train"]), "--init",
                 str(base), "--out", str(more), "--epochs", "1", *common]) == 0  # fmt: skip
    start = checkpoint.load(base, kind="cnn_baseline")[0].state_dict()
    assert any(not torch.equal(start[k], v) for k, v in
               checkpoint.load(more, kind="cnn_baseline")[0].state_dict().items())  # fmt: skip
    assert f"--init {base}" in _card(more)["command"]

    out_json, plots = d / "eval.json", d / "plots"
    assert rfml(["eval", "--model", str(fine), "--data", str(files["test"]), "--json",
                 str(out_json), "--plots", str(plots), "--baseline", str(base),
                 "--record", "nominal"]) == 0  # fmt: skip
    report = json.loads(out_json.read_text())
    assert report["accuracy"] == pytest.approx(acc)
    assert report["classes"] == list(CLASSES)
    assert set(report["per_snr"]) == {"-10", "0", "10"}
    confusion = np.array(report["confusion"])
    assert confusion.shape == (3, 3) and confusion.sum() == 180
    assert np.trace(confusion) / 180 == pytest.approx(acc)
    assert 0 <= report["baseline"]["accuracy"] <= 1
    for name in ("accuracy_vs_snr.png", "confusion_0dB.png", "confusion_10dB.png"):
        png = (plots / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    # -5 dB is not in the data and no bin lies within 1 dB of it: no such plot
    assert not (plots / "confusion_-5dB.png").exists()
    assert _card(fine)["metrics"]["nominal"]["accuracy"] == pytest.approx(acc)


def test_cam_and_few_labels(files):
    d = files["dir"]
    cam_path = d / "cam.safetensors"
    assert rfml(["train", "cam", "fit", "--data", str(files["train"]), "--out", str(cam_path),
                 "--preset", "tiny", "--epochs", "6", "--batch-size", "32",
                 "--test", str(files["test"]), "--quiet"]) == 0  # fmt: skip
    model, card = checkpoint.load(cam_path, kind="cam")
    assert card["metrics"]["test"]["accuracy"] > 0.9 and hasattr(model, "cam")

    pre = d / "pre2.safetensors"
    rfml(["train", "tsddae", "pretrain", "--data", str(files["train"]), "--out", str(pre),
          "--preset", "tiny", "--epochs", "1", "--quiet"])  # fmt: skip
    assert rfml(["train", "tsddae", "few-labels", "--data", str(files["train"]),
                 "--init", str(pre),
                 "--test", str(files["test"]), "--labels", "2,5", "--epochs", "3",
                 "--record-into", str(cam_path), "--quiet"]) == 0  # fmt: skip
    few = _card(cam_path)["metrics"]["few_labels"]["results"]
    assert few["2"]["labelled_vectors"] == 2 * 3 * 3 and few["5"]["labelled_vectors"] == 45
    for arm in ("pretrained", "scratch", "linear_probe"):
        assert 0 <= few["5"][arm]["accuracy"] <= 1


def test_radioml_files_train_and_eval(tmp_path):
    rng = np.random.default_rng(3)
    x, label, snr = tones(96, seed=4, length=128)
    data = {}
    for c, name in enumerate(("BPSK", "QPSK", "GFSK")):
        for s in SNRS:
            sel = (label == c) & (snr == s)
            data[(name, int(s))] = np.stack([x[sel].real, x[sel].imag], 1).astype(np.float32)
    pkl = tmp_path / "RML2016.10a_dict.pkl"
    with open(pkl, "wb") as f:
        pickle.dump(data, f, protocol=2)
    model = tmp_path / "rml16.safetensors"
    assert rfml(["train", "cnn_baseline", "fit", "--data", str(pkl), "--out", str(model),
                 "--preset", "tiny", "--epochs", "2", "--quiet"]) == 0  # fmt: skip
    card = _card(model)
    assert card["vector_length"] == 128 and card["classes"] == ["BPSK", "GFSK", "QPSK"]
    assert card["training"]["data"]["format"] == "radioml2016"
    out = tmp_path / "e.json"
    assert rfml(["eval", "--model", str(model), "--data", str(pkl), "--json", str(out),
                 "--plots", ""]) == 0  # fmt: skip
    assert set(json.loads(out.read_text())["per_snr"]) == {"-10", "0", "10"}

    h5 = tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5"
    with h5py.File(h5, "w") as f:
        f["X"] = rng.normal(size=(24, 1024, 2)).astype(np.float32)
        f["Y"] = np.eye(24, dtype=np.int64)[np.arange(24)]
        f["Z"] = np.full((24, 1), 10)
    with pytest.raises(ValueError, match="classes the model does not know: OOK"):
        rfml(["eval", "--model", str(model), "--data", str(h5), "--plots", ""])
    model18 = tmp_path / "rml18.safetensors"
    assert rfml(["train", "cam", "fit", "--data", str(h5), "--out", str(model18),
                 "--preset", "tiny", "--epochs", "1", "--val-fraction", "0",
                 "--quiet"]) == 0  # fmt: skip
    assert _card(model18)["vector_length"] == 1024 and len(_card(model18)["classes"]) == 24


def test_set_changes_preset_settings_and_is_recorded(files):
    out = files["dir"] / "deep.safetensors"
    assert rfml(["train", "cnn_baseline", "fit", "--data", str(files["train"]), "--out",
                 str(out), "--preset", "tiny", "--set", "widths=[4, 8]", "--set", "kernel=3",
                 "--epochs", "1", "--quiet"]) == 0  # fmt: skip
    model, card = checkpoint.load(out, kind="cnn_baseline")
    assert card["config"]["widths"] == [4, 8] and card["config"]["kernel"] == 3
    assert "--set 'widths=[4, 8]' --set kernel=3" in card["command"]
    with pytest.raises(ValueError, match="cnn_baseline has no setting depth: choose among"):
        rfml(["train", "cnn_baseline", "fit", "--data", str(files["train"]), "--out", str(out),
              "--preset", "tiny", "--set", "depth=3"])  # fmt: skip
    with pytest.raises(ValueError, match="--set needs KEY=VALUE"):
        rfml(["train", "cnn_baseline", "fit", "--data", str(files["train"]), "--out", str(out),
              "--set", "depth"])  # fmt: skip
    # with --init, --set may add weights (a DenoMAE refinement head), not change them
    pre = files["dir"] / "grow.safetensors"
    length = _card(out)["vector_length"]
    checkpoint.save(models.get("tsddae").build("tiny", n_classes=3, vector_length=length),
                    {"classes": _card(out)["classes"]}, pre)  # fmt: skip
    with pytest.raises(ValueError, match="settings dim change weights that .* holds"):
        rfml(["train", "tsddae", "finetune", "--data", str(files["train"]), "--out", str(out),
              "--init", str(pre), "--set", "dim=16"])  # fmt: skip


def test_errors_name_what_to_do(files):
    with pytest.raises(ValueError, match="needs --out"):
        rfml(["train", "cam", "fit", "--data", str(files["train"])])
    with pytest.raises(ValueError, match="needs --init"):
        rfml(["train", "tsddae", "few-labels", "--data", str(files["train"])])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rfml(["eval", "--model", str(files["dir"] / "none.safetensors"),
              "--data", str(files["test"])])  # fmt: skip


def test_eval_suite_generates_once_and_scores(tmp_path, capsys):
    """`rfml eval --suite boundary`: the suite is generated at the model's vector length into
    the cache folder on first use, reused after, and scored per SNR; --data and --suite
    exclude each other."""
    cache, out = tmp_path / "cache", tmp_path / "suites.json"
    argv = ["eval", "--suite", "boundary", "--cache-dir", str(cache), "--json", str(out),
            "--device", "cpu"]  # fmt: skip
    assert rfml(argv) == 0
    (made,) = cache.glob("test_boundary_L1024_*.h5")
    report = json.loads(out.read_text())["boundary"]["tsddae_small"]
    assert set(report["per_snr"]) == {"-10", "-5", "0", "5", "10", "20"}
    assert report["n"] == 2 * 150 * 6 and 0.3 < report["accuracy"] <= 1.0
    stamp = made.stat().st_mtime_ns
    capsys.readouterr()
    assert rfml(argv) == 0
    assert "generating" not in capsys.readouterr().out and made.stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="one of them"):
        rfml(["eval", "--suite", "wide", "--data", str(out)])
    with pytest.raises(ValueError, match="unknown suite huge"):
        rfml(["eval", "--suite", "huge", "--cache-dir", str(cache)])


def test_eval_scores_chosen_classes_by_a_generation_parameter(tmp_path, capsys):
    """`rfml eval --classes GMSK --by bt=...`: only GMSK vectors are scored, each in the BT
    bin it was made with, and the bins add up to the whole; a parameter or class the data
    lacks, or edges out of order, are refused with what there is."""
    cache, out = tmp_path / "cache", tmp_path / "by.json"
    argv = ["eval", "--suite", "boundary", "--cache-dir", str(cache), "--json", str(out),
            "--device", "cpu", "--classes", "gmsk", "--by", "bt=0.1,0.2,0.3"]  # fmt: skip
    assert rfml(argv) == 0
    assert "accuracy by bt:" in capsys.readouterr().out
    report = json.loads(out.read_text())["boundary"]["tsddae_small"]
    assert report["n"] == 150 * 6  # the GMSK half of the suite
    bins = report["by"]["bins"]
    assert report["by"]["param"] == "bt" and [(b["low"], b["high"]) for b in bins] == [
        (0.1, 0.2), (0.2, 0.3)]  # fmt: skip
    assert sum(b["n"] for b in bins) == report["n"] and min(b["n"] for b in bins) > 100
    whole = sum(b["accuracy"] * b["n"] for b in bins) / report["n"]
    assert whole == pytest.approx(report["accuracy"])
    with pytest.raises(ValueError, match="no per-vector parameter 'height'.*bt"):
        rfml([*argv[:-1], "height"])
    with pytest.raises(ValueError, match="no class QAM16 .*GFSK, GMSK"):
        rfml([*argv[:-3], "QAM16"])
    with pytest.raises(SystemExit):
        rfml([*argv[:-1], "bt=0.3,0.1"])


def test_by_table_keeps_a_column_per_bin_when_three_digits_would_merge_them():
    """`--by` column heads have 3 significant digits; bins that would read alike get as many
    as tell them apart."""
    import itertools

    from gnuradio.rfml.apps.eval import _by_table

    def report(edges):
        bins = [dict(low=lo, high=hi, n=2, accuracy=0.5, per_snr={"0": 0.5})
                for lo, hi in itertools.pairwise(edges)]  # fmt: skip
        return {"by": {"param": "bt", "bins": bins}}

    heads = _by_table(report([0.1, 0.2, 0.3])).splitlines()[1].split()
    assert heads == ["SNR", "dB", "0.1-0.2", "0.2-0.3"]
    heads = _by_table(report([0.10001, 0.10002, 0.10003])).splitlines()[1].split()
    assert heads[2:] == ["0.10001-0.10002", "0.10002-0.10003"]
