# SPDX-License-Identifier: GPL-3.0-or-later
"""Fuzzed readers (issue 11): whatever a file holds, a reader gives a valid data set or one
clear error (a ValueError subclass naming the file), never another exception, a crash or
unbounded memory.

Property-based (``hypothesis``): files are built from random structures (pickled objects,
HDF5 files written by h5py with random datasets, shapes, types and attributes, SigMF
metadata with random fields), some then damaged byte by byte. The default run keeps
each property to a few dozen examples; the ``slow`` tests run the same properties with
many more. Memory is measured with tracemalloc (numpy's allocations are traced): a read
may not take more than the limit the readers promise (datasets.read_limit).

Byte-level damage of HDF5 files is not fuzzed here: libhdf5 itself can loop or allocate
without bound on some damaged heaps (a corrupt variable-length string attribute), which no
reader on top of it can prevent.
"""

import json
import pickle
import tempfile
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from gnuradio.rfml.ml import checkpoint, datasets, models, sigmf
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

_COMMON = dict(database=None, suppress_health_check=list(HealthCheck), deadline=5000)
FAST = settings(max_examples=150, **_COMMON)
HEAVY = settings(max_examples=3000, **_COMMON)


def both_profiles(strategy, fast=FAST, heavy=HEAVY):
    """A property test run with ``fast`` by default and ``heavy`` under the ``slow`` marker."""

    def wrap(check):
        quick = pytest.mark.timeout(300)(fast(given(strategy)(check)))
        thorough = pytest.mark.slow(pytest.mark.timeout(3600)(heavy(given(strategy)(check))))
        return quick, thorough

    return wrap


def read_or_refuse(path, **kw):
    """read_dataset(path): a valid Dataset or a DatasetError, within the promised memory."""
    limit = datasets.read_limit(path) if Path(path).is_file() else datasets.READ_SLACK_BYTES
    tracemalloc.start()
    try:
        ds = datasets.read_dataset(path, **kw)
    except datasets.DatasetError as e:
        assert str(e), "an error without a message"
        event("refused")
        return None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= 2 * limit + 2**20, f"read took {peak} bytes, limit {limit}"
    n = len(ds)
    assert ds.iq.dtype == np.float32 and ds.iq.ndim == 3 and ds.iq.shape[:2] == (n, 2)
    assert ds.label.dtype == np.int64 and ds.label.shape == (n,)
    assert ds.snr_db.dtype == np.float32 and ds.snr_db.shape == (n,)
    assert ds.vector_length >= 1 and len(ds.classes) >= 1
    assert all(isinstance(c, str) for c in ds.classes)
    assert n == 0 or (ds.label.min() >= 0 and ds.label.max() < len(ds.classes))
    assert ds.clean is None or ds.clean.shape == ds.iq.shape
    event("read")
    return ds


def damaged(data, edits, cut):
    """``data`` with bytes replaced at (position, value) ``edits`` and cut to ``cut``."""
    b = bytearray(data)
    for pos, value in edits:
        if b:
            b[pos % len(b)] = value
    return bytes(b[: cut if cut is not None else len(b)])


EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4)
CUTS = st.one_of(st.none(), st.integers(0, 4000))

# --------------------------------------------------------------------------- pickles

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(),
    st.text(max_size=6), st.binary(max_size=6),
)  # fmt: skip
DTYPES = st.sampled_from(["<f4", "<f8", "<f2", ">f4", "<i2", "<c8", "|b1", "O"])
SHAPES = st.lists(st.integers(0, 4), max_size=4).map(tuple)


@st.composite
def arrays(draw):
    shape = draw(SHAPES)
    if draw(st.booleans()) and len(shape) != 3:
        shape = (draw(st.integers(0, 4)), 2, draw(st.integers(0, 6)))  # RadioML-like
    values = draw(st.lists(st.floats(width=32), min_size=1, max_size=4))
    flat = np.resize(np.asarray(values, np.float64), int(np.prod(shape)))
    with np.errstate(all="ignore"):
        return flat.reshape(shape).astype(draw(DTYPES))


KEYS = st.one_of(
    st.tuples(st.one_of(st.text(max_size=5), st.binary(max_size=5)),
              st.one_of(st.integers(-(10**400), 10**400), st.floats())),
    SCALARS,
    st.tuples(SCALARS),
)  # fmt: skip
VALUES = st.one_of(arrays(), SCALARS, st.lists(SCALARS, max_size=3))


