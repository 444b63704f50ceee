# SPDX-License-Identifier: GPL-3.0-or-later
"""Data set readers and writers: gr-rfml HDF5, RadioML 2016.10A pickle, RadioML 2018.01A."""

import hashlib
import json
import os
import pickle
import time

import h5py
import numpy as np
import pytest
from gnuradio.rfml.ml import datasets, sigmf
from gnuradio.rfml.ml.contract import CLASSES


def _tiny(n=12, length=32, seed=0):
    rng = np.random.default_rng(seed)
    clean = (rng.normal(size=(n, length)) + 1j * rng.normal(size=(n, length))).astype(np.complex64)
    noisy = clean + 0.1 * rng.normal(size=(n, length))
    return datasets.Dataset(
        iq=datasets.as_tensor(noisy),
        clean=datasets.as_tensor(clean),
        label=np.arange(n, dtype=np.int64) % len(CLASSES),
        snr_db=np.linspace(-10, 20, n).astype(np.float32),
        classes=CLASSES,
        attrs={
            "sample_rate": 1e6,
            "samples_per_symbol": 10,
            "radio": "sim",
            "seed": seed,
            "generation": {"per_class": 2, "snr_db": [-10, 20]},
        },  # fmt: skip
        params={"sps": np.full(n, 10.0, dtype=np.float32)},
    )


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rfml_roundtrip_and_byte_identical(tmp_path):
    ds = _tiny()
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    datasets.write_dataset(a, ds)
    time.sleep(1.1)  # no time stamps: a later second gives the same bytes
    datasets.write_dataset(b, _tiny())
    assert _sha(a) == _sha(b)
    back = datasets.read_dataset(a)
    assert back.format == "gr-rfml"
    assert back.classes == CLASSES
    np.testing.assert_array_equal(back.iq, ds.iq)
    np.testing.assert_array_equal(back.clean, ds.clean)
    np.testing.assert_array_equal(back.label, ds.label)
    assert back.label.dtype == np.int64 and back.snr_db.dtype == np.float32
    np.testing.assert_array_equal(back.params["sps"], ds.params["sps"])
    assert back.attrs["generation"] == {"per_class": 2, "snr_db": [-10, 20]}
    assert back.attrs["radio"] == "sim" and back.attrs["seed"] == 0
    datasets.write_dataset(b, _tiny(seed=1))
    assert _sha(a) != _sha(b)


def test_rfml_select_and_no_clean(tmp_path):
    path = tmp_path / "a.h5"
    ds = _tiny()
    datasets.write_dataset(path, ds)
    part = datasets.read_dataset(path, select=slice(3, 7), clean=False)
    assert len(part) == 4 and part.clean is None
    np.testing.assert_array_equal(part.iq, ds.iq[3:7])
    np.testing.assert_array_equal(part.params["sps"], ds.params["sps"][3:7])


def test_radioml2016_pickle(tmp_path):
    rng = np.random.default_rng(1)
    data = {
        (mod, snr): rng.normal(size=(5, 2, 128)).astype(np.float32)
        for mod in ("QPSK", "BPSK", "GFSK")
        for snr in (-20, 0, 18)
    }
    path = tmp_path / "RML2016.10a_dict.pkl"
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)
    ds = datasets.read_dataset(path)
    assert ds.format == "radioml2016" and ds.clean is None
    assert ds.classes == ("BPSK", "GFSK", "QPSK")
    assert ds.iq.shape == (45, 2, 128)
    for i in (0, 17, 44):
        key = (ds.classes[ds.label[i]], int(ds.snr_db[i]))
        assert any(np.array_equal(ds.iq[i], v) for v in data[key])
    assert sorted(np.unique(ds.snr_db)) == [-20, 0, 18]


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_radioml2016_refuses_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump({("BPSK", 0): _Evil()}, f, protocol=2)
    with pytest.raises(datasets.DatasetError, match="refusing to unpickle"):
        datasets.read_dataset(path)
    assert not (tmp_path / "pwned").exists()


def test_radioml2016_refuses_wrong_structure(tmp_path):
    path = tmp_path / "list.pkl"
    with open(path, "wb") as f:
        pickle.dump({("BPSK", 0): [1.0, 2.0]}, f, protocol=2)
    with pytest.raises(datasets.DatasetError, match="not RadioML 2016"):
        datasets.read_dataset(path)


