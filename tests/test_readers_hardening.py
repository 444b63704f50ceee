# SPDX-License-Identifier: GPL-3.0-or-later
"""Data set readers given bad files (issue 11): shapes that do not fit, bounded memory,
clear DatasetErrors naming the file and the field, no silent conversions."""

import pickle

import h5py
import numpy as np
import pytest
from gnuradio.rfml.ml import datasets
from gnuradio.rfml.ml.datasets import DatasetError, read_dataset

ATTRS = {"sample_rate": 1e6, "samples_per_symbol": 10, "radio": "sim", "seed": 0}


def write_rfml(path, n=6, length=16, label=None, classes=("OOK", "GFSK"), **override):
    """A small gr-rfml HDF5 file; ``override`` replaces datasets (name -> array) or, for
    ``classes``, the attribute."""
    rng = np.random.default_rng(0)
    fields = {
        "iq": rng.normal(size=(n, 2, length)).astype(np.float32),
        "clean": rng.normal(size=(n, 2, length)).astype(np.float32),
        "label": np.arange(n) % len(classes) if label is None else label,
        "snr_db": np.zeros(n, np.float32),
        **override,
    }
    with h5py.File(path, "w") as f:
        for name, value in fields.items():
            f[name] = value
        f.attrs["classes"] = classes
        for key, value in ATTRS.items():
            f.attrs[key] = value
    return path


def write_radioml2018(path, n=5, x=None, y=None, z=None):
    rng = np.random.default_rng(1)
    with h5py.File(path, "w") as f:
        f["X"] = rng.normal(size=(n, 64, 2)).astype(np.float32) if x is None else x
        f["Y"] = np.eye(24, dtype=np.int64)[np.arange(n) % 24] if y is None else y
        f["Z"] = np.full((n, 1), 10) if z is None else z
    return path


@pytest.mark.parametrize("z_shape", [(3, 1), (5, 2), (10, 1)])
def test_radioml2018_z_of_another_length_is_refused(tmp_path, z_shape):
    # issue 11 defect 9: Z (3,1), (N,2), (N+5,1) for N = 5 vectors
    path = write_radioml2018(tmp_path / "r.hdf5", n=5, z=np.zeros(z_shape))
    shape = rf"\({z_shape[0]}, {z_shape[1]}\)"
    with pytest.raises(DatasetError, match=rf"Z has shape {shape}.*5 vectors"):
        read_dataset(path)


def test_radioml2018_one_dimensional_z_is_accepted(tmp_path):
    ds = read_dataset(write_radioml2018(tmp_path / "r.hdf5", n=5, z=np.arange(5.0)))
    np.testing.assert_array_equal(ds.snr_db, np.arange(5.0))


def test_radioml2018_y_must_be_one_hot(tmp_path):
    y = np.zeros((5, 24))
    y[:, :2] = 0.5  # each row sums to 1 but is not one-hot
    with pytest.raises(DatasetError, match="not one-hot"):
        read_dataset(write_radioml2018(tmp_path / "r.hdf5", y=y))


def test_radioml2018_complex_x_keeps_imaginary_part(tmp_path):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(5, 64)) + 1j * rng.normal(size=(5, 64))).astype(np.complex64)
    ds = read_dataset(write_radioml2018(tmp_path / "c.hdf5", x=x))
    np.testing.assert_array_equal(ds.iq[:, 0], x.real)
    np.testing.assert_array_equal(ds.iq[:, 1], x.imag)
    with pytest.raises(DatasetError, match=r"X is complex of shape \(5, 64, 2\)"):
        read_dataset(write_radioml2018(tmp_path / "c2.hdf5", x=np.zeros((5, 64, 2), complex)))


def test_pickle_referencing_one_array_many_times_is_refused(tmp_path):
    one = np.zeros((2000, 2, 128), np.float32)  # 2 MB, referenced by 1000 keys
    path = tmp_path / "refs.pkl"
    with open(path, "wb") as f:
        pickle.dump({(f"M{i}", 0): one for i in range(1000)}, f, protocol=2)
    assert path.stat().st_size < 2.2e6
    with pytest.raises(DatasetError, match=r"would take 2072\.0 MB of memory.*RFML_MAX_READ"):
        read_dataset(path)
    # an array shared by a few keys stays within the limit and reads normally
    small = tmp_path / "small.pkl"
    with open(small, "wb") as f:
        pickle.dump({(f"M{i}", 0): one[:10] for i in range(3)}, f, protocol=2)
    assert len(read_dataset(small)) == 30