@st.composite
def radioml2016_dicts(draw):
    """Valid RadioML 2016 dicts: (modulation, snr) -> float (n, 2, L), one L."""
    length = draw(st.integers(1, 8))
    keys = st.tuples(st.sampled_from(["BPSK", "QPSK", b"GFSK"]), st.integers(-20, 18))
    entry = st.integers(0, 3).map(lambda n: np.ones((n, 2, length), np.float32))
    return draw(st.dictionaries(keys, entry, min_size=1, max_size=4))


@st.composite
def pickles(draw):
    if draw(st.integers(0, 9)) == 0:
        return b"\x80" + draw(st.binary(max_size=200))
    valid = draw(radioml2016_dicts())
    if draw(st.booleans()):  # a valid file, perhaps with one bad entry
        top = {**valid, **draw(st.dictionaries(KEYS, VALUES, max_size=1))}
    else:
        top = draw(st.one_of(st.dictionaries(KEYS, VALUES, max_size=5), VALUES))
    if draw(st.booleans()) and isinstance(top, dict):  # one array behind many keys
        shared = draw(arrays())
        top.update({(f"M{i}", i): shared for i in range(draw(st.integers(1, 30)))})
    data = pickle.dumps(top, protocol=draw(st.integers(0, 5)))
    if draw(st.integers(0, 2)) == 0:
        data = damaged(data, draw(EDITS), draw(CUTS))
    return data


@both_profiles(pickles())
def _pickle_property(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.pkl"
        path.write_bytes(data)
        read_or_refuse(path)


test_radioml2016_pickle_fuzz, test_radioml2016_pickle_fuzz_heavy = _pickle_property

# --------------------------------------------------------------------------- HDF5

H5_DTYPES = st.sampled_from(["<f4", "<f8", "<i8", "<u8", "|b1", "<c8", "S3", "<f2"])


@st.composite
def h5_values(draw, shape):
    """An array of a random dtype, of ``shape`` or (sometimes) of a random shape."""
    if draw(st.integers(0, 3)) == 0:
        shape = draw(SHAPES)
    dtype = draw(H5_DTYPES)
    special = draw(st.sampled_from([0.0, 1.0, -1.0, 7.0, 0.5, np.nan, np.inf, 1e30]))
    values = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=shape) * 3
    values.flat[: draw(st.integers(0, 3))] = special
    with np.errstate(all="ignore"):
        return values.astype(dtype) if dtype != "S3" else values.astype("S3")


def _put(f, name, how, value):
    if how == "group":
        f.create_group(name)
    elif how == "dataset":
        f.create_dataset(name, data=value)
    elif how == "sparse" and value.ndim >= 1 and value.size:
        f.create_dataset(name, shape=(value.shape[0] * 1000, *value.shape[1:]),
                         dtype=value.dtype, chunks=True)  # fmt: skip


# (strings h5py can store: no NULs, no lone surrogates)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)
ATTR_VALUES = st.one_of(
    st.lists(TEXT, max_size=4), TEXT, st.integers(-5, 5), st.floats(), st.just([]),
    st.binary(max_size=4).map(lambda b: np.void(b) if b else b""),
)  # fmt: skip
GOOD_ATTRS = {"sample_rate": 1e6, "samples_per_symbol": 10, "radio": "sim", "seed": 1}
HOW = st.sampled_from(["dataset", "dataset", "dataset", "missing", "group", "sparse"])


