# SPDX-License-Identifier: GPL-3.0-or-later
"""rfml compress / decompress / bench codec(-rate) on a tiny codec: real files, real sizes."""

import json

import numpy as np
import pytest
import torch
from gnuradio.rfml.apps.__main__ import main as rfml
from gnuradio.rfml.ml import checkpoint, datasets, packet
from gnuradio.rfml.ml.contract import CLASSES
from gnuradio.rfml.ml.models import hqarf

L = 256


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("codec")
    torch.manual_seed(0)
    model = hqarf.build("tiny", vector_length=L).seed_codebooks(torch.randn(16, 2, L))
    ckpt = tmp / "hqarf_tiny.safetensors"
    checkpoint.save(model, {"classes": None}, ckpt)
    rng = np.random.default_rng(0)
    n = 30
    z = (rng.standard_normal((n, L)) + 1j * rng.standard_normal((n, L))).astype(np.complex64)
    ds = datasets.Dataset(
        iq=datasets.as_tensor(z), clean=datasets.as_tensor(z), label=rng.integers(0, 6, n),
        snr_db=rng.uniform(-5, 20, n).astype(np.float32), classes=CLASSES,
        attrs={"sample_rate": 1e6, "samples_per_symbol": 10, "radio": "sim", "seed": 3},
    )  # fmt: skip
    data = tmp / "in.h5"
    datasets.write_dataset(data, ds)
    return tmp, ckpt, data, ds


def test_compress_decompress_round_trip(files, capsys):
    tmp, ckpt, data, ds = files
    rfc, out = tmp / "c.rfc", tmp / "out.h5"
    assert rfml(["compress", "--data", str(data), "--level", "2", "--out", str(rfc),
                 "--model", str(ckpt)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    size = rfc.stat().st_size
    # 30 packets of 18 + 32 * 5 / 8 = 38 bytes, each with a 2-byte length, a label byte and a
    # float32 SNR, plus the magic, the header length and the JSON header.
    packets, label, snr_db, meta = packet.read_container(rfc)
    head = size - 30 * (2 + 38 + 1 + 4)
    assert 10 < head < 600 and {len(p) for p in packets} == {38}
    assert f"{30 * L * 4 / size:.1f}:1 against 16-bit I/Q" in printed
    np.testing.assert_array_equal(label, ds.label)
    np.testing.assert_array_equal(snr_db, ds.snr_db)
    assert meta["level"] == 2 and meta["classes"] == list(ds.classes)
    assert rfml(["decompress", str(rfc), "--out", str(out), "--model", str(ckpt)]) == 0
    back = datasets.read_dataset(out)
    codec, _ = packet.load_codec(str(ckpt), L, "cpu")
    z = ds.iq[:, 0] + 1j * ds.iq[:, 1]
    want = codec.decompress([codec.read(p) for p in codec.compress(z, 2)[0]])
    np.testing.assert_allclose(back.iq[:, 0] + 1j * back.iq[:, 1], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(back.label, ds.label)
    assert back.attrs["seed"] == 3 and back.attrs["clean_is_decoded"] == 1
    assert not list(tmp.glob(".*.tmp"))


def test_bad_containers_are_one_clear_error(files):
    tmp, ckpt, data, _ = files
    rfc = tmp / "d.rfc"
    rfml(["compress", "--data", str(data), "--level", "4", "--out", str(rfc), "--model", str(ckpt)])
    whole = rfc.read_bytes()
    for name, content, match in (("cut.rfc", whole[:-3], "truncated"),
                                 ("junk.rfc", b"hello", "not an rfml compress container"),
                                 ("tail.rfc", whole + b"\0", "bytes after")):  # fmt: skip
        (tmp / name).write_bytes(content)
        with pytest.raises(packet.PacketError, match=match):
            rfml(["decompress", str(tmp / name), "--out", str(tmp / "x.h5"), "--model", str(ckpt)])
    assert not (tmp / "x.h5").exists()
    other = tmp / "other.safetensors"
    model = hqarf.build("tiny", vector_length=L).seed_codebooks(torch.randn(16, 2, L))
    checkpoint.save(model, {"classes": None}, other)
    with pytest.raises(packet.PacketError, match="checkpoint that encoded it"):
        rfml(["decompress", str(rfc), "--out", str(tmp / "x.h5"), "--model", str(other)])


def test_bench_codec_reports_rates_beside_the_baseline(files, tmp_path):
    _, ckpt, _, _ = files
    out = tmp_path / "b.json"
    assert rfml(["bench", "codec", "--model", str(ckpt), "--levels", "0,4", "--vectors", "64",
                 "--repeats", "1", "--threads", "1", "--json", str(out)]) == 0  # fmt: skip
    figures = json.loads(out.read_text())
    assert set(figures["levels"]) == {"L0", "L4"}
    for entry in figures["levels"].values():
        rates = entry["threads_1"]
        assert rates["encode_samples_per_s"] > 1e4 and rates["decode_samples_per_s"] > 1e4
    assert figures["levels"]["L4"]["packet_bytes"] == 18 + 8 * 5 // 8
    assert figures["baseline"]["encode_samples_per_s"] > 0


@pytest.mark.slow
def test_reproduce_runs_the_codec_recipe_and_records_its_measurement(tmp_path):
    args = ["train", "reproduce", "hqarf_small", "--preset", "tiny", "--size-scale", "0.01",
            "--budget-scale", "0.01", "--work-dir", str(tmp_path / "w"), "--out-dir",
            str(tmp_path / "o"), "--docs-dir", str(tmp_path / "d"), "--quiet"]  # fmt: skip
    assert rfml(args) == 0
    card = checkpoint.read_card(tmp_path / "o" / "hqarf_small.safetensors")
    rate = card["metrics"]["codec_rate"]
    assert list(rate["levels"]) == ["L0", "L1", "L2", "L3", "L4"]
    stages = [s.name for s in card_steps(card)]
    assert stages == ["reconstruct", "quantise", "generative"] + ["task"] * 11
    assert card["config"]["codebook_size"] == [256, 256, 256, 1024, 1024]  # grown at L3 and L4
    tuned = card["training"]["depends_on"]["classifiers"]
    assert {k: v["file"] for k, v in tuned.items()} == {"tsddae": "tsddae_small.safetensors",
                                                        "cam": "cam_small.safetensors"}  # fmt: skip
    assert {p.name for p in (tmp_path / "d").iterdir()} == {"hqarf_rate_accuracy.png",
                                                           "hqarf_rate_snr.png"}  # fmt: skip


def card_steps(card):
    """The recipe's steps as recorded in a card (objects with a ``name`` = the stage)."""
    from types import SimpleNamespace

    return [SimpleNamespace(name=s["stage"]) for s in card["recipe"]["steps"]]
