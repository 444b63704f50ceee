# SPDX-License-Identifier: GPL-3.0-or-later
"""Checkpoints: safetensors weights plus a JSON card beside them (DESIGN.md, "Checkpoints").

``save(model, card, "m.safetensors")`` writes ``m.safetensors`` and ``m.json``;
``load("m.safetensors")`` rebuilds the model from the card's ``kind`` and ``config`` and
loads the weights strictly. Nothing is ever unpickled.

The card is a dict with at least ``kind`` (``"tsddae"``, ``"cam"`` or ``"baseline"``),
``preset``, ``config`` (the builder's keyword arguments), ``classes`` and
``vector_length``; training writes also ``preprocessing``, ``training`` (data description,
seed, command), ``metrics`` and ``command``.
"""

import importlib
import json
from pathlib import Path

# kind -> module under gnuradio.rfml.ml with build(preset=..., **config)
KINDS = {"tsddae": "tsnet", "cam": "cam", "baseline": "baseline"}

# Shipped weights, installed with the package: gnuradio/rfml/weights/<kind>_small.safetensors
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
SHIPPED = {"tsddae": "tsddae_small.safetensors", "cam": "cam_small.safetensors"}

_REQUIRED = ("kind", "config", "classes", "vector_length")


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or does not fit the model asked for."""


def _module(kind):
    if kind not in KINDS:
        raise CheckpointError(f"unknown model kind {kind!r}: choose one of {', '.join(KINDS)}")
    return importlib.import_module(f"{__package__}.{KINDS[kind]}")


def build_model(kind, config):
    """A fresh model of ``kind`` from a config dict (as stored in a card)."""
    return _module(kind).build(**config)


def kind_of(model):
    """The checkpoint kind of a model instance."""
    for kind in KINDS:
        if type(model).__module__ == _module(kind).__name__:
            return kind
    raise CheckpointError(f"{type(model).__name__} is not a gr-rfml model: cannot save it")


def card_path(path):
    """The JSON card beside a ``.safetensors`` file."""
    return Path(path).with_suffix(".json")


def shipped(kind):
    """Path of the shipped weights for ``kind`` ("tsddae" or "cam")."""
    if kind not in SHIPPED:
        raise CheckpointError(
            f"no shipped weights for kind {kind!r}: choose one of {', '.join(SHIPPED)}"
        )
    path = WEIGHTS_DIR / SHIPPED[kind]
    if not path.is_file():
        raise FileNotFoundError(
            f"the shipped {kind} weights {path} are not installed: re-run `./run.sh setup` "
            "or give a model path"
        )
    return path


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
    if card["classes"] is None or len(card["classes"]) != model.config["n_classes"]:
        raise CheckpointError(
            f"the card names classes {card['classes']} but the model has "
            f"{model.config['n_classes']} outputs: give one class name per output"
        )
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"kind": card["kind"], "preset": card["preset"]})
    with open(card_path(path), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return card


def read_card(path):
    """The JSON card of a checkpoint, checked for the required fields."""
    path = Path(path)
    cpath = card_path(path)
    if not cpath.is_file():
        raise CheckpointError(
            f"{path}: its card {cpath} is missing; a checkpoint is the "
            ".safetensors file together with the .json card beside it"
        )
    try:
        with open(cpath) as f:
            card = json.load(f)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{cpath}: not a readable JSON card ({e})") from None
    missing = [k for k in _REQUIRED if k not in card]
    if not isinstance(card, dict) or missing:
        raise CheckpointError(f"{cpath}: the card lacks {', '.join(missing)}")
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
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None


def load_weights(model, path):
    """Load ``path``'s weights into ``model`` strictly.

    Raises CheckpointError naming the file and the missing / unexpected keys (or the keys
    whose shapes differ) when the checkpoint was saved from another model or preset.
    """
    state = read_weights(path)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or mismatched:
        parts = []
        for what, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("keys of another shape", mismatched),
        ):
            if keys:
                shown = ", ".join(keys[:8]) + (f" (+{len(keys) - 8} more)" if len(keys) > 8 else "")
                parts.append(f"{what}: {shown}")
        cfg = getattr(model, "config", {})
        raise CheckpointError(
            f"{path} does not fit a {type(model).__name__} (preset {cfg.get('preset')!r}): "
            + "; ".join(parts)
            + ". Use the checkpoint made for this model and preset."
        )
    model.load_state_dict(state, strict=True)
    return model


def load(path, *, kind=None, device="cpu"):
    """Load a checkpoint: ``(model, card)``, the model in eval mode on ``device``.

    Args:
        path (str | Path): the ``.safetensors`` file (its ``.json`` card beside it).
        kind (str | None): when given, the checkpoint must be of this kind.
        device (str | torch.device): where the model goes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} does not exist; train one with `rfml train` "
            "or leave the model path empty for the shipped weights"
        )
    card = read_card(path)
    if kind is not None and card["kind"] != kind:
        raise CheckpointError(
            f"{path} is a {card['kind']!r} checkpoint, not {kind!r}: " f"give a {kind} checkpoint"
        )
    model = build_model(card["kind"], card["config"])
    load_weights(model, path)
    return model.to(device).eval(), card


def count_parameters(model):
    """Number of parameters of a model."""
    return sum(p.numel() for p in model.parameters())