@st.composite
def rfml_files(draw):
    """gr-rfml HDF5 layouts: valid ones with one field perhaps replaced, or random ones."""
    n, length = draw(st.integers(0, 5)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    spec = {
        "iq": ("dataset", rng.normal(size=(n, 2, length)).astype(np.float32)),
        "clean": ("dataset", rng.normal(size=(n, 2, length)).astype(np.float32)),
        "label": ("dataset", rng.integers(0, 2, n)),
        "snr_db": ("dataset", rng.normal(size=n).astype(np.float32)),
        "params/p0": ("dataset", rng.normal(size=n)),
    }
    attrs = {**GOOD_ATTRS, "classes": ["OOK", "GFSK"]}
    random = draw(st.integers(0, 2))  # fields replaced by random ones: 0 = none, 2 = all
    for name in draw(st.sets(st.sampled_from(sorted(spec)), max_size=1 if random < 2 else 5)):
        spec[name] = (draw(HOW), draw(h5_values(spec[name][1].shape)))
    for key in draw(st.sets(st.sampled_from(sorted(attrs)), max_size=1 if random < 2 else 5)):
        if draw(st.booleans()):
            del attrs[key]
        else:
            attrs[key] = draw(ATTR_VALUES)
    if draw(st.booleans()):
        attrs["generation"] = draw(st.sampled_from(['{"a": 1}', "{not json", "[" * 3000]))
    return spec, attrs


@st.composite
def radioml2018_files(draw):
    """RadioML 2018 layouts: X, Y, Z of random shapes and types."""
    n, length = draw(st.integers(0, 5)), draw(st.integers(0, 6))
    labels = np.asarray(draw(st.lists(st.integers(0, 23), min_size=n, max_size=n)), int)
    onehot = np.eye(24)[labels].reshape(n, 24)
    spec = {
        "X": ("dataset", np.ones((n, length, 2), np.float32)),
        "Y": ("dataset", onehot),
        "Z": ("dataset", np.zeros((n, 1))),
    }
    for name in draw(st.sets(st.sampled_from(sorted(spec)), max_size=3)):
        shape = draw(st.sampled_from([spec[name][1].shape, (n, 1), (n,), (n + 1, 1)]))
        spec[name] = (draw(HOW), draw(h5_values(shape)))
    return spec, {}


@st.composite
def hdf5_files(draw):
    spec, attrs = draw(st.one_of(rfml_files(), radioml2018_files()))
    return spec, attrs, draw(st.booleans()), draw(st.integers(0, 6))


@both_profiles(hdf5_files())
def _hdf5_property(case):
    spec, attrs, clean, stop = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.h5"
        with h5py.File(path, "w") as f:
            for name, (how, value) in spec.items():
                _put(f, name, how, value)
            for key, value in attrs.items():
                f.attrs[key] = value
        read_or_refuse(path, clean=clean)
        read_or_refuse(path, select=slice(0, stop))
        try:
            datasets.describe(path)
        except datasets.DatasetError:
            pass


test_hdf5_fuzz, test_hdf5_fuzz_heavy = _hdf5_property

# --------------------------------------------------------------------------- SigMF

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20),
                         st.floats(), st.text(max_size=6))  # fmt: skip
JSON = st.recursive(
    JSON_SCALARS,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=8,
)
COUNTS = st.one_of(st.integers(-3, 400), JSON_SCALARS)
LABELS = st.one_of(st.sampled_from(["OOK", "GFSK", "QPSK", ""]), JSON)
DATATYPES = st.one_of(
    st.sampled_from(["cf32_le", "cf32_be", "ci16_le", "ci8", "cu8", "cf64_le", "ri16_le",
                     "ci16", "cf16_le", "cu32_be", "xx"]),
    JSON_SCALARS,
)  # fmt: skip


GLOBAL_FIELDS = {
    "core:datatype": DATATYPES,
    "core:sample_rate": st.one_of(st.floats(), JSON_SCALARS),
    "gr_rfml:vector_length": st.one_of(st.integers(-2, 64), st.floats(), JSON_SCALARS),
    "gr_rfml:classes": st.one_of(st.lists(LABELS, max_size=3), JSON),
    "gr_rfml:full_scale": st.one_of(st.floats(), JSON_SCALARS),
    "core:num_channels": st.one_of(st.integers(0, 3), JSON_SCALARS),
    "core:dataset": JSON_SCALARS,
}
ANNOTATION_FIELDS = {
    "core:sample_start": COUNTS,
    "core:sample_count": COUNTS,
    "core:label": LABELS,
    "gr_rfml:snr_db": st.one_of(st.floats(), JSON_SCALARS),
}


@st.composite
def sigmf_recordings(draw):
    """A valid recording (a datatype of 1 to 16 bytes per sample, annotations inside the
    data) with a few fields replaced by random values, or random JSON, or damaged text."""
    datatype = draw(st.sampled_from(["cf32_le", "ci16_le", "ci8", "cu8", "cf64_be"]))
    width = {"cf32_le": 8, "ci16_le": 4, "ci8": 2, "cu8": 2, "cf64_be": 16}[datatype]
    n = draw(st.integers(0, 40))
    glob = {"core:datatype": datatype, "gr_rfml:vector_length": draw(st.integers(1, 8))}
    if draw(st.booleans()):
        glob["gr_rfml:classes"] = ["OOK", "GFSK"]
    annotations = []
    for start in sorted(draw(st.lists(st.integers(0, n), max_size=3))):
        count = draw(st.integers(0, n - start))
        label = draw(st.sampled_from(["OOK", "GFSK", "QPSK"]))
        annotations.append(
            {"core:sample_start": start, "core:sample_count": count, "core:label": label}
        )
    for key in draw(st.sets(st.sampled_from(sorted(GLOBAL_FIELDS)), max_size=2)):
        glob[key] = draw(GLOBAL_FIELDS[key])
    for a in annotations:
        for key in draw(st.sets(st.sampled_from(sorted(ANNOTATION_FIELDS)), max_size=1)):
            a[key] = draw(ANNOTATION_FIELDS[key])
    captures = [{"core:sample_start": 0}]
    if draw(st.integers(0, 4)) == 0:
        keys = st.sampled_from(["core:sample_start", "core:header_bytes"])
        captures = draw(st.lists(st.dictionaries(keys, COUNTS), max_size=2))
    meta = {"global": glob, "annotations": annotations, "captures": captures}
    if draw(st.integers(0, 9)) == 0:
        meta = draw(JSON)
    text = json.dumps(meta)
    if draw(st.integers(0, 5)) == 0:
        text = damaged(text.encode(), draw(EDITS), draw(CUTS)).decode("latin1")
    data = draw(st.binary(min_size=n * width, max_size=n * width))
    return text, data + (b"\x01" if draw(st.integers(0, 4)) == 0 else b"")


