# SPDX-License-Identifier: GPL-3.0-or-later
"""The signal-chain blocks together: the README's DataLoader example, and their GRC YAML."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from gnuradio import blocks, gr, rfml
from gnuradio.rfml import dsp
from gnuradio.rfml.ml.stream import QueueDataset

L = 1024
REPO = Path(__file__).resolve().parents[1]


def grc_blocks_path():
    """The installed rfml_*.block.yml beside the package in use, else the repository's."""
    for parent in Path(rfml.__file__).resolve().parents:
        installed = parent / "share" / "gnuradio" / "grc" / "blocks"
        if list(installed.glob("rfml_mod_source.block.yml")):
            return str(installed)
    return str(REPO / "grc")


def test_readme_dataloader_example():
    tb = gr.top_block()
    src = rfml.mod_source("DQPSK", samples_per_symbol=8, excess_bw=0.25, seed=1)
    radio = rfml.loopback(freq_offset=1e-3, phase_noise_std=1e-3, iq_gain_db=0.3)
    noise = rfml.awgn_snr(snr_db=5.0, vector_length=L, seed=2)
    tensors = rfml.vector_to_tensor(vector_length=L, batch_size=32, when_full="block")
    clean, noise_out = blocks.vector_sink_c(), blocks.vector_sink_c()
    tb.connect(src, blocks.head(gr.sizeof_gr_complex, 100 * L), radio, noise)
    tb.connect(noise, blocks.stream_to_vector(gr.sizeof_gr_complex, L), tensors)
    tb.connect(radio, clean)
    tb.connect((noise, 1), noise_out)
    tb.start()
    got = list(torch.utils.data.DataLoader(QueueDataset(tensors, timeout=60), batch_size=None))
    tb.wait()
    assert [tuple(b.shape) for b in got] == [(32, 2, L)] * 3 + [(4, 2, L)]
    x = torch.cat(got).numpy()
    iq = (x[:, 0] + 1j * x[:, 1]).astype(np.complex64)  # (100, L) noisy vectors
    w = np.asarray(noise_out.data(), np.complex64).reshape(-1, L)
    s = np.asarray(clean.data(), np.complex64).reshape(-1, L)
    np.testing.assert_allclose(iq, s + w, atol=1e-5)
    assert np.abs(dsp.snr_db(s, w) - 5.0).max() < 0.05


GRC = textwrap.dedent(
    """\
    options:
      parameters: {id: signal_chain, generate_options: no_gui, output_language: python,
        run_options: run, title: signal chain}
      states: {coordinate: [8, 8], rotation: 0, state: enabled}
    blocks:
    - name: src
      id: rfml_mod_source
      parameters: {modulation: '"OOK"', pulse: '"gaussian"', samples_per_symbol: '6.5',
        bt: '0.3', seed: '4'}
      states: {coordinate: [8, 100], rotation: 0, state: enabled}
    - name: ofdm
      id: rfml_mod_source
      parameters: {modulation: '"OFDM"', ofdm_fft_len: '128', ofdm_cp_len: '32'}
      states: {coordinate: [8, 300], rotation: 0, state: enabled}
    - name: head
      id: blocks_head
      parameters: {type: complex, num_items: '65536', vlen: '1'}
      states: {coordinate: [200, 100], rotation: 0, state: enabled}
    - name: head2
      id: blocks_head
      parameters: {type: complex, num_items: '8192', vlen: '1'}
      states: {coordinate: [200, 300], rotation: 0, state: enabled}
    - name: sink2
      id: blocks_null_sink
      parameters: {type: complex, vlen: '1', num_inputs: '1'}
      states: {coordinate: [400, 300], rotation: 0, state: enabled}
    - name: radio
      id: rfml_loopback
      parameters: {radio: '"sim"', freq_offset: '0.002', timing_drift_ppm: '10',
        dc_offset: 0.01+0.01j}
      states: {coordinate: [400, 100], rotation: 0, state: enabled}
    - name: noise
      id: rfml_awgn_snr
      parameters: {snr_db: '3.0', vector_length: '1024', seed: '1'}
      states: {coordinate: [600, 100], rotation: 0, state: enabled}
    - name: s2v
      id: blocks_stream_to_vector
      parameters: {type: complex, num_items: '1024', vlen: '1'}
      states: {coordinate: [800, 100], rotation: 0, state: enabled}
    - name: tensors
      id: rfml_vector_to_tensor
      parameters: {vector_length: '1024', batch_size: '8', queue_size: '64',
        when_full: '"drop"'}
      states: {coordinate: [1000, 100], rotation: 0, state: enabled}
    - name: file
      id: blocks_file_sink
      parameters: {type: complex, file: noise.cf32, vlen: '1', unbuffered: 'False',
        append: 'False'}
      states: {coordinate: [800, 200], rotation: 0, state: enabled}
    connections:
    - [src, '0', head, '0']
    - [head, '0', radio, '0']
    - [radio, '0', noise, '0']
    - [noise, '0', s2v, '0']
    - [s2v, '0', tensors, '0']
    - [noise, '1', file, '0']
    - [ofdm, '0', head2, '0']
    - [head2, '0', sink2, '0']
    metadata: {file_format: 1}
    """
)


