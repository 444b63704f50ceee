# SPDX-License-Identifier: GPL-3.0-or-later
"""The ml/ core: every registered model kind and stage through the one loop, importing ml/
without GNU Radio, resuming an interrupted run exactly, and the inference runners."""

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from gnuradio.rfml.ml import checkpoint, inference, models, train
from gnuradio.rfml.ml.models import Stage

L = 256


def batch_fields(n, n_classes=3, seed=0, length=L):
    """Synthetic arrays of every batch field: noisy tones (iq), the tones (clean)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, n_classes, n)
    t = np.arange(length)
    clean = np.exp(1j * (2 * np.pi * (label[:, None] + 1) / 16 * t + rng.uniform(0, 6, (n, 1))))
    noise = rng.standard_normal((n, length)) + 1j * rng.standard_normal((n, length))
    noise /= math.sqrt(2)
    to_iq = lambda z: np.stack([z.real, z.imag], 1).astype(np.float32)  # noqa: E731
    return {"iq": to_iq(clean + 0.3 * noise), "clean": to_iq(clean), "label": label,
            "snr_db": np.full(n, 10.0, np.float32)}  # fmt: skip


@pytest.mark.parametrize("kind", models.kinds())
def test_every_kind_declares_what_the_core_needs(kind):
    module = models.get(kind)
    assert set(module.PRESETS) >= {"tiny", "small", "paper"}
    assert module.STAGES and module.ARCHITECTURE
    model = module.build("tiny", n_classes=3, vector_length=L)
    assert models.kind_of(model) == kind
    rebuilt = module.build(**model.config)  # the card's config rebuilds the same network
    assert rebuilt.state_dict().keys() == model.state_dict().keys()
    assert set(model.config) <= models.config_keys(kind)


@pytest.mark.parametrize(
    "kind,stage", [(k, s) for k in models.kinds() for s in models.get(k).STAGES]
)
def test_every_stage_trains_through_the_one_loop(kind, stage, tmp_path):
    """Two epochs of each stage on a tiny model: finite losses, the best epoch picked on the
    validation split, and a checkpoint that loads strictly."""
    torch.manual_seed(0)
    spec = models.get(kind).STAGES[stage]
    length = spec.vector_length or L  # a stage whose loss runs a fixed-length model
    model = models.get(kind).build("tiny", n_classes=3, vector_length=length)
    data, val = batch_fields(96, seed=1, length=length), batch_fields(32, seed=2, length=length)
    out = train.train(model, spec, data, val=val, epochs=2, batch_size=32, device="cpu",
                      progress=False)  # fmt: skip
    assert out["steps"] == 6 and out["epochs"] == 2 and out["processes"] == 1
    assert all(math.isfinite(h["train_loss"]) and math.isfinite(h["val_loss"])
               for h in out["history"])  # fmt: skip
    assert out["best_epoch"] in (1, 2)
    path = tmp_path / "m.safetensors"
    checkpoint.save(model, {"classes": ["a", "b", "c"]}, path)
    loaded, card = checkpoint.load(path, kind=kind)
    assert card["kind"] == kind and type(loaded) is type(model)


def test_ml_imports_without_gnu_radio():
    """Every module under ml/ imports, and a model trains a step, in a Python where GNU
    Radio, pmt, Qt and the C++ extension cannot be imported."""
    code = textwrap.dedent(
        """
        import importlib, importlib.abc, pkgutil, sys
        BLOCKED = ("gnuradio.gr", "gnuradio.blocks", "gnuradio.digital", "gnuradio.analog",
                   "gnuradio.rfml.rfml_python", "pmt", "PyQt5", "gnuradio.qtgui")
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.startswith(BLOCKED):
                    raise ImportError(f"blocked for this test: {name}")
        sys.meta_path.insert(0, Block())
        import gnuradio.rfml.ml as ml
        names = [m.name for m in pkgutil.walk_packages(ml.__path__, "gnuradio.rfml.ml.")]
        for name in names:
            importlib.import_module(name)
        from gnuradio.rfml.ml import models, train
        import numpy as np
        model = models.get("tsddae").build("tiny", vector_length=256)
        data = {"iq": np.random.default_rng(0).standard_normal((8, 2, 256)).astype("float32")}
        train.train(model, models.get("tsddae").STAGES["pretrain"], data, epochs=1,
                    batch_size=8, device="cpu", progress=False)
        leaked = [m for m in sys.modules if m.startswith(BLOCKED)]
        print(len(names), "modules", leaked)
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    count, rest = r.stdout.split(" modules ")
    assert int(count) >= 15 and rest.strip() == "[]"


