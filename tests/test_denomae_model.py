# SPDX-License-Identifier: GPL-3.0-or-later
"""DenoMAE model: masking that hides what it masks, losses on masked patches only, the
denoiser and classifier protocols, checkpoints; the classical baselines on signals whose
answer is known."""

import numpy as np
import pytest
import torch
from gnuradio.rfml.dsp import denoise as dsp
from gnuradio.rfml.ml import checkpoint, models
from gnuradio.rfml.ml.models import denomae


def _tiny(**kw):
    torch.manual_seed(0)
    return denomae.build("tiny", vector_length=256, **kw).eval()


def _patches(model, b=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        m: torch.randn(b, model.tokens[m], model.patch_dim[m], generator=g)
        for m in denomae.MODALITIES
    }


def test_masked_patches_never_reach_the_decoders():
    """Changing the masked patches of every modality leaves every prediction unchanged (the
    reference's decoders saw no mask tokens and its loss read the visible patches)."""
    model = _tiny()
    patches = _patches(model)
    g = torch.Generator().manual_seed(1)
    keep = {m: model.random_keep(3, m, g, "cpu") for m in patches}
    with torch.no_grad():
        enc, kept = model.forward_encoder(patches, keep)
        before = {m: model.forward_decoder(m, enc, kept) for m in patches}
        changed = {}
        for m, p in patches.items():
            p = p.clone()
            hidden = torch.ones(p.shape[:2], dtype=torch.bool)
            hidden[torch.arange(3)[:, None], keep[m]] = False
            p[hidden] += 10.0
            changed[m] = p
        enc2, kept2 = model.forward_encoder(changed, keep)
        for m in patches:
            assert torch.allclose(before[m], model.forward_decoder(m, enc2, kept2), atol=1e-5)


def test_masking_keeps_a_quarter_of_each_modality():
    model = _tiny()
    g = torch.Generator().manual_seed(0)
    for m in denomae.MODALITIES:
        keep = model.random_keep(4, m, g, "cpu")
        assert keep.shape == (4, max(1, round(model.tokens[m] * 0.25)))
        assert all(len(set(row.tolist())) == keep.shape[1] for row in keep)


def test_masked_loss_reads_masked_patches_only():
    pred = torch.zeros(2, 8, 4)
    target = torch.zeros(2, 8, 4)
    keep = torch.tensor([[0, 1], [2, 3]])
    target[0, 0] = target[1, 3] = 5.0  # visible patches differ: no loss
    assert denomae.DenoMAE.masked_mse(pred, target, keep).item() == 0.0
    target[0, 5] = 2.0  # one masked patch off by 2 in 4 values: 4 / 12 patches
    assert denomae.DenoMAE.masked_mse(pred, target, keep).item() == pytest.approx(4.0 / 12)


