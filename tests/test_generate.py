# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml generate` / `rfml capture` / `rfml demo`: flowgraphs of the rfml blocks to files."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from gnuradio.rfml import dsp
from gnuradio.rfml.apps.__main__ import main as rfml_main
from gnuradio.rfml.flowgraphs import generation
from gnuradio.rfml.ml.contract import CLASSES
from gnuradio.rfml.ml.datasets import read_dataset


def _gen(tmp_path, name, **kw):
    kw = {"per_class": 6, "snr_db": "0,10", "length": 128, "chunk": 4, "seed": 5, **kw}
    path = tmp_path / name
    stats = generation.generate(generation.GenerationConfig(**kw), path)
    return path, stats


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _complex(t):
    return t[:, 0].astype(np.float64) + 1j * t[:, 1]


def test_contract_snr_and_seed_identity(tmp_path):
    a, stats = _gen(tmp_path, "a.h5")
    b, _ = _gen(tmp_path, "b.h5")
    assert _sha(a) == _sha(b)
    c, _ = _gen(tmp_path, "c.h5", seed=6)
    assert _sha(a) != _sha(c)

    ds = read_dataset(a)
    n = len(CLASSES) * 2 * 6
    assert len(ds) == stats["vectors"] == n and stats["invalid"] == 0
    assert ds.iq.shape == ds.clean.shape == (n, 2, 128)
    assert ds.classes == CLASSES
    np.testing.assert_array_equal(np.bincount(ds.label), [12] * len(CLASSES))
    assert sorted(np.unique(ds.snr_db)) == [0, 10]
    clean, noisy = _complex(ds.clean), _complex(ds.iq)
    measured = dsp.snr_db(clean, noisy - clean)
    assert np.max(np.abs(measured - ds.snr_db)) < 0.05
    power = np.mean(np.abs(clean) ** 2, axis=1)
    for i, name in enumerate(CLASSES):
        p = power[ds.label == i].mean()
        assert 0.8 < p < 1.25, f"{name}: mean power {p:.3f} of the clean vectors"
    for key in ("sample_rate", "samples_per_symbol", "radio", "seed", "module_version"):
        assert key in ds.attrs
    assert ds.attrs["radio"] == "sim" and ds.attrs["seed"] == 5
    assert ds.attrs["generation"]["snr_db"] == "0,10"


def test_worker_processes_write_the_same_file(tmp_path):
    a, _ = _gen(tmp_path, "a.h5")
    b, _ = _gen(tmp_path, "b.h5", workers=2)
    assert _sha(a) == _sha(b)


def test_shards_partition_the_full_file(tmp_path):
    full = read_dataset(_gen(tmp_path, "full.h5")[0])
    parts = [read_dataset(_gen(tmp_path, f"s{i}.h5", shard=(i, 3))[0]) for i in range(3)]
    jobs = [set(p.params["job"].tolist()) for p in parts]
    assert not (jobs[0] & jobs[1]) and not (jobs[1] & jobs[2]) and not (jobs[0] & jobs[2])
    for key in ("iq", "clean", "label", "snr_db"):
        joined = np.concatenate([getattr(p, key) for p in parts])
        np.testing.assert_array_equal(joined, getattr(full, key))
    assert parts[1].attrs["generation"]["shard"] == "1/3"


def test_vectors_start_at_random_symbol_phases(tmp_path):
    path, _ = _gen(tmp_path, "p.h5", classes=("DQPSK",), per_class=64, snr_db="20", chunk=32)
    ds = read_dataset(path)
    phases = ds.params["start"] % 10
    assert len(np.unique(phases)) >= 8  # of the 10 sample phases of a symbol
    # vectors of one job are distinct stretches of the stream, not overlapping copies
    assert np.all(np.diff(ds.params["start"][:32]) >= 128)


def test_ideal_loopback_gives_the_modulator_output(tmp_path):
    path, _ = _gen(tmp_path, "i.h5", classes=("GMSK",), impairments="none", snr_db="20")
    clean = _complex(read_dataset(path).clean)
    envelope = np.abs(clean)
    assert np.max(np.abs(envelope - 1)) < 0.02  # constant-envelope GMSK at unit power