def test_grc_blocks_compile_and_run(tmp_path):
    grcc = shutil.which("grcc")
    if grcc is None:
        pytest.fail("grcc not found: install the Debian package gnuradio (./run.sh setup does)")
    (tmp_path / "signal_chain.grc").write_text(GRC)
    env = {**os.environ, "GRC_BLOCKS_PATH": grc_blocks_path()}
    r = subprocess.run([grcc, "-o", str(tmp_path), str(tmp_path / "signal_chain.grc")],
                       capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert r.returncode == 0, f"grcc failed:\n{r.stdout}\n{r.stderr}"
    r = subprocess.run([sys.executable, str(tmp_path / "signal_chain.py")], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    w = np.fromfile(tmp_path / "noise.cf32", dtype=np.complex64)
    # 65536 samples * (1 + 10 ppm) through the drift, less the resampler's filter tail;
    # awgn_snr passes whole 1024-sample vectors only
    assert len(w) % L == 0 and len(w) // L in (63, 64)
    assert 0.3 < np.mean(np.abs(w) ** 2) < 0.7  # 3 dB under the unit-power signal


def test_import_stays_light():
    """`from gnuradio import rfml` loads no torch (blocks import it when constructed)."""
    code = "import sys; from gnuradio import rfml; print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_grc_shows_the_parameters_that_apply(monkeypatch):
    """The blocks' hide expressions and asserts, evaluated by GRC itself."""
    from gnuradio.grc.core.platform import Platform

    monkeypatch.setenv("GRC_BLOCKS_PATH", grc_blocks_path())
    platform = Platform(
        version=gr.version(),
        version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()),
        prefs=gr.prefs(),
    )
    platform.build_library()
    fg = platform.make_flow_graph()

    def shown(block_id, **settings):
        block = fg.new_block(block_id)
        for key, value in settings.items():
            block.params[key].set_value(value)
        fg.rewrite()
        block.validate()
        visible = {k for k, p in block.params.items() if p.hide == "none"}
        return visible, block.get_error_messages()

    ofdm, _ = shown("rfml_mod_source", modulation='"OFDM"')
    assert {"ofdm_fft_len", "ofdm_cp_len"} <= ofdm and "samples_per_symbol" not in ofdm
    ook, _ = shown("rfml_mod_source", modulation='"OOK"', pulse='"gaussian"')
    assert {"samples_per_symbol", "pulse", "bt"} <= ook and "ofdm_fft_len" not in ook
    gfsk, _ = shown("rfml_mod_source", modulation='"GFSK"')
    assert {"mod_index", "bt"} <= gfsk and "pulse" not in gfsk
    radio, _ = shown("rfml_loopback", radio='"bladerf"')
    assert {"loopback_mode", "center_freq", "tx_gain"} <= radio and "freq_offset" not in radio
    sim, _ = shown("rfml_loopback")
    assert {"freq_offset", "timing_drift_ppm"} <= sim and "loopback_mode" not in sim
    _, errors = shown("rfml_vector_to_tensor", queue_size="0")
    assert any("queue_size > 0 or emit_messages" in e for e in errors)


@pytest.mark.bladerf
def test_bladerf_firmware_loopback_returns_the_signal():
    """With a BladeRF attached: what goes out in firmware loopback comes back."""
    try:
        radio = rfml.loopback(radio="bladerf", loopback_mode="firmware", sample_rate=2e6)
    except RuntimeError as err:
        pytest.skip(str(err))
    n = 400_000
    tb = gr.top_block()
    src, sent, got = (
        rfml.mod_source("DQPSK", seed=1),
        blocks.vector_sink_c(),
        blocks.vector_sink_c(),
    )
    head = blocks.head(gr.sizeof_gr_complex, n)
    tb.connect(src, head, sent)
    tb.connect(
        head, blocks.multiply_const_cc(0.5), radio, blocks.head(gr.sizeof_gr_complex, n), got
    )
    tb.run()
    x = np.asarray(sent.data(), np.complex64)[: n // 2]
    y = np.asarray(got.data(), np.complex64)
    corr = np.abs(np.fft.ifft(np.fft.fft(y, 2 * n) * np.conj(np.fft.fft(x, 2 * n))))
    k = int(np.argmax(corr))
    seg = y[k : k + len(x)]
    rho = corr[k] / np.sqrt(np.sum(np.abs(x) ** 2) * np.sum(np.abs(seg) ** 2))
    assert rho > 0.9, f"received signal correlates {rho:.3f} with the transmitted one"