def test_patches_round_trip_and_keep_i_and_q():
    model = _tiny()
    x = torch.randn(2, 2, 256)
    t = model.patchify_signal(x)
    assert t.shape == (2, 256 // 64, 128)
    assert torch.equal(t[0, 1, :64], x[0, 0, 64:128])  # I of the second patch
    assert torch.equal(t[0, 1, 64:], x[0, 1, 64:128])  # then its Q
    assert torch.equal(model.unpatchify_signal(t), x)
    img = torch.arange(2 * 2 * 16 * 16, dtype=torch.float32).reshape(2, 2, 16, 16)
    p = model.patchify_image(img)
    assert p.shape == (2, 4, 2 * 64)
    assert torch.equal(p[1, 1].reshape(2, 8, 8), img[1, :, :8, 8:])


def test_denoise_and_classify_shapes_losses_and_checkpoint(tmp_path):
    model = _tiny()
    g = torch.Generator().manual_seed(0)
    clean = torch.randn(4, 2, 256, generator=g)
    batch = {"iq": clean + 0.5 * torch.randn(4, 2, 256, generator=g), "clean": clean,
             "label": torch.tensor([0, 1, 2, 3])}  # fmt: skip
    x = batch["iq"] / denomae.rms(batch["iq"])
    with torch.no_grad():
        assert model.denoise(x).shape == (4, 2, 256)
        assert model(batch["iq"]).shape == (4, 6)
    for name in ("pretrain", "denoise", "refine", "finetune", "supervised"):
        loss = denomae.STAGES[name].loss(model.train(), batch, g)
        assert loss.ndim == 0 and torch.isfinite(loss)
    # fine-tuning with the frozen encoder gives the encoder no gradient
    model.zero_grad()
    denomae.finetune_loss(model, batch).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert model.head[1].weight.grad is not None
    model.zero_grad()
    denomae.supervised_loss(model, batch).backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    path = tmp_path / "d.safetensors"
    checkpoint.save(model, {"classes": list("ABCDEF")}, path)
    loaded, card = checkpoint.load(path, kind="denomae")
    assert card["config"]["modalities"] == list(denomae.MODALITIES)
    with torch.no_grad():
        assert torch.allclose(loaded.eval().denoise(x), model.eval().denoise(x), atol=1e-6)


def test_refinement_head_starts_at_the_coarse_estimate_and_trains_alone(tmp_path):
    """The refiner's output layer starts at zero (denoise = the transformer's estimate), its
    receptive field is 2^(layers+1) - 1 samples, the refine stage trains it alone, and a
    checkpoint without one grows one through ``checkpoint.load(grow=...)``."""
    model = _tiny()
    g = torch.Generator().manual_seed(1)
    clean = torch.randn(2, 2, 256, generator=g)
    batch = {"iq": clean + 0.3 * torch.randn(2, 2, 256, generator=g), "clean": clean}
    x = batch["iq"] / denomae.rms(batch["iq"])
    with torch.no_grad():
        assert torch.equal(model.denoise(x), model.coarse(x)[0])
    model.zero_grad()
    denomae.refine_loss(model.train(), batch, g).backward()
    trained = {n for n, p in model.named_parameters() if p.grad is not None}
    assert trained and all(n.startswith("refiner.") for n in trained)
    # receptive field: a sample's output depends on inputs within 2^(L+1) - 1 samples
    ref = model.refiner.eval()
    torch.nn.init.normal_(ref.out.weight)
    states = torch.zeros(1, 4, model.config["decoder_dim"])
    probe = torch.zeros(1, 2, 256, requires_grad=True)
    ref(probe, torch.zeros(1, 2, 256), states)[0, 0, 128].backward()
    reach = torch.nonzero(probe.grad.abs().sum(0).sum(0))[:, 0]
    span = 2 ** (model.config["refine_layers"] + 1) - 1
    assert reach.min() >= 128 - span // 2 and reach.max() <= 128 + span // 2
    # an older checkpoint without the head grows one; changing an existing size is refused
    bare = denomae.build("tiny", vector_length=256, refine_channels=0)
    path = tmp_path / "bare.safetensors"
    checkpoint.save(bare, {"classes": list("ABCDEF")}, path)
    with pytest.raises(ValueError, match="no refinement head"):
        denomae.refine_loss(checkpoint.load(path)[0], batch)
    # a card from before the head existed (no refine_* keys) still loads, without one
    card = checkpoint.read_card(path)
    for key in ("refine_channels", "refine_layers"):
        del card["config"][key]
    checkpoint.write_card(path, card)
    assert checkpoint.load(path)[0].refiner is None
    grown, card = checkpoint.load(path, grow={"refine_channels": 8, "refine_layers": 2})
    assert card["config"]["refine_channels"] == 8
    assert card["new_weights"] and all(k.startswith("refiner.") for k in card["new_weights"])
    with torch.no_grad():
        assert torch.equal(grown.denoise(x), bare.eval().denoise(x))
    with pytest.raises(checkpoint.CheckpointError, match="settings dim change weights"):
        checkpoint.load(path, grow={"dim": 16})


def test_registry_and_paper_preset():
    assert models.get("denomae").ROLE == "denoiser"
    paper = denomae.build("paper")
    assert paper.config["dim"] == 768 and paper.config["depth"] == 12
    assert paper.config["decoder_depth"] == 4 and paper.config["image_size"] == 224
    assert paper.tokens["noisy_image"] == 196 and paper.image_patch == 16
    with pytest.raises(ValueError, match="multiple of signal_patch"):
        denomae.build("tiny", vector_length=100)
    with pytest.raises(ValueError, match="modalities"):
        denomae.build("tiny", modalities=("noise",))


# ----------------------------------------------------------------------------- baselines


def _band_signal(n, length, bandwidth, rng):
    """Complex Gaussian noise low-passed to ``bandwidth`` (cycles/sample), unit power."""
    spec = np.zeros(length)
    half = int(bandwidth * length / 2)
    spec[: half + 1] = spec[-half:] = 1.0
    z = rng.standard_normal((n, length)) + 1j * rng.standard_normal((n, length))
    s = np.fft.ifft(np.fft.fft(z, axis=-1) * spec, axis=-1)
    return (s / np.sqrt(np.mean(np.abs(s) ** 2, axis=-1, keepdims=True))).astype(np.complex64)


def test_baselines_reach_the_theoretical_gain():
    """A signal in 10% of the band at 0 dB: filtering to the band keeps the signal and
    10% of the noise, a 10 dB gain; the Wiener filter of a flat band gives
    10 log10(1 + SNR_in_band) = 10 log10(11) = 10.4 dB (within estimation error)."""
    rng = np.random.default_rng(0)
    clean = _band_signal(400, 1024, 0.1, rng)
    noise = (rng.standard_normal(clean.shape) + 1j * rng.standard_normal(clean.shape)) / np.sqrt(2)
    iq = clean + noise.astype(np.complex64)
    label = np.zeros(len(iq), np.int64)
    base = dsp.ClassicalBaselines(clean[:200], label[:200])
    assert base.bandwidth[0] == pytest.approx(0.1, abs=0.01)
    in_db = dsp.output_snr_db(iq, clean)
    gain_lp = np.mean(dsp.output_snr_db(base.lowpass(iq, label), clean) - in_db)
    gain_w = np.mean(dsp.output_snr_db(base.wiener(iq, label, clean), clean) - in_db)
    assert 8.5 < gain_lp < 10.3
    assert 10.0 < gain_w < 10.8
    table = dsp.snr_table({"lowpass": base.lowpass(iq, label)}, iq, clean, label,
                          np.zeros(len(iq)), ["sig"])  # fmt: skip
    assert table["input"]["sig"][0] == pytest.approx(0.0, abs=0.3)
    assert table["methods"]["lowpass"]["mean_gain"][0] == pytest.approx(gain_lp, abs=1e-6)