def test_randomize_draws_and_records_parameters(tmp_path):
    path, _ = _gen(tmp_path, "r.h5", randomize=True, per_class=16, snr_db="-10:20", chunk=2,
                   length=512)  # fmt: skip
    ds = read_dataset(path)
    lo, hi = generation.RANDOM_RANGES["samples_per_symbol"]
    sps = ds.params["samples_per_symbol"][ds.label != CLASSES.index("OFDM")]
    assert np.all((sps >= lo) & (sps <= hi)) and len(np.unique(sps)) >= 30
    assert -10 <= ds.snr_db.min() and ds.snr_db.max() <= 20 and len(np.unique(ds.snr_db)) > 90
    fo = ds.params["freq_offset"]
    assert np.all(np.abs(fo) <= 0.03) and np.std(fo) > 0.01
    ofdm = ds.label == CLASSES.index("OFDM")
    assert len(np.unique(ds.params["ofdm_fft_len"][ofdm])) >= 2
    pulsed = np.isin(ds.label, [CLASSES.index(c) for c in ("OOK", "DBPSK", "DQPSK")])
    assert set(np.unique(ds.params["pulse"][pulsed])) == {0, 1, 2}
    assert np.all(ds.params["pulse"][~pulsed] == -1)
    assert "random_ranges" in ds.attrs["generation"]
    # The recorded carrier offset is the one in the signal: OOK has a carrier line, so
    # the mean phase step of its clean vectors measures the offset.
    ook = ds.label == CLASSES.index("OOK")
    x = _complex(ds.clean[ook])
    est = np.angle(np.sum(x[:, 1:] * np.conj(x[:, :-1]), axis=1)) / (2 * np.pi)
    assert np.max(np.abs(est - fo[ook])) < 2e-3


def test_cli_generate_negative_snr_list(tmp_path, capsys):
    out = tmp_path / "cli.h5"
    argv = ["generate", "--out", str(out), "--per-class", "3", "--snr-db", "-10,0,20",
            "--length", "64", "--seed", "2", "--classes", "OOK,OFDM"]  # fmt: skip
    assert rfml_main(argv) == 0
    ds = read_dataset(out)
    assert len(ds) == 2 * 3 * 3 and sorted(np.unique(ds.snr_db)) == [-10, 0, 20]
    assert ds.classes == CLASSES and ds.attrs["generation"]["generated_classes"] == ["OOK", "OFDM"]
    assert "18 vectors of 64 samples" in capsys.readouterr().out


def test_cli_rejects_bad_snr_and_shard():
    cmd = [sys.executable, "-m", "gnuradio.rfml.apps", "generate", "--out", "x.h5"]
    r = subprocess.run(cmd + ["--shard", "3/2"], capture_output=True, text=True)
    assert r.returncode == 2 and "0 <= i < n" in r.stderr
    with pytest.raises(ValueError, match="stepped list"):
        generation.SnrSpec.parse("10:zero")
    assert generation.SnrSpec.parse("-20:18:2").values[:3] == (-20.0, -18.0, -16.0)


def test_capture_sigmf_roundtrip(tmp_path, capsys):
    base = tmp_path / "rec"
    argv = ["capture", "--out", str(base), "--classes", "GFSK,DBPSK", "--snr-db", "0,20",
            "--vectors", "8", "--length", "256", "--seed", "1"]  # fmt: skip
    assert rfml_main(argv) == 0
    ds = read_dataset(str(base) + ".sigmf-meta")
    assert ds.iq.shape == (4 * 8, 2, 256)
    np.testing.assert_array_equal(np.bincount(ds.label, minlength=6)[[1, 3]], [16, 16])
    x = _complex(ds.iq)
    p = np.mean(np.abs(x) ** 2, axis=1)
    ratio = p[ds.snr_db == 0].mean() / p[ds.snr_db == 20].mean()
    assert abs(ratio - 2 / 1.01) < 0.1  # unit signal power + noise at 0 dB vs 20 dB


def test_demo_writes_summary_and_picture(tmp_path, capsys):
    assert rfml_main(["demo", "--dataset", "--out-dir", str(tmp_path), "--per-class", "8"]) == 0
    out = capsys.readouterr().out
    assert "48 vectors of 1024 samples" in out and "demo.png" in out
    png = (tmp_path / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000


def test_bladerf_without_device_fails_clearly_and_leaves_no_file(tmp_path):
    out = tmp_path / "bl.h5"
    cfg = generation.GenerationConfig(per_class=2, radio="bladerf", classes=("GFSK",))
    with pytest.raises(RuntimeError, match="radio='sim'"):
        generation.generate(cfg, out)
    assert not out.exists()