@both_profiles(sigmf_recordings())
def _sigmf_property(case):
    text, data = case
    with tempfile.TemporaryDirectory() as d:
        base = Path(d) / "fuzz"
        sigmf.meta_path(base).write_text(text, encoding="latin1")
        sigmf.data_path(base).write_bytes(data)
        read_or_refuse(sigmf.meta_path(base))


test_sigmf_fuzz, test_sigmf_fuzz_heavy = _sigmf_property

# --------------------------------------------------------------------------- checkpoint cards

CONFIG_KEYS = ["dim", "depth", "heads", "ffn", "patch", "stem", "head_hidden", "preset",
               "n_classes", "vector_length", "widths", "kernel", "pools", "nonsense"]  # fmt: skip


@st.composite
def cards(draw):
    if draw(st.integers(0, 5)) == 0:
        return draw(JSON)
    card = {
        "kind": draw(st.one_of(st.sampled_from(models.kinds()), JSON)),
        "config": draw(st.one_of(
            st.dictionaries(st.sampled_from(CONFIG_KEYS),
                            st.one_of(st.integers(-1, 8), st.sampled_from(["tiny", "x"]),
                                      st.lists(st.integers(-1, 2**20), max_size=3),
                                      JSON_SCALARS), max_size=4),
            JSON)),
        "classes": draw(st.one_of(st.lists(st.text(max_size=3), max_size=3), JSON)),
        "vector_length": draw(st.one_of(st.integers(-1, 256), JSON_SCALARS)),
    }  # fmt: skip
    for key in list(card):
        if draw(st.integers(0, 6)) == 0:
            del card[key]
    return card


def _card_files(d, card):
    weights = Path(d) / "m.safetensors"
    weights.write_bytes(checkpoint.shipped("cam").read_bytes())
    checkpoint.card_path(weights).write_text(json.dumps(card))
    return weights


@both_profiles(
    cards(),
    fast=settings(FAST, max_examples=40),
    heavy=settings(HEAVY, max_examples=600),
)
def _card_property(card):
    with tempfile.TemporaryDirectory() as d:
        weights = _card_files(d, card)
        try:
            read = checkpoint.read_card(weights)
        except ValueError as e:
            assert str(weights.with_suffix(".json")) in str(e)
            return
        assert isinstance(read, dict)
        try:
            checkpoint.load(weights)
        except (ValueError, FileNotFoundError) as e:
            assert str(e)


test_checkpoint_card_fuzz, test_checkpoint_card_fuzz_heavy = _card_property


@pytest.mark.parametrize(
    "card",
    [
        pytest.param(7, id="number"),
        pytest.param([1, 2], id="list"),
        pytest.param({"kind": ["cam"], "config": {}, "classes": ["A"], "vector_length": 8},
                     id="kind-is-a-list"),
        pytest.param({"kind": "cam", "config": {"preset": "tiny", "nonsense": 1},
                      "classes": ["A"], "vector_length": 64}, id="unknown-config-key"),
        pytest.param({"kind": "cam", "config": "tiny", "classes": ["A"], "vector_length": 64},
                     id="config-is-a-string"),
        pytest.param({"kind": "cam", "config": {"preset": "tiny", "channels": [2**20] * 4},
                      "classes": ["A"], "vector_length": 64}, id="absurd-sizes"),
        pytest.param({"kind": "tsddae", "config": {"preset": "tiny", "dim": 2**16, "ffn": 2**20},
                      "classes": ["A"], "vector_length": 64}, id="absurd-tsnet"),
        pytest.param({"kind": "nosuch", "config": {}, "classes": ["A"], "vector_length": 64},
                     id="unknown-kind"),
        pytest.param({"config": {}, "classes": ["A"], "vector_length": 64}, id="no-kind"),
    ],
)  # fmt: skip
def test_malformed_cards_are_one_clear_error(tmp_path, card):
    weights = _card_files(tmp_path, card)
    with pytest.raises(ValueError, match=r"\S"):
        checkpoint.load(weights)
