# SPDX-License-Identifier: GPL-3.0-or-later
"""The HQARF model: code shapes per level, deterministic codes, codebook revival, stages."""

import pytest
import torch
from gnuradio.rfml.ml import models
from gnuradio.rfml.ml.models import hqarf
from gnuradio.rfml.ml.train import set_threads, train


def signals(n, length=256, seed=0):
    """Unit-power band-limited test vectors (B, 2, L): a few random tones in a narrow band."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length)
    f = torch.rand(n, 3, 1, generator=g) * 0.1 - 0.05
    ph = torch.rand(n, 3, 1, generator=g) * 6.283
    i = torch.cos(6.283 * f * t + ph).sum(1)
    q = torch.sin(6.283 * f * t + ph).sum(1)
    x = torch.stack((i, q), 1)
    return x / x.pow(2).mean(dim=(1, 2), keepdim=True).sqrt()


def test_registered_as_a_codec_with_the_papers_three_stages_and_a_task_stage():
    assert "hqarf" in models.kinds("codec")
    assert list(hqarf.STAGES) == ["reconstruct", "quantise", "generative", "task"]
    assert hqarf.STAGES["generative"].init == "required"
    assert hqarf.STAGES["task"].vector_length == 1024  # the shipped classifier's length


def test_levels_halve_the_code_length_and_decode_to_the_input_shape():
    torch.manual_seed(0)
    model = hqarf.build("tiny", vector_length=256).seed_codebooks(signals(8))
    x = signals(3, seed=1)
    for level in range(5):
        codes = model.encode(x, level)
        assert codes.shape == (3, 256 >> (level + 1)) == (3, model.code_length(level))
        assert codes.dtype == torch.int64 and int(codes.max()) < model.codebook_size(level)
        assert torch.equal(codes, model.encode(x, level))  # the same bits every time
        assert model.decode(codes, level).shape == x.shape
    with pytest.raises(ValueError, match="level 5 is not a level"):
        model.encode(x, 5)
    with pytest.raises(ValueError, match="do not fit level 2"):
        model.decode(torch.zeros(1, 7, dtype=torch.int64), 2)
    with pytest.raises(ValueError, match="must lie in 0..31"):
        model.decode(torch.full((1, 32), 32), 2)
    with pytest.raises(ValueError, match="multiple of 32"):
        hqarf.build("tiny", vector_length=100)


def test_dead_codes_are_revived_from_the_batch():
    torch.manual_seed(0)
    book = hqarf.Codebook(16, 4, decay=0.5, dead_fraction=0.5)
    z = torch.randn(2, 4, 64)
    book.train()
    book(z)  # the first batch seeds every entry from the data
    used_once = torch.unique(book.codes(z.permute(0, 2, 1).reshape(-1, 4))).numel()
    # A far-away cluster: entries nobody picks lose their usage and move to the new data.
    far = z + 50
    for _ in range(6):
        book(far)
    flat = far.permute(0, 2, 1).reshape(-1, 4)
    assert torch.unique(book.codes(flat)).numel() >= min(used_once, 8)
    assert (book.distances(flat).min(1).values < 40).all()


def test_each_stage_lowers_its_loss_on_a_tiny_run():
    set_threads(1)  # tiny tensors: a second thread only waits
    torch.manual_seed(0)
    data = {"iq": signals(32, seed=2).numpy()}
    model = hqarf.build("tiny", vector_length=256)
    before = None
    for name in ("reconstruct", "quantise", "generative"):
        result = train(model, hqarf.STAGES[name], data, epochs=4, batch_size=8, lr=3e-3,
                       device="cpu", progress=False)  # fmt: skip
        assert result["loss_last"] < result["loss_first"], (name, result)
        before = result["loss_last"]
    assert before < 1.0  # below the loss of decoding zeros (unit power)


def test_a_grown_codebook_encodes_as_before_until_training_revives_its_new_entries(tmp_path):
    from gnuradio.rfml.ml import checkpoint

    set_threads(1)
    torch.manual_seed(0)
    small = hqarf.build("tiny", vector_length=256).seed_codebooks(signals(8))
    path = tmp_path / "k32.safetensors"
    checkpoint.save(small, {"classes": ["a"], "vector_length": 256}, path)
    sizes = [32, 32, 32, 128, 128]  # one K per level
    grown, card = checkpoint.load(path, kind="hqarf", grow={"codebook_size": sizes})
    assert [grown.codebook_size(k) for k in range(5)] == sizes == card["config"]["codebook_size"]
    x = signals(4, seed=3)
    for level in range(5):
        assert torch.equal(grown.encode(x, level), small.encode(x, level))
    train(grown, hqarf.STAGES["quantise"], {"iq": signals(32, seed=4).numpy()}, epochs=2,
          batch_size=8, lr=1e-3, device="cpu", progress=False)  # fmt: skip
    # the added entries were revived from the data and are picked now
    assert int(grown.encode(signals(16, seed=5), 3).max()) >= 32
    assert hqarf.build(**grown.config).codebooks[3].embed.shape == (128, 8)
    with pytest.raises(checkpoint.CheckpointError, match="can only grow"):
        checkpoint.load(path, kind="hqarf", grow={"codebook_size": 16})
    with pytest.raises(ValueError, match="one per level|a list of 5"):
        hqarf.build("tiny", codebook_size=[32, 64])


def test_the_task_stage_names_every_classifier_it_tunes_through():
    config = hqarf.build("tiny", task_classifiers="tsddae, cam").config
    assert config["task_classifiers"] == "tsddae,cam"
    depends = hqarf.task_depends(config)["classifiers"]
    assert list(depends) == ["tsddae", "cam"]
    assert all(len(d["sha256"]) == 64 for d in depends.values())
    with pytest.raises(ValueError, match="name shipped classifiers"):
        hqarf.build("tiny", task_classifiers="tsddae,")
    with pytest.raises(ValueError, match="denomae, which is not a classifier"):
        hqarf.build("tiny", task_classifiers="tsddae,denomae")