def test_radioml2018_hdf5(tmp_path):
    rng = np.random.default_rng(2)
    n = 10
    x = rng.normal(size=(n, 1024, 2)).astype(np.float32)
    labels = rng.integers(0, 24, size=n)
    path = tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5"
    with h5py.File(path, "w") as f:
        f["X"] = x
        f["Y"] = np.eye(24, dtype=np.int64)[labels]
        f["Z"] = rng.integers(-20, 31, size=(n, 1))
    ds = datasets.read_dataset(path)
    assert ds.format == "radioml2018"
    assert ds.iq.shape == (n, 2, 1024)
    np.testing.assert_array_equal(ds.iq[3, 0], x[3, :, 0])
    np.testing.assert_array_equal(ds.iq[3, 1], x[3, :, 1])
    np.testing.assert_array_equal(ds.label, labels)
    assert ds.classes[0] == "OOK" and ds.classes[22] == "GMSK" and len(ds.classes) == 24


def test_errors_missing_corrupt_foreign(tmp_path):
    with pytest.raises(FileNotFoundError, match="rfml generate"):
        datasets.read_dataset(tmp_path / "nope.h5")
    good = tmp_path / "good.h5"
    datasets.write_dataset(good, _tiny(n=60, length=256))
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(datasets.DatasetError, match="corrupt"):
        datasets.read_dataset(truncated)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(datasets.DatasetError, match="another layout"):
        datasets.read_dataset(foreign)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(datasets.DatasetError, match="neither HDF5 nor a pickle"):
        datasets.read_dataset(text)
    bad_pickle = tmp_path / "bad.pkl"
    bad_pickle.write_bytes(b"\x80\x02}q\x00(X")
    with pytest.raises(datasets.DatasetError, match="corrupt"):
        datasets.read_dataset(bad_pickle)


def test_inconsistent_labels_rejected(tmp_path):
    ds = _tiny()
    ds.label[0] = 99
    path = tmp_path / "bad.h5"
    datasets.write_dataset(path, ds)
    with pytest.raises(datasets.DatasetError, match="labels outside"):
        datasets.read_dataset(path)


def test_summary_mentions_counts(tmp_path):
    ds = _tiny()
    text = ds.summary()
    assert "12 vectors of 32 samples" in text and "OOK 2" in text
    datasets.write_dataset(tmp_path / "a.h5", ds)
    assert datasets.describe(tmp_path / "a.h5") == text


def test_sigmf_recording_reads_as_vectors(tmp_path):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=300) + 1j * rng.normal(size=300)).astype(np.complex64)
    base = tmp_path / "rec"
    sigmf.data_path(base).write_bytes(x.astype("<c8").tobytes())
    annotations = [
        {"core:sample_start": 100, "core:sample_count": 200, "core:label": "GFSK",
         sigmf.key("snr_db"): 5.0},
        {"core:sample_start": 0, "core:sample_count": 100, "core:label": "OOK",
         sigmf.key("snr_db"): -5.0},
    ]  # fmt: skip
    meta = sigmf.meta_path(base)
    sigmf.write_meta(meta, sigmf.data_path(base), datatype="cf32_le", sample_rate=1e6,
                     annotations=annotations,
                     global_fields={sigmf.key("vector_length"): 64,
                                    sigmf.key("classes"): list(CLASSES)})  # fmt: skip
    assert json.loads(meta.read_text())["annotations"][0]["core:label"] == "OOK"
    ds = datasets.read_dataset(meta)
    assert ds.format == "sigmf" and ds.iq.shape == (1 + 3, 2, 64)
    np.testing.assert_array_equal(ds.label, [0, 1, 1, 1])
    np.testing.assert_array_equal(ds.snr_db, [-5, 5, 5, 5])
    np.testing.assert_array_equal(ds.iq[1, 0], x[100:164].real)
    np.testing.assert_array_equal(ds.iq[3, 1], x[228:292].imag)
    sigmf.data_path(base).write_bytes(x[:250].tobytes())
    with pytest.raises(datasets.DatasetError, match="past the 250 samples"):
        datasets.read_dataset(base)