def test_unallocated_hdf5_chunks_are_refused_unless_allowed(tmp_path, monkeypatch):
    path = tmp_path / "sparse.h5"
    n = 100_000
    with h5py.File(path, "w") as f:
        for name in ("iq", "clean"):
            f.create_dataset(name, shape=(n, 2, 1024), dtype="f4", chunks=(1, 2, 1024))
        f["label"] = np.zeros(n, np.int64)
        f["snr_db"] = np.zeros(n, np.float32)
        f.attrs["classes"] = ["OOK"]
        for key, value in ATTRS.items():
            f.attrs[key] = value
    assert path.stat().st_size < 2e6
    with pytest.raises(DatasetError, match=r"sparse.h5: reading it would take 1639\.6 MB"):
        read_dataset(path)
    # the summary reads no vectors, so it works; so does a small selection
    assert "100000 vectors of 1024 samples" in datasets.describe(path)
    assert len(read_dataset(path, select=slice(0, 100))) == 100
    monkeypatch.setenv("RFML_MAX_READ_BYTES", "1")
    with pytest.raises(DatasetError, match="more than the 0.0 MB allowed"):
        read_dataset(path, select=slice(0, 100))
    assert len(read_dataset(path, select=slice(0, 100), max_bytes=10**7)) == 100


@pytest.mark.parametrize(
    "override, message",
    [
        ({"iq": np.array(["a", "b"], dtype="S1")}, "iq holds |S1 values, expected float"),
        ({"label": np.array([b"x"] * 6)}, "label holds |S1 values, expected integer or float"),
        ({"snr_db": np.zeros((6, 2))}, r"snr_db has shape \(6, 2\), expected 1 dimensions"),
        ({"label": np.zeros(5, np.int64)}, r"label has shape \(5,\), expected \(6,\)"),
        ({"iq": np.zeros((6, 3, 16), np.float32)}, r"iq has shape \(6, 3, 16\)"),
    ],
)
def test_hdf5_type_errors_name_file_and_field(tmp_path, override, message):
    path = write_rfml(tmp_path / "t.h5", **override)
    with pytest.raises(DatasetError, match=message) as info:
        read_dataset(path)
    assert str(path) in str(info.value)


def test_hdf5_group_in_place_of_a_dataset(tmp_path):
    path = write_rfml(tmp_path / "g.h5")
    with h5py.File(path, "a") as f:
        del f["snr_db"]
        f.create_group("snr_db")
    with pytest.raises(DatasetError, match="snr_db is a Group, expected a dataset"):
        read_dataset(path)


def test_float_labels_not_truncated(tmp_path):
    ok = read_dataset(write_rfml(tmp_path / "ok.h5", label=np.array([0.0, 1, 0, 1, 0, 1])))
    np.testing.assert_array_equal(ok.label, [0, 1, 0, 1, 0, 1])
    assert ok.label.dtype == np.int64
    for bad in (1.5, np.nan):
        label = np.array([0.0, bad, 0, 1, 0, 1])
        with pytest.raises(DatasetError, match="not a whole class index"):
            read_dataset(write_rfml(tmp_path / "bad.h5", label=label))


def test_scalar_classes_string_is_not_letters(tmp_path):
    path = write_rfml(tmp_path / "s.h5", classes="OOK", label=np.zeros(6, np.int64))
    with pytest.raises(DatasetError, match=r"classes attribute is 'OOK'; expected a list"):
        read_dataset(path)
    path = write_rfml(tmp_path / "d.h5", classes=["OOK", "OOK"])
    with pytest.raises(DatasetError, match="not distinct names"):
        read_dataset(path)


def test_bad_selection_is_a_clear_error(tmp_path):
    path = write_rfml(tmp_path / "t.h5")
    with pytest.raises(ValueError, match="must increase"):
        read_dataset(path, select=np.array([3, 1]))
