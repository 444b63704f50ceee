# SPDX-License-Identifier: GPL-3.0-or-later
"""Checkpoints: safetensors weights plus a JSON card beside them (DESIGN.md, "Checkpoints").

``save(model, card, "m.safetensors")`` writes ``m.safetensors`` and ``m.json``;
``load("m.safetensors")`` checks the card, rebuilds the model from the card's ``kind`` and
``config`` and loads the weights strictly. Nothing is ever unpickled.

The card is a dict with at least ``kind`` (a registered model kind, see
:mod:`gnuradio.rfml.ml.models`), ``config`` (the builder's keyword arguments), ``classes``
and ``vector_length``; training writes also ``preset``, ``training`` (data description,
seed, command), ``metrics`` and ``command``. Every problem with a card or its weights is a
:class:`CheckpointError` that names the file.
"""

import json
import math
from pathlib import Path

from . import models
from .fileio import atomic_outputs

# Shipped weights, installed with the package: gnuradio/rfml/weights/<kind>_small.safetensors
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

# A card whose network would have more parameters than this is refused before anything is
# allocated (the paper presets have a few million).
MAX_PARAMETERS = 500_000_000
MAX_VECTOR_LENGTH = 1 << 20
MAX_CARD_BYTES = 16 << 20

_REQUIRED = ("kind", "config", "classes", "vector_length")


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or does not fit the model asked for."""


def _kind(kind, where):
    try:
        return models.resolve(kind)
    except KeyError as e:
        raise CheckpointError(f"{where}: {e.args[0]}") from None


def build_model(kind, config, where="config"):
    """A fresh model of ``kind`` from a config dict (as stored in a card).

    The config is checked first: unknown keys, values of the wrong type and networks of
    more than MAX_PARAMETERS are refused (the size is counted on the meta device, so an
    absurd card allocates nothing)."""
    import torch

    kind = _kind(kind, where)
    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: config is {type(config).__name__}, not an object")
    unknown = sorted(set(config) - models.config_keys(kind))
    if unknown:
        raise CheckpointError(
            f"{where}: config keys {unknown} are not {kind} settings "
            f"(known: {', '.join(sorted(models.config_keys(kind)))})"
        )
    module = models.get(kind)
    config = {**getattr(module, "ADDED_SETTINGS", {}), **config}
    build = module.build
    try:
        with torch.device("meta"):
            n = count_parameters(build(**config))
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:
        raise CheckpointError(f"{where}: config does not build a {kind} model ({e})") from None
    if n > MAX_PARAMETERS:
        raise CheckpointError(
            f"{where}: config asks for {n:,} parameters (limit {MAX_PARAMETERS:,}): "
            "the card is corrupt or not made by gr-rfml"
        )
    return build(**config)


def kind_of(model):
    """The checkpoint kind of a model instance."""
    try:
        return models.kind_of(model)
    except KeyError:
        raise CheckpointError(
            f"{type(model).__name__} is not a gr-rfml model: cannot save it"
        ) from None


def card_path(path):
    """The JSON card beside a ``.safetensors`` file."""
    return Path(path).with_suffix(".json")


def shipped(kind):
    """Path of the shipped weights for ``kind`` (``<kind>_small.safetensors``)."""
    available = sorted(p.stem.removesuffix("_small") for p in WEIGHTS_DIR.glob("*_small.json"))
    try:
        kind = models.resolve(kind)
    except KeyError:
        pass
    path = WEIGHTS_DIR / f"{kind}_small.safetensors"
    if kind not in available:
        raise CheckpointError(
            f"no shipped weights for kind {kind!r}: choose one of {', '.join(available)}"
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"the shipped {kind} weights {path} are not installed: re-run `./run.sh setup` "
            "or give a model path"
        )
    return path


def write_card(path, card):
    """Write ``card`` as the JSON card of checkpoint ``path`` (atomically)."""
    text = json.dumps(card, indent=2) + "\n"
    with atomic_outputs(card_path(path)) as (tmp,):
        tmp.write_text(text)


def save(model, card, path):
    """Write ``model``'s weights to ``path`` (.safetensors) and ``card`` (plus the model's
    kind, config, preset and vector length) to the ``.json`` beside it. Returns the card."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{path}: a checkpoint path must end in .safetensors")
    card = dict(card)
    card.update(
        kind=kind_of(model),
        preset=model.config["preset"],
        config=model.config,
        vector_length=model.config["vector_length"],
    )
    card.setdefault("classes", None)
    n_classes = model.config.get("n_classes")
    if n_classes is not None and (card["classes"] is None or len(card["classes"]) != n_classes):
        raise CheckpointError(
            f"the card names classes {card['classes']} but the model has "
            f"{n_classes} outputs: give one class name per output"
        )
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"kind": card["kind"], "preset": str(card["preset"])}
    with atomic_outputs(path) as (tmp,):
        save_file(state, str(tmp), metadata=meta)
    write_card(path, card)
    return card


