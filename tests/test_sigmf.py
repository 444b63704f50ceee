# SPDX-License-Identifier: GPL-3.0-or-later
"""SigMF recordings (issue 12): `rfml capture` writes metadata the `sigmf` library
validates (current spec, sha512, datetime, core:comment, signal:detail, the documented
gr_rfml extension, ci16 for BladeRF); the reader takes other tools' recordings too."""

import hashlib
import json
import re
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import sigmf as sigmf_lib
from gnuradio.rfml.apps import capture as capture_app
from gnuradio.rfml.apps.__main__ import main as rfml_main
from gnuradio.rfml.flowgraphs import generation
from gnuradio.rfml.ml import sigmf
from gnuradio.rfml.ml.contract import CLASSES
from gnuradio.rfml.ml.datasets import DatasetError, read_dataset
from sigmf.sigmffile import SigMFFile

DOCS = Path(__file__).resolve().parent.parent / "docs" / "sigmf.md"


def _capture(tmp_path, name, *extra, classes="GFSK,DQPSK,OFDM"):
    base = tmp_path / name
    argv = ["capture", "--out", str(base), "--classes", classes, "--snr-db", "0,20",
            "--vectors", "3", "--length", "128", "--seed", "4", *extra]  # fmt: skip
    assert rfml_main(argv) == 0
    return base


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return _capture(tmp_path_factory.mktemp("sigmf"), "rec", classes=",".join(CLASSES))


def test_capture_metadata_passes_the_sigmf_validator(recording):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # undeclared extensions are a warning there
        handle = sigmf_lib.sigmffile.fromfile(str(recording))  # checks core:sha512 too
        handle.validate()
    meta = json.loads(sigmf.meta_path(recording).read_text())
    glob = meta["global"]
    assert glob["core:version"] == sigmf_lib.__specification__
    data = sigmf.data_path(recording).read_bytes()
    assert glob["core:sha512"] == hashlib.sha512(data).hexdigest()
    assert glob["core:datatype"] == "cf32_le" and len(data) == 6 * 2 * 3 * 128 * 8
    names = {e["name"] for e in glob["core:extensions"]}
    assert names == {"gr_rfml", "signal"}
    stamp = meta["captures"][0]["core:datetime"]
    assert stamp.endswith("Z") and datetime.fromisoformat(stamp[:-1]).year >= 2024
    assert "core:frequency" not in meta["captures"][0]  # a simulated loopback has none
    first = meta["annotations"][0]
    assert first["core:label"] == "OOK" and first["core:comment"] == "OOK at 0 dB SNR"
    assert "core:description" not in first
    details = {a["core:label"]: a["signal:detail"] for a in meta["annotations"]}
    assert details["DQPSK"]["mod_class"] == "psk" and details["DQPSK"]["order"] == 4
    assert details["DQPSK"]["symbol_variant"] == "differential"
    assert details["OFDM"]["multiplexing"] == "ofdm"
    assert details["GMSK"]["mod_class"] == "msk" and details["OOK"]["mod_class"] == "ook"


def test_every_extension_key_is_documented(recording):
    meta = json.loads(sigmf.meta_path(recording).read_text())
    used = {k for k in meta["global"] if k.startswith("gr_rfml:")}
    for a in meta["annotations"]:
        used |= {k for k in a if k.startswith("gr_rfml:")}
    documented = set(re.findall(r"^\| `(gr_rfml:\w+)` \|", DOCS.read_text(), re.M))
    assert used - documented == set()
    assert len(used) >= 20
    assert documented - used == {"gr_rfml:full_scale"}  # ci16 only


def test_ci16_recording_matches_cf32(tmp_path, recording):
    ci16 = _capture(tmp_path, "ci16", "--datatype", "ci16_le")
    cf32 = _capture(tmp_path, "cf32")
    meta = json.loads(sigmf.meta_path(ci16).read_text())
    assert meta["global"]["core:datatype"] == "ci16_le"
    full = meta["global"]["gr_rfml:full_scale"]
    assert 0 < full <= 2048
    assert sigmf.data_path(ci16).stat().st_size * 2 == sigmf.data_path(cf32).stat().st_size
    a, b = read_dataset(ci16), read_dataset(cf32)
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_array_equal(a.snr_db, b.snr_db)
    assert np.max(np.abs(a.iq - b.iq)) <= 0.5 / full + 1e-6
    assert a.attrs["datatype"] == "ci16_le"


