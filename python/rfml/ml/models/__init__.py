# SPDX-License-Identifier: GPL-3.0-or-later
"""The model kinds: one module per kind under ``ml/models/``, found by name.

Adding a model is adding a module here; the checkpoint loader, ``rfml train``, ``rfml export``
and ``rfml train reproduce`` find it without any list to edit. A model module defines:

``KIND``
    the kind's name, used in cards and on the command line (= the module name).
``ROLE``
    ``"classifier"``, ``"denoiser"`` or ``"codec"``: the inference runner that serves it
    (:mod:`gnuradio.rfml.ml.inference`).
``PRESETS``
    ``{"tiny": {...}, "small": {...}, "paper": {...}}``: sizes by name.
``build(preset="small", n_classes=None, vector_length=1024, **overrides)``
    a fresh ``nn.Module`` with a ``config`` dict (its preset and every size) that
    ``build(**config)`` turns back into the same network.
``STAGES``
    ``{name: Stage}``: how to train it (:class:`Stage`), in the order they run.
``ARCHITECTURE``
    a paragraph for the card.
``RECIPES`` (optional)
    ``{name: Recipe}``: the shipped checkpoints of this kind (:mod:`gnuradio.rfml.ml.recipes`).
``ALIASES`` (optional)
    older kind names that cards may carry.
``ADDED_SETTINGS`` (optional)
    ``{key: value}`` for settings added after checkpoints were made without them: a card
    that lacks the key builds with this value (the network it was saved from), not the
    preset's current one.
``grow_weights(model, state) -> state`` (optional)
    carries a checkpoint's weights over to a model that ``rfml train --init M --set ...``
    made larger (e.g. more codebook entries), so training continues from them.
"""

import importlib
import inspect
import pkgutil
from dataclasses import dataclass

ROLES = ("classifier", "denoiser", "codec")

# Batch fields a stage can ask for (DESIGN.md, "Data set file").
FIELDS = ("iq", "clean", "label", "snr_db")


@dataclass(frozen=True)
class Stage:
    """One training stage of a model kind.

    Args:
        loss (callable): ``loss(model, batch, generator) -> scalar tensor``; ``batch`` maps the
            names in ``needs`` to tensors (``iq``/``clean`` (B, 2, L) float32, ``label`` (B,)
            int64, ``snr_db`` (B,) float32) on the model's device.
        needs (tuple[str]): the batch fields the loss reads.
        init (str): ``"none"`` (fresh weights), ``"optional"`` or ``"required"``: whether
            the stage starts from a checkpoint of the same kind (``--init``).
        select (str): how the validation split picks the best epoch: ``"loss"`` (the stage's
            own loss, lowest wins) or ``"accuracy"`` (cross-entropy of ``model(x)`` in eval
            mode, lowest wins; accuracy reported).
        epochs (int): default passes over the data.
        lr (float): default peak AdamW learning rate.
        batch_size (int): default vectors per step.
        augment (bool): rotate every vector (and its clean twin) by a random carrier phase.
        help (str): one line for ``rfml train --help`` and the card.
        vector_length (int | None): the only vector length the stage trains on, when its
            loss runs a model of a fixed length (e.g. the shipped classifier).
        depends (callable | None): ``depends(config) -> dict`` naming the other models the
            loss of a model with this ``config`` uses (e.g. shipped classifiers and their
            SHA-256): recorded in the card and in the resume signature, so a run never
            resumes against another one.
    """

    loss: object
    needs: tuple = ("iq",)
    init: str = "none"
    select: str = "loss"
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 128
    augment: bool = True
    help: str = ""
    vector_length: int | None = None
    depends: object = None

    def __post_init__(self):
        unknown = set(self.needs) - set(FIELDS)
        if unknown:
            raise ValueError(f"stage needs unknown batch fields {sorted(unknown)}: use {FIELDS}")
        if self.init not in ("none", "optional", "required"):
            raise ValueError(f"stage init {self.init!r}: choose none, optional or required")
        if self.select not in ("loss", "accuracy"):
            raise ValueError(f"stage select {self.select!r}: choose loss or accuracy")