def read_card(path):
    """The JSON card of a checkpoint, checked: an object with a registered ``kind``, a
    ``config`` object, ``classes`` a list of names and a positive ``vector_length``."""
    path = Path(path)
    cpath = card_path(path)
    if not cpath.is_file():
        raise CheckpointError(
            f"{path}: its card {cpath} is missing; a checkpoint is the "
            ".safetensors file together with the .json card beside it"
        )
    try:
        if cpath.stat().st_size > MAX_CARD_BYTES:
            raise CheckpointError(f"{cpath}: {cpath.stat().st_size} bytes is too large for a card")
        with open(cpath, encoding="utf-8") as f:
            card = json.load(f)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise CheckpointError(f"{cpath}: not a readable JSON card ({e})") from None
    if not isinstance(card, dict):
        raise CheckpointError(f"{cpath}: the card is a JSON {type(card).__name__}, not an object")
    missing = [k for k in _REQUIRED if k not in card]
    if missing:
        raise CheckpointError(f"{cpath}: the card lacks {', '.join(missing)}")
    card["kind"] = _kind(card["kind"], cpath)
    if not isinstance(card["config"], dict):
        raise CheckpointError(
            f"{cpath}: config is a {type(card['config']).__name__}, not an object"
        )
    classes = card["classes"]
    if classes is not None and (
        not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)
    ):
        raise CheckpointError(f"{cpath}: classes must be a list of class names, not {classes!r}")
    length = card["vector_length"]
    if (
        not isinstance(length, int)
        or isinstance(length, bool)
        or not 0 < length <= MAX_VECTOR_LENGTH
    ):
        raise CheckpointError(
            f"{cpath}: vector_length {length!r} is not a whole number in 1..{MAX_VECTOR_LENGTH}"
        )
    return card


def read_weights(path):
    """The tensors of a .safetensors file (CheckpointError when missing or corrupt)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} does not exist; train one with `rfml train` "
            "or leave the model path empty for the shipped weights"
        )
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None


def _shown(keys):
    return ", ".join(keys[:8]) + (f" (+{len(keys) - 8} more)" if len(keys) > 8 else "")


def load_weights(model, path, new_ok=False, adapt=None):
    """Load ``path``'s weights into ``model`` strictly; returns the model's weights the file
    lacks (always empty unless ``new_ok``). ``adapt(model, state) -> state``, when given,
    first carries the file's weights over to a grown model (a kind's ``grow_weights``).

    Raises CheckpointError naming the file and the missing / unexpected keys (or the keys
    whose shapes differ) when the checkpoint was saved from another model or preset, and
    when a weight holds NaN or Inf. With ``new_ok`` the model may have weights the file
    lacks (a setting added modules): they keep their fresh initialisation.
    """
    import torch

    state = read_weights(path)
    if adapt is not None:
        state = adapt(model, state)
    own = model.state_dict()
    new = sorted(set(own) - set(state))
    missing = [] if new_ok else new
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or mismatched:
        parts = [
            f"{what}: {_shown(keys)}"
            for what, keys in (
                ("missing keys", missing),
                ("unexpected keys", unexpected),
                ("keys of another shape", mismatched),
            )
            if keys
        ]
        cfg = getattr(model, "config", {})
        raise CheckpointError(
            f"{path} does not fit a {type(model).__name__} (preset {cfg.get('preset')!r}): "
            + "; ".join(parts)
            + ". Use the checkpoint made for this model and preset."
        )
    bad = sorted(
        k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()
    )
    if bad:
        raise CheckpointError(
            f"{path}: weights {_shown(bad)} hold NaN or Inf (a diverged training run?): "
            "retrain or use another checkpoint"
        )
    model.load_state_dict(state, strict=not new_ok)
    return new


def load(path, *, kind=None, device="cpu", grow=None):
    """Load a checkpoint: ``(model, card)``, the model in eval mode on ``device``.

    Args:
        path (str | Path): the ``.safetensors`` file (its ``.json`` card beside it).
        kind (str | None): when given, the checkpoint must be of this kind.
        device (str | torch.device): where the model goes.
        grow (dict | None): settings that add modules to the checkpoint's model (`rfml
            train --init M --set KEY=VALUE`): the model is built from the card's config
            updated by them, every weight of the file must still fit, and the weights the
            file lacks keep their fresh initialisation (``card["new_weights"]`` names them).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} does not exist; train one with `rfml train` "
            "or leave the model path empty for the shipped weights"
        )
    card = read_card(path)
    if kind is not None and card["kind"] != _kind(kind, path):
        raise CheckpointError(
            f"{path} is a {card['kind']!r} checkpoint, not {kind!r}: give a {kind} checkpoint"
        )
    config = {**card["config"], **(grow or {})}
    model = build_model(card["kind"], config, where=str(card_path(path)))
    if model.config.get("vector_length") != card["vector_length"]:
        raise CheckpointError(
            f"{card_path(path)}: vector_length {card['vector_length']} differs from the "
            f"config's {model.config.get('vector_length')}: the card is inconsistent"
        )
    try:
        adapt = getattr(models.get(card["kind"]), "grow_weights", None) if grow else None
        new = load_weights(model, path, new_ok=bool(grow), adapt=adapt)
    except CheckpointError as e:
        if not grow:
            raise
        raise CheckpointError(
            f"settings {', '.join(sorted(grow))} change weights that {path} holds instead of "
            f"only adding new ones: train without --init to change them ({e})"
        ) from None
    if grow:
        card = {**card, "config": model.config, "new_weights": new}
    return model.to(device).eval(), card


def count_parameters(model):
    """Number of parameters of a model."""
    return sum(math.prod(p.shape) for p in model.parameters())