class _Interrupt(Exception):
    pass


def test_an_interrupted_run_resumes_exactly(tmp_path):
    """A run stopped in its third epoch, rerun with the same options, continues from the end
    of its second epoch and ends with the weights of a run that was never interrupted."""
    module = models.get("cnn_baseline")
    stage = module.STAGES["fit"]
    data, val = batch_fields(128, seed=3), batch_fields(32, seed=4)
    kw = dict(val=val, epochs=4, batch_size=32, lr=3e-3, seed=5, device="cpu", progress=False,
              signature={"run": "resume-test"})  # fmt: skip

    def fresh():
        torch.manual_seed(0)
        return module.build("tiny", n_classes=3, vector_length=L)

    whole = fresh()
    reference = train.train(whole, stage, data, **kw)
    steps = {"n": 0}

    def failing_loss(model, batch, generator=None):
        steps["n"] += 1
        if steps["n"] == 10:  # the 2nd step of epoch 3
            raise _Interrupt
        return stage.loss(model, batch, generator)

    broken = Stage(failing_loss, needs=stage.needs, select=stage.select)
    resume = tmp_path / "m.resume.safetensors"
    with pytest.raises(_Interrupt):
        train.train(fresh(), broken, data, resume=resume, **kw)
    assert resume.is_file() and resume.with_suffix(".json").is_file()
    resumed = fresh()
    out = train.train(resumed, stage, data, resume=resume, **kw)
    assert out["epochs"] == 4 and out["steps"] == reference["steps"] == 16
    assert out["best_epoch"] == reference["best_epoch"]
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    with pytest.raises(ValueError, match="written by another run"):
        train.train(fresh(), stage, data, resume=resume, **{**kw, "signature": {"run": "x"}})


def test_budget_stops_cleanly():
    model = models.get("cnn_baseline").build("tiny", n_classes=3, vector_length=L)
    stage = models.get("cnn_baseline").STAGES["fit"]
    out = train.train(model, stage, batch_fields(256), epochs=1000, batch_size=32, budget_s=1.0,
                      device="cpu", progress=False)  # fmt: skip
    assert out["epochs"] < 1000 and out["seconds"] < 10


def test_symmetries_augment_iq_and_clean_alike_with_their_mirror_images():
    """``symmetries``: each vector (and its clean twin, the same way) is rotated, and about
    half of them conjugated, half reversed in time; plain augmentation only rotates."""
    from gnuradio.rfml.ml.signal import mirror

    n, t = 400, torch.arange(L, dtype=torch.float32)
    z = (1 + t / L) * torch.exp(1j * 2 * math.pi * 0.3 * t**2 / L)  # ramp and chirp
    x = torch.stack((z.real, z.imag))[None].repeat(n, 1, 1)
    flags = torch.arange(n) % 2 == 0, torch.arange(n) % 3 == 0
    assert torch.allclose(mirror(mirror(x, *flags), *flags), x)
    for symmetries in (False, True):
        batch = {"iq": x.clone(), "clean": x.clone()}
        train._augment(batch, torch.Generator().manual_seed(1), symmetries)
        assert torch.equal(batch["iq"], batch["clean"])
        y = torch.complex(batch["iq"][:, 0], batch["iq"][:, 1])
        reversed_ = (y.abs() - z.flip(0).abs()).abs().amax(1) < 1e-4
        y = torch.where(reversed_[:, None], y.flip(1), y)
        # y = exp(j phi) z: y conj(z) has one phase; y = exp(j phi) conj(z): y z has
        one_phase = lambda u: (u / u.abs()).mean(1).abs()  # noqa: E731
        conj = one_phase(y * z) > one_phase(y * z.conj())
        assert torch.allclose(y.abs(), z.abs().expand(n, L), atol=1e-4)
        if symmetries:
            assert 0.4 < reversed_.float().mean() < 0.6 and 0.4 < conj.float().mean() < 0.6
        else:
            assert not reversed_.any() and not conj.any()