_REQUIRED = ("KIND", "ROLE", "PRESETS", "build", "STAGES", "ARCHITECTURE")
_modules = None


def _load():
    global _modules
    if _modules is None:
        found = {}
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            missing = [a for a in _REQUIRED if not hasattr(module, a)]
            if missing or module.KIND != info.name or module.ROLE not in ROLES:
                raise ImportError(
                    f"{module.__name__} is not a model module: it needs {', '.join(_REQUIRED)}, "
                    f"KIND equal to its file name and ROLE one of {ROLES} (missing: {missing})"
                )
            found[module.KIND] = module
        _modules = found
    return _modules


def kinds(role=None):
    """Names of the registered model kinds (of one ``role`` when given), sorted."""
    return sorted(k for k, m in _load().items() if role is None or m.ROLE == role)


def resolve(kind):
    """The canonical name of ``kind`` (an alias of an older card maps to its module)."""
    modules = _load()
    if isinstance(kind, str):
        if kind in modules:
            return kind
        for name, module in modules.items():
            if kind in getattr(module, "ALIASES", ()):
                return name
    raise KeyError(f"unknown model kind {kind!r}: choose one of {', '.join(sorted(modules))}")


def get(kind):
    """The module of a model kind (KeyError naming the choices when unknown)."""
    return _load()[resolve(kind)]


def kind_of(model):
    """The kind of a model instance (KeyError when it is not a registered model)."""
    for name, module in _load().items():
        if type(model).__module__ == module.__name__:
            return name
    raise KeyError(f"{type(model).__name__} is not a gr-rfml model")


def config_keys(kind):
    """The keys ``build(**config)`` of ``kind`` accepts."""
    module = get(kind)
    keys = set(inspect.signature(module.build).parameters) - {"overrides"}
    for sizes in module.PRESETS.values():
        keys |= set(sizes)
    return keys


def recipes():
    """Every shipped-model recipe: {name: (kind, Recipe)}."""
    out = {}
    for name, module in _load().items():
        for rname, recipe in getattr(module, "RECIPES", {}).items():
            out[rname] = (name, recipe)
    return out


def from_preset(cls, presets, kind, preset, n_classes, vector_length, overrides):
    """``cls(n_classes=..., vector_length=..., preset=..., **sizes)`` with the sizes of
    ``presets[preset]`` updated by ``overrides``; ``n_classes`` None means the six classes
    of ``contract.CLASSES``. ValueError names the presets when ``preset`` is unknown."""
    from ..contract import CLASSES

    if preset not in presets:
        raise ValueError(f"unknown {kind} preset {preset!r}: choose one of {', '.join(presets)}")
    n_classes = len(CLASSES) if n_classes is None else int(n_classes)
    unknown = sorted(set(overrides) - set(presets[preset]))
    if unknown:
        raise ValueError(f"{kind} has no setting {', '.join(unknown)}: choose among "
                         f"{', '.join(presets[preset])}")  # fmt: skip
    sizes = {**presets[preset], **overrides}
    return cls(n_classes=n_classes, vector_length=int(vector_length), preset=preset, **sizes)


def cross_entropy_loss(model, batch, generator=None):
    """The supervised loss of a plain classifier: cross-entropy of model(iq) against label."""
    import torch.nn.functional as F

    return F.cross_entropy(model(batch["iq"]), batch["label"])


def fit_stage(epochs=6, lr=2e-3):
    """The one stage of a plain classifier: supervised training, from fresh weights or
    continuing a checkpoint (``--init``)."""
    return Stage(
        cross_entropy_loss,
        needs=("iq", "label"),
        init="optional",
        select="accuracy",
        epochs=epochs,
        lr=lr,
        help="supervised training (from fresh weights, or --init M to continue M)",
    )
