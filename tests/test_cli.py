# SPDX-License-Identifier: GPL-3.0-or-later
"""The `rfml` program as a user meets it (issues 11 and 12), through subprocess runs:
one line per error on stderr, exit code 2 for a wrong command line and 1 for a failed run,
`--version`, nothing written unasked, failed runs that keep earlier outputs."""

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from gnuradio.rfml import __version__
from gnuradio.rfml.apps import generate as generate_app
from gnuradio.rfml.ml import checkpoint, datasets
from gnuradio.rfml.ml.contract import CLASSES, DEFAULT_VECTOR_LENGTH


def rfml(*args, cwd):
    """Runs the real `rfml` program (python -m gnuradio.rfml.apps) in ``cwd``."""
    cmd = [sys.executable, "-m", "gnuradio.rfml.apps", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def one_line_error(result, code, *needles, device_log=False):
    """The run exited with ``code`` and said why in one line on stderr, without a trace.
    With ``device_log`` the radio library's own log lines may come before it."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 or device_log, result.stderr
    assert lines[-1].startswith("rfml") and sum(x.startswith("rfml") for x in lines) == 1
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_tones(path, n=24, length=DEFAULT_VECTOR_LENGTH, nan_rows=()):
    """A gr-rfml file of noisy tones labelled with the six classes; rows ``nan_rows`` get
    a NaN sample."""
    rng = np.random.default_rng(7)
    t = np.arange(length)
    x = np.exp(2j * np.pi * rng.uniform(-0.1, 0.1, (n, 1)) * t)
    x = (x + 0.1 * rng.normal(size=(n, length))).astype(np.complex64)
    x[list(nan_rows), 5] = np.nan
    tensor, snr = datasets.as_tensor(x), np.full(n, 10, np.float32)
    attrs = dict(sample_rate=1e6, samples_per_symbol=10, radio="sim", seed=0)
    label = np.arange(n) % len(CLASSES)
    datasets.write_dataset(path, datasets.Dataset(tensor, tensor, label, snr, CLASSES, attrs))
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_data")
    return {
        "good": write_tones(d / "good.h5"),
        "nan": write_tones(d / "nan.h5", nan_rows=(0, 1, 7)),
        "short": write_tones(d / "short.h5", length=128),
    }


def test_version(tmp_path):
    r = rfml("--version", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == f"rfml (gr-rfml) {__version__}"


@pytest.mark.parametrize(
    "args, needles",
    [
        (["eval", "--data", "x.h5", "--max-vectors", "-5"], ["--max-vectors", "1 or more"]),
        (["eval", "--data", "x.h5", "--threads", "0"], ["--threads", "1 or more, got 0"]),
        (["eval", "--data", "x.h5", "--freq-offset", "nan"], ["--freq-offset", "finite"]),
        (["eval", "--data", "x.h5", "--record", "nominal"], ["give --model", "shipped card"]),
        (["eval", "--data", "x.h5", "--device", "tpu"], ["--device", "invalid choice"]),
        (["demo", "--per-class", "0"], ["--per-class", "1 or more"]),
        (["demo", "--snr-db", "1,nan"], ["--snr-db", "finite"]),
        (["capture", "--out", "rec", "--vectors", "0"], ["--vectors", "1 or more"]),
        (["capture", "--out", "rec", "--snr-db", "0:10"], ["one segment per SNR value"]),
        (["generate", "--out", "x.h5", "--classes", "FOO"], ["unknown class 'FOO'"]),
        (["generate", "--out", "x.h5", "--length", "0"], ["--length", "1 or more"]),
        (["nosuch"], ["invalid choice"]),
    ],
)
def test_usage_errors_are_one_line_exit_2_and_write_nothing(tmp_path, args, needles):
    one_line_error(rfml(*args, cwd=tmp_path), 2, *needles)
    assert list(tmp_path.iterdir()) == []


def test_runtime_errors_are_one_line_exit_1_and_debug_shows_the_trace(tmp_path):
    one_line_error(rfml("eval", "--data", "missing.h5", cwd=tmp_path), 1, "does not exist")
    r = rfml("eval", "--data", "missing.h5", "--debug", cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" in r.stderr and "FileNotFoundError" in r.stderr


def test_generate_default_length_is_the_shipped_models():
    args = generate_app.get_args_parser().parse_args(["--out", "x.h5"])
    card = checkpoint.read_card(checkpoint.shipped("tsddae"))
    assert args.length == DEFAULT_VECTOR_LENGTH == card["vector_length"] == 1024


def test_eval_checks_the_vector_length_first(tmp_path, data):
    line = one_line_error(rfml("eval", "--data", data["short"], cwd=tmp_path), 2)
    assert "takes vectors of 1024 samples but the data holds vectors of 128" in line
    assert "rfml generate --length 1024" in line


def test_eval_scores_only_valid_vectors_and_writes_only_what_is_asked(tmp_path, data):
    # issue 11 defect 10: NaN vectors used to be argmax 0 (OOK) and scored
    r = rfml("eval", "--data", data["nan"], "--json", "e.json", "--device", "cpu", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "3 of 24 vectors could not be classified" in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.json"]  # no rfml_eval/ folder
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["invalid"] == 3 and report["n"] == 21
    assert np.sum(report["confusion"]) == 21
    r = rfml("eval", "--data", data["good"], "--max-vectors", "6", cwd=tmp_path)
    assert r.returncode == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["e.json"]
    assert "invalid" not in r.stdout


def test_eval_record_writes_the_given_card_only(tmp_path, data):
    shipped = checkpoint.shipped("tsddae")
    before = _sha(checkpoint.card_path(shipped))
    model = tmp_path / "m.safetensors"
    shutil.copy(shipped, model)
    shutil.copy(checkpoint.card_path(shipped), checkpoint.card_path(model))
    r = rfml("eval", "--model", model, "--data", data["nan"], "--record", "check", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    card = json.loads(checkpoint.card_path(model).read_text())
    assert card["metrics"]["check"]["invalid"] == 3 and card["metrics"]["check"]["n"] == 21
    assert _sha(checkpoint.card_path(shipped)) == before


def test_eval_cuda_without_a_gpu_says_so(tmp_path, data):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    one_line_error(rfml("eval", "--data", data["good"], "--device", "cuda", cwd=tmp_path), 1,
                   "no CUDA GPU")  # fmt: skip


def _no_temporaries(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_failed_generate_keeps_the_existing_file(tmp_path):
    # issue 11 defect 8: a failed run deleted --out
    precious = tmp_path / "precious.h5"
    precious.write_bytes(b"results of a week")
    r = rfml("generate", "--out", precious, "--radio", "bladerf", "--per-class", "1",
             "--classes", "GFSK", "--quiet", cwd=tmp_path)  # fmt: skip
    one_line_error(r, 1, "no BladeRF found", "radio='sim'", device_log=True)
    assert precious.read_bytes() == b"results of a week" and _no_temporaries(tmp_path)


def test_failed_capture_keeps_the_earlier_recording(tmp_path):
    # issue 11 defect 8: a rerun that failed truncated the .sigmf-data
    common = ["capture", "--out", "rec", "--classes", "GFSK", "--vectors", "2", "--length", "64"]
    assert rfml(*common, cwd=tmp_path).returncode == 0
    files = [tmp_path / "rec.sigmf-data", tmp_path / "rec.sigmf-meta"]
    sums = [_sha(p) for p in files]
    assert files[0].stat().st_size == 2 * 64 * 8
    r = rfml(*common, "--radio", "bladerf", cwd=tmp_path)
    one_line_error(r, 1, "no BladeRF found", device_log=True)
    assert [_sha(p) for p in files] == sums and _no_temporaries(tmp_path)