def test_bladerf_capture_metadata(tmp_path, monkeypatch):
    # No board here: the flowgraphs are replaced by samples of the right length.
    def record(cfg, data, n_vectors, center_freq):
        n = n_vectors * cfg.length
        Path(data).write_bytes(np.full(n * len(cfg.jobs), 0.5 - 0.25j, "<c8").tobytes())
        return [{"core:sample_start": i * n, "core:sample_count": n, "core:label": "GFSK"}
                for i in range(len(cfg.jobs))]  # fmt: skip

    monkeypatch.setattr(capture_app, "_record", record)
    cfg = generation.GenerationConfig(classes=("GFSK",), per_class=1, snr_db="10", length=64,
                                      radio="bladerf")  # fmt: skip
    data, _, meta = capture_app.capture(cfg, tmp_path / "air", 2, center_freq=2.4e9)
    assert meta["global"]["core:datatype"] == "ci16_le" and meta["global"]["core:hw"]
    assert meta["captures"][0]["core:frequency"] == 2.4e9
    assert meta["global"]["gr_rfml:radio"] == "bladerf:firmware"
    raw = np.frombuffer(data.read_bytes(), "<i2")
    np.testing.assert_array_equal(raw[:4], [1024, -512, 1024, -512])  # Q11: 1.0 = 2048
    ds = read_dataset(data, vector_length=64)
    np.testing.assert_allclose(ds.iq[0, :, 0], [0.5, -0.25])


def _foreign(tmp_path, datatype, samples):
    """A recording written by the sigmf library alone: plain core:label annotations."""
    base = tmp_path / f"foreign_{datatype}"
    sigmf.data_path(base).write_bytes(samples.tobytes())
    handle = SigMFFile(
        data_file=str(sigmf.data_path(base)),
        global_info={"core:datatype": datatype, "core:sample_rate": 2e6,
                     "core:version": sigmf_lib.__specification__},
    )  # fmt: skip
    handle.add_capture(0, metadata={"core:frequency": 915e6})
    handle.add_annotation(0, 200, metadata={"core:label": "QPSK"})
    handle.add_annotation(200, 100, metadata={"core:label": "BPSK"})
    handle.add_annotation(300, 50, metadata={"core:comment": "no label: not a class"})
    handle.tofile(str(base))
    return base


def test_reads_recordings_of_other_tools(tmp_path):
    rng = np.random.default_rng(2)
    x = (rng.normal(size=350) + 1j * rng.normal(size=350)) / 4
    cf32 = _foreign(tmp_path, "cf32_le", x.astype("<c8"))
    ds = read_dataset(sigmf.meta_path(cf32), vector_length=50)
    assert ds.classes == ("BPSK", "QPSK") and ds.format == "sigmf"
    np.testing.assert_array_equal(ds.label, [1, 1, 1, 1, 0, 0])
    assert np.all(np.isnan(ds.snr_db)) and ds.attrs["sample_rate"] == 2e6
    np.testing.assert_array_equal(ds.iq[4, 0], x[200:250].real.astype(np.float32))
    ints = np.round(np.stack([x.real, x.imag], 1) * 2**15).astype("<i2")
    ci16 = _foreign(tmp_path, "ci16_le", ints)
    back = read_dataset(ci16, vector_length=50)
    np.testing.assert_allclose(back.iq, ds.iq, atol=2**-15)
    # the library reads them the same way
    lib = sigmf_lib.sigmffile.fromfile(str(ci16)).read_samples(200, 50)
    np.testing.assert_allclose(back.iq[4, 0] + 1j * back.iq[4, 1], lib, atol=1e-6)
    # no vector length anywhere: the shipped models' 1024 (here: too long for any segment)
    assert len(read_dataset(cf32)) == 0


@pytest.mark.parametrize(
    "meta, message",
    [
        ("[1, 2]", "'global' object"),
        ('{"global": {}}', "core:datatype None is not a SigMF datatype"),
        ('{"global": {"core:datatype": "rf32_le"}}', "real samples"),
        ('{"global": {"core:datatype": "cf32_le"}, "annotations": {}}', "must be a list"),
        ('{"global": {"core:datatype": "cf32_le"}, "annotations": [{"core:sample_start": "0"}]}',
         "annotation 0 core:sample_start is '0'"),
        ('{"global": {"core:datatype": "cf32_le", "core:num_channels": 2}}', "num_channels"),
        ('{"global": {"core:datatype": "ci16_le", "gr_rfml:full_scale": 0}}', "full_scale"),
        ("[" * 100000, "not JSON"),
    ],
)  # fmt: skip
def test_malformed_metadata_is_one_clear_error(tmp_path, meta, message):
    base = tmp_path / "bad"
    sigmf.data_path(base).write_bytes(np.zeros(8, "<c8").tobytes())
    sigmf.meta_path(base).write_text(meta)
    with pytest.raises(DatasetError, match=message):
        read_dataset(base)
