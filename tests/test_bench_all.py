# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench all --quick`: every benchmark in one run, one JSON, and the summary table of
a performance document regenerated from it (text around the table kept)."""

import json
import time

from gnuradio.rfml.apps import bench
from gnuradio.rfml.apps.__main__ import main as rfml_main


def test_bench_all_quick_writes_one_json_and_the_table(tmp_path, capsys):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Perf\n\nintro\n\n{bench.TABLE_START}\nold table\n{bench.TABLE_END}\n\n"
                   "## Soak\n\nkept\n")  # fmt: skip
    out = tmp_path / "bench.json"
    start = time.monotonic()
    assert rfml_main(["bench", "all", "--quick", "--json", str(out), "--doc", str(doc)]) == 0
    assert time.monotonic() - start < 60
    figures = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == figures
    assert set(figures) == {"meta", *bench.BENCHMARKS}
    assert figures["meta"]["quick"] is True
    assert set(figures["meta"]["seconds"]) == set(bench.BENCHMARKS)
    assert figures["generate"]["samples_per_s"] > 0 and figures["chain"]["samples_per_s"] > 0
    assert figures["constellation"]["decay_images_per_s"] > 0
    assert figures["classify"]["samples_per_s"] > 0
    text = doc.read_text()
    assert text.startswith("# Perf\n\nintro\n\n") and text.endswith("## Soak\n\nkept\n")
    assert "old table" not in text and text.count(bench.TABLE_START) == 1
    table = text.split(bench.TABLE_START)[1].split(bench.TABLE_END)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    # header, generate, chain, two constellation, classify, denoise, codec level 3
    assert len(rows) == 1 + 7
    mega = figures["chain"]["samples_per_s"] / 1e6
    assert f"| `rfml bench chain` | {mega:.3g} MS/s |" in table
    assert "rfml bench all --quick" in table


def test_table_from_an_earlier_json_into_a_new_document(tmp_path):
    figures = {
        "meta": {"quick": False, "date": "2026-12-01 00:00 UTC", "machine": "x86_64",
                 "cpu_count": 2, "load_average_at_start": 0.1},
        "chain": {"samples_per_s": 12_345_678, "modulators_samples_per_s": 20e6,
                  "ratio_vs_modulators": 0.617},
    }  # fmt: skip
    saved, doc = tmp_path / "bench.json", tmp_path / "docs" / "performance.md"
    doc.parent.mkdir()
    saved.write_text(json.dumps(figures))
    assert rfml_main(["bench", "all", "--from-json", str(saved), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Performance")
    assert ("| signal chain (source → loopback → AWGN → tensors) | `rfml bench chain` | "
            "12.3 MS/s | the modulators alone, 20 MS/s | 0.617 |") in text  # fmt: skip
    assert "Quick sizes" not in text
