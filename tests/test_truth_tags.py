# SPDX-License-Identifier: GPL-3.0-or-later
"""The truth travels with the samples: mod_source's rfml_class and awgn_snr's rfml_snr_db
tags pass through the loopback, the vectoriser and the classifier, beside its rfml_label."""

import numpy as np
import pmt
import torch
from gnuradio import blocks, gr
from gnuradio.rfml import awgn_snr, loopback, mod_source, tsddae_classifier

L = 256


class PowerModel(torch.nn.Module):
    """A stand-in classifier: logits from the mean I and Q power (B, 2, L) -> (B, 6)."""

    def forward(self, x):
        p = (x**2).mean(dim=2)
        return torch.cat([p, -p, torch.zeros_like(p)], dim=1)


def test_class_and_snr_tags_reach_the_classifier_output():
    n_vectors = 40
    tb = gr.top_block()
    source = mod_source("GMSK", seed=3)
    channel = loopback(radio="sim", freq_offset=1e-3, timing_drift_ppm=50.0, seed=4)
    noise = awgn_snr(snr_db=5.0, vector_length=L, seed=5)
    clf = tsddae_classifier(vector_length=L, batch_size=8, device="cpu", model=PowerModel())
    sink = blocks.vector_sink_c(L)
    tb.connect(source, channel, noise, blocks.stream_to_vector(gr.sizeof_gr_complex, L),
               blocks.head(gr.sizeof_gr_complex * L, n_vectors), clf, sink)  # fmt: skip
    tb.run()
    tags = {}
    for t in sink.tags():
        tags.setdefault(pmt.symbol_to_string(t.key), []).append((t.offset, t.value))
    assert [(o, pmt.symbol_to_string(v)) for o, v in tags["rfml_class"]] == [(0, "GMSK")]
    assert [(o, pmt.to_double(v)) for o, v in tags["rfml_snr_db"]] == [(0, 5.0)]
    labels = tags["rfml_label"]
    assert [o for o, _ in labels] == list(range(n_vectors))
    assert len(np.asarray(sink.data())) == n_vectors * L
