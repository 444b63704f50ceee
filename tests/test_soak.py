# SPDX-License-Identifier: GPL-3.0-or-later
"""Soak test: the realtime classification flowgraph for ten minutes (marker "slow").

mod_source -> loopback (sim) -> awgn_snr -> throttle (1 MS/s) -> stream_to_vector -> head
-> tsddae_classifier (shipped model) -> cam_png_sink (one PNG a second, overwritten). The
head ends the stream after RFML_SOAK_S seconds' worth of vectors (default 600), so the
flowgraph finishes by itself and every vector can be counted. Passes when:
- the resident memory grows less than 5% from the end of the warm-up to the end;
- every vector is classified, none is labelled invalid (all are valid signals), every
  PNG is written, and nothing raises (the flowgraph ends within 3x the nominal time).
The rate it sustained is recorded (``realtime_ratio``, 1.0 = it kept up with 1 MS/s): on a
shared machine the throttle waits for the classifier rather than dropping vectors.
RFML_SOAK_JSON=FILE writes the measured figures to FILE (docs/performance.md quotes them).
"""

import json
import os
import threading
import time

import pytest
from gnuradio import blocks, gr
from gnuradio.rfml import awgn_snr, cam_png_sink, loopback, mod_source, tsddae_classifier

pytestmark = pytest.mark.slow

RATE = 1e6
L = 1024
SAMPLE_S = 5.0  # seconds between memory samples
MAX_GROWTH = 0.05


def rss_bytes():
    """Resident memory of this process (bytes)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


class soak_flowgraph(gr.top_block):
    def __init__(self, n_vectors, png_path):
        gr.top_block.__init__(self, "rfml soak")
        self.source = mod_source("DQPSK", seed=1)
        self.loopback = loopback(radio="sim", freq_offset=1e-4, phase_noise_std=1e-3, seed=2)
        self.awgn = awgn_snr(snr_db=10.0, vector_length=L, seed=3)
        self.throttle = blocks.throttle(gr.sizeof_gr_complex, RATE)
        self.to_vector = blocks.stream_to_vector(gr.sizeof_gr_complex, L)
        self.head = blocks.head(gr.sizeof_gr_complex * L, n_vectors)
        self.classifier = tsddae_classifier("", L, 64, "cpu")
        self.cam = cam_png_sink("", L, png_path=png_path, png_every=int(RATE // L), device="cpu")
        self.connect(self.source, self.loopback, self.awgn, self.throttle, self.to_vector,
                     self.head, self.classifier, self.cam)  # fmt: skip
        self.msg_connect(self.classifier, "classification", self.cam, "classification")


def test_realtime_classification_soak(tmp_path):
    duration = float(os.environ.get("RFML_SOAK_S", "600"))
    warmup = min(60.0, duration / 3)
    n_vectors = int(duration * RATE / L)
    tb = soak_flowgraph(n_vectors, str(tmp_path / "cam.png"))
    samples = []  # (seconds since start, RSS bytes, vectors classified)
    done = threading.Event()

    def monitor(start):
        while not done.wait(SAMPLE_S):
            count = tb.classifier.classified_count()
            samples.append((time.monotonic() - start, rss_bytes(), count))

    start = time.monotonic()
    thread = threading.Thread(target=monitor, args=(start,), daemon=True)
    thread.start()
    tb.start()
    finished = threading.Event()
    threading.Thread(target=lambda: (tb.wait(), finished.set()), daemon=True).start()
    limit = 3 * duration + 30
    ended = finished.wait(limit)
    elapsed = time.monotonic() - start
    done.set()
    thread.join()
    if not ended:
        tb.stop()
        tb.wait()
    after = [(t, rss) for t, rss, _ in samples if t >= warmup]
    rss_warm = after[0][1] if after else rss_bytes()
    rss_end = rss_bytes()
    rss_peak = max([rss for _, rss in after] + [rss_end])
    figures = {
        "duration_s": duration,
        "elapsed_s": round(elapsed, 1),
        "warmup_s": warmup,
        "vectors": n_vectors,
        "classified": tb.classifier.classified_count(),
        "invalid": tb.classifier.invalid_count(),
        "awgn_invalid": tb.awgn.invalid_count(),
        "pngs_written": tb.cam.pngs_written(),
        "png_errors": tb.cam.png_errors(),
        "rss_after_warmup_mib": round(rss_warm / 2**20, 1),
        "rss_end_mib": round(rss_end / 2**20, 1),
        "rss_peak_mib": round(rss_peak / 2**20, 1),
        "rss_growth": round((rss_peak - rss_warm) / rss_warm, 4),
        "classified_per_s": round(tb.classifier.classified_count() / elapsed, 1),
        "realtime_ratio": round(n_vectors * L / RATE / elapsed, 3),
        "rss_mib_per_minute": [
            round(rss / 2**20, 1) for t, rss, _ in samples if int(t) % 60 < SAMPLE_S
        ],
    }
    if os.environ.get("RFML_SOAK_JSON"):
        with open(os.environ["RFML_SOAK_JSON"], "w") as f:
            json.dump(figures, f, indent=2)
    assert ended, f"the flowgraph did not finish within {limit:.0f} s: {figures}"
    assert figures["classified"] == n_vectors, f"vectors left unclassified: {figures}"
    assert figures["invalid"] == 0 and figures["awgn_invalid"] == 0, figures
    assert figures["png_errors"] == 0 and figures["pngs_written"] >= duration / 2, figures
    assert figures["rss_growth"] < MAX_GROWTH, f"memory grew: {figures}"
