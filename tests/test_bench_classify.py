# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench classify`, shrunk to seconds: every vector goes through the block, and the
figures the README quotes are in the JSON."""

import json

import pytest
from gnuradio.rfml.apps.__main__ import main as rfml_main
from gnuradio.rfml.ml import checkpoint


def test_bench_classify_quick(tmp_path, capsys):
    shipped = checkpoint.shipped("tsddae")
    if not shipped.is_file():
        pytest.fail(f"shipped weights not installed: {shipped}; they come from "
                    "python/rfml/weights/ with ./run.sh setup", pytrace=False)  # fmt: skip
    out = tmp_path / "bench.json"
    argv = ["bench", "classify", "--vectors", "128", "--batch-sizes", "32,64",
            "--threads", "1,2", "--repeats", "1", "--device", "cpu",
            "--json", str(out)]  # fmt: skip
    assert rfml_main(argv) == 0
    figures = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == figures
    assert figures["device"].startswith("cpu")
    settings = [(row["threads"], row["batch_size"]) for row in figures["sweep"]]
    assert settings == [(1, 32), (1, 64), (2, 32), (2, 64)]
    best = max(figures["sweep"], key=lambda row: row["block_samples_per_s"])
    assert figures["samples_per_s"] == best["block_samples_per_s"] > 0
    assert (figures["best_threads"], figures["best_batch_size"]) == (
        best["threads"], best["batch_size"])  # fmt: skip
    for row in figures["sweep"]:  # whole batches, every vector through the block
        assert row["vectors"] == 128 and row["block_samples_per_s"] > 0
        ratio = row["block_samples_per_s"] / row["bare_forward_samples_per_s"]
        assert row["block_vs_bare"] == ratio
    assert figures["model_kind"] == "tsddae" and figures["vector_length"] == 1024