class Boxcar(torch.nn.Module):
    """A real (if simple) denoiser: a moving average over ``n`` samples of I and Q."""

    def __init__(self, n=5):
        super().__init__()
        self.conv = torch.nn.Conv1d(2, 2, n, padding=n // 2, groups=2, bias=False)
        torch.nn.init.constant_(self.conv.weight, 1.0 / n)

    def denoise(self, x):
        return self.conv(x)


class Quantiser(torch.nn.Module):
    """A real (if simple) codec: I and Q rounded to a grid of 1/4, indices 0..31."""

    def levels(self):
        return (0,)

    def codebook_size(self, level):
        return 32

    def code_length(self, level):
        return 2 * L

    def encode(self, x, level):
        return torch.clamp(torch.round(x * 4) + 16, 0, 31).long().reshape(len(x), -1)

    def decode(self, codes, level):
        return ((codes.float() - 16) / 4).reshape(len(codes), 2, L)


def _noisy_tones(n, power, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(L)
    clean = np.sqrt(power) * np.exp(2j * np.pi * 0.01 * t)[None].repeat(n, 0)
    noise = np.sqrt(power / 10) * (rng.standard_normal((n, L)) + 1j * rng.standard_normal((n, L)))
    return clean.astype(np.complex64), (clean + noise / math.sqrt(2)).astype(np.complex64)


def test_denoiser_runner_keeps_the_power_scale_and_passes_invalid_vectors():
    runner = inference.DenoiserRunner(Boxcar(), vector_length=L, device="cpu").self_check()
    clean, noisy = _noisy_tones(4, power=1e6)
    noisy[1, 3] = np.nan
    noisy[2] = 0
    out, valid = runner.denoise(noisy)
    assert valid.tolist() == [True, False, False, True]
    assert np.isnan(out[1, 3]) and not out[2].any()  # passed through unchanged
    for i in (0, 3):
        err_in = np.mean(np.abs(noisy[i] - clean[i]) ** 2)
        err_out = np.mean(np.abs(out[i, 8:-8] - clean[i, 8:-8]) ** 2)
        assert err_out < 0.4 * err_in  # on the input's scale (power 1e6), and cleaner
    with pytest.raises(ValueError, match=r"shape \(B, 256\)"):
        runner.denoise(noisy[:, :100])


def test_codec_runner_round_trip_carries_the_scale():
    runner = inference.CodecRunner(Quantiser(), vector_length=L, device="cpu").self_check((0,))
    _, x = _noisy_tones(3, power=50.0)
    x[1] = np.inf
    codes, scale, valid = runner.encode(x, 0)
    assert codes.shape == (3, 2 * L) and codes.dtype == np.int64
    assert valid.tolist() == [True, False, True] and scale[1] == 0 and not codes[1].any()
    y = runner.decode(codes, scale, 0)
    for i in (0, 2):  # quantisation error of a 1/4 grid on the unit-RMS scale
        assert np.max(np.abs(y[i] - x[i])) <= scale[i] * (0.125 * math.sqrt(2) + 1e-3)
    assert not y[1].any()


def test_classifier_runner_refuses_nan_weights():
    model = models.get("cnn_baseline").build("tiny", n_classes=3, vector_length=L)
    with torch.no_grad():
        model.classifier.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf logits"):
        inference.ClassifierRunner(model, ("a", "b", "c"), L, "cpu").self_check()


def test_docs_list_every_registered_kind():
    """docs/models.md holds the table `rfml train list --markdown` writes, so a new model
    kind (or stage) cannot be left out of the docs."""
    from pathlib import Path

    from gnuradio.rfml.apps.train import models_table

    text = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    start, end = "<!-- models-table:start -->\n", "<!-- models-table:end -->"
    table = text[text.index(start) + len(start) : text.index(end)]
    assert table == models_table(), "run `rfml train list --markdown` into docs/models.md"


def test_reproduce_trains_only_the_steps_still_needed(tmp_path):
    """A step is trained when its checkpoint is missing and a later step still needs it: a
    step added to the end of a recipe trains from the checkpoints already in the work dir."""
    from gnuradio.rfml.apps.reproduce import needed_steps
    from gnuradio.rfml.ml.recipes import FewLabels, Recipe, Step

    chain = [Step("pre", "denomae", "pretrain", 1.0, 1, 1e-3)]
    for name, after in (("den", "pre"), ("ref", "den"), ("fin", "ref")):
        chain.append(Step(name, "denomae", "denoise", 1.0, 1, 1e-3, init=after))
    recipe = Recipe(train=("a",), steps=tuple(chain), tests=())
    assert needed_steps(tmp_path, recipe, recipe.steps) == {"pre", "den", "ref", "fin"}
    (tmp_path / "den.safetensors").touch()
    assert needed_steps(tmp_path, recipe, recipe.steps) == {"ref", "fin"}
    (tmp_path / "fin.safetensors").touch()
    assert needed_steps(tmp_path, recipe, recipe.steps) == set()
    few = Recipe(train=("a",), steps=tuple(chain), tests=(),
                 few_labels=FewLabels(pool="p", test="t", init="pre"))  # fmt: skip
    assert needed_steps(tmp_path, few, few.steps) == {"pre"}
    (tmp_path / "few_labels_pre.json").write_text("{}")  # its figures are measured
    assert needed_steps(tmp_path, few, few.steps) == set()


def test_recipe_scores_only_the_last_compare_step_of_a_chain_with_its_own_seed():
    """A comparison model trained further (a compare step continuing another) is scored as
    that last step alone, and a step's own seed replaces the recipe's in its command."""
    import argparse
    from pathlib import Path

    from gnuradio.rfml.apps.reproduce import _step_args
    from gnuradio.rfml.ml.recipes import Recipe, Step

    first = Step("cnn", "cnn_baseline", "fit", 1.0, 1, 1e-3)
    more = Step("cnn_more", "cnn_baseline", "fit", 1.0, 1, 1e-3, init="cnn", data=("b",), seed=7)
    other = Step("cam", "cam", "fit", 1.0, 1, 1e-3)
    recipe = Recipe(train=("a",), steps=(other,), compare=(first, more, other), tests=(), seed=3)
    assert recipe.compared() == (more, other)
    assert recipe.data_needed() == ["a", "b"]
    args = argparse.Namespace(preset="tiny", device="cpu", budget_scale=1.0, threads=1,
                              no_amp=True, quiet=True)  # fmt: skip
    paths = {"a": "a.h5", "b": "b.h5"}
    assert _step_args(args, recipe, more, paths, Path("w")).seed == 7
    assert _step_args(args, recipe, more, paths, Path("w")).data == ["b.h5"]
    assert _step_args(args, recipe, first, paths, Path("w")).seed == 3
    assert _step_args(args, recipe, first, paths, Path("w")).symmetries is False
    mirrored = Step("cnn_sym", "cnn_baseline", "fit", 1.0, 1, 1e-3, symmetries=True)
    assert _step_args(args, recipe, mirrored, paths, Path("w")).symmetries is True


def test_from_shipped_puts_each_shipped_checkpoint_in_the_work_dir_as_its_step(tmp_path):
    """`rfml train reproduce --from-shipped`: a shipped file becomes the last step of its
    card's recipe (with that step's own command), so nothing before it is retrained; the
    few-label figures go along; a step defined differently since is not seeded."""
    import dataclasses

    from gnuradio.rfml.apps.reproduce import data_in_use, needed_steps, seed_from_shipped
    from gnuradio.rfml.ml import checkpoint, models

    recipes = models.recipes()
    written = {p.name for p in seed_from_shipped(tmp_path, checkpoint.WEIGHTS_DIR, recipes)}
    assert {"tsddae_sym.safetensors", "cam_fresh.safetensors"} <= written
    assert "cnn_baseline_sym.safetensors" in written  # the last step of TS-DDAE's comparison
    assert "few_labels_tsddae_pre.json" in written
    card = checkpoint.read_card(tmp_path / "tsddae_sym.safetensors")
    assert card["command"].startswith("rfml train tsddae finetune") and "metrics" not in card
    assert card["training_seconds"]["tsddae_pre"] > 0
    _, recipe = recipes["tsddae_small"]
    assert needed_steps(tmp_path, recipe, recipe.steps) == set()
    assert needed_steps(tmp_path, recipe, recipe.compare) == set()
    tests = [t.data for t in recipe.tests]
    assert data_in_use(tmp_path, recipe) == list(dict.fromkeys(tests))  # no training data
    assert seed_from_shipped(tmp_path, checkpoint.WEIGHTS_DIR, recipes) == []  # already there
    (tmp_path / "cnn_baseline_sym.safetensors").unlink()  # without it: the whole chain
    assert needed_steps(tmp_path, recipe, recipe.compare) == {s.name for s in recipe.compare}
    unused = {"train_rand", "few_pool"}  # TS-DDAE's pre-training set, the few-label pool
    assert set(data_in_use(tmp_path, recipe)) == set(recipe.data_needed()) - unused

    longer = dataclasses.replace(recipe.steps[-1], budget_min=recipe.steps[-1].budget_min + 1)
    changed = {"tsddae_small": ("tsddae", dataclasses.replace(recipe, steps=(longer,), compare=()))}
    assert seed_from_shipped(tmp_path / "new", checkpoint.WEIGHTS_DIR, changed) == []
