# SPDX-License-Identifier: GPL-3.0-or-later
"""The global-average-pooling CNN classifier of ``cae-cam-bladerf.md`` and its class
activation maps.

Convolutions produce K feature maps f_k over time; global average pooling gives
g_k = mean_t f_k(t) and one linear map w (classes x K) gives the logits. The class
activation map of class c is M_c(t) = sum_k w_ck f_k(t) (eq. 3 of the report), so the
logit of c is the time average of M_c plus the bias: the map shows where in the vector the
evidence for each class lies.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..contract import DEFAULT_VECTOR_LENGTH
from ..recipes import (
    CLASSIFIER_DATA,
    CLASSIFIER_FRESH3_DATA,
    CLASSIFIER_MORE_DATA,
    CLASSIFIER_TESTS,
    Recipe,
    Step,
)
from ..signal import normalize_power
from . import fit_stage, from_preset

KIND = "cam"
ROLE = "classifier"

PRESETS = {
    # widths of the convolution layers; a max-pool of 2 follows each of the first `pools`.
    "tiny": dict(widths=(16, 32, 32), kernel=7, pools=2),
    "small": dict(widths=(32, 48, 64, 64), kernel=7, pools=2),
    "paper": dict(widths=(64, 128, 128, 256, 256), kernel=7, pools=2),
}


class CamNet(nn.Module):
    """GAP CNN classifier with class activation maps.

    Args:
        n_classes (int): number of output classes.
        vector_length (int): L, samples per vector.
        widths (tuple[int]): output channels of the convolution layers; the last is K.
        kernel (int): convolution kernel length (odd).
        pools (int): how many of the first layers are followed by a max-pool of 2.
        preset (str): the preset these sizes came from (recorded in ``config``).
    """

    def __init__(self, n_classes, vector_length, widths, kernel, pools, preset="custom"):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        self.config = dict(
            preset=preset,
            n_classes=n_classes,
            vector_length=vector_length,
            widths=list(widths),
            kernel=kernel,
            pools=pools,
        )
        layers = []
        c_in = 2
        for i, w in enumerate(widths):
            layers += [
                nn.Conv1d(c_in, w, kernel, padding=kernel // 2),
                nn.BatchNorm1d(w),
                nn.ReLU(),
            ]
            if i < pools:
                layers.append(nn.MaxPool1d(2))
            c_in = w
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(widths[-1], n_classes)

    def forward_features(self, x):
        """Raw IQ (B, 2, L) -> feature maps f (B, K, L / 2**pools)."""
        return self.features(normalize_power(x))

    def forward(self, x):
        """Raw IQ (B, 2, L) float32 -> logits (B, n_classes)."""
        return self.classifier(self.forward_features(x).mean(dim=2))

    def cam(self, x, upsample=True):
        """Class activation maps M_c = sum_k w_ck f_k.

        x: raw IQ (B, 2, L) -> (B, n_classes, L) (linearly upsampled to the input length), or
        (B, n_classes, L / 2**pools) with ``upsample=False``. Unnormalised: the time average
        of a map at feature resolution plus the class bias is that class's logit.
        """
        f = self.forward_features(x)
        maps = torch.einsum("ck,bkt->bct", self.classifier.weight, f)
        if upsample:
            maps = F.interpolate(maps, size=x.shape[-1], mode="linear", align_corners=False)
        return maps

    def forward_with_cam(self, x):
        """Logits (B, n_classes) and upsampled maps (B, n_classes, L) from one pass."""
        f = self.forward_features(x)
        logits = self.classifier(f.mean(dim=2))
        maps = torch.einsum("ck,bkt->bct", self.classifier.weight, f)
        return logits, F.interpolate(maps, size=x.shape[-1], mode="linear", align_corners=False)


def build(preset="small", n_classes=None, vector_length=DEFAULT_VECTOR_LENGTH, **overrides):
    """A CamNet from a preset name, with any size overridden by keyword."""
    return from_preset(CamNet, PRESETS, KIND, preset, n_classes, vector_length, overrides)


STAGES = {"fit": fit_stage()}

ARCHITECTURE = (
    "GAP CNN: convolution / batch norm / ReLU layers (max-pool 2 after the first "
    "`pools`), global average pooling, one linear layer; cam(x) = sum_k w_ck f_k(x) "
    "linearly upsampled to the input length."
)

RECIPES = {
    "cam_small": Recipe(
        train=CLASSIFIER_DATA,
        steps=(
            Step("cam_small", KIND, "fit", budget_min=12.0, epochs=50, lr=2e-3),
            Step("cam_cont", KIND, "fit", budget_min=25.0, epochs=50, lr=1e-3, init="cam_small",
                 data=CLASSIFIER_MORE_DATA, seed=1),
            Step("cam_fresh", KIND, "fit", budget_min=40.0, epochs=50, lr=1e-3, init="cam_cont",
                 data=CLASSIFIER_FRESH3_DATA, seed=2),
        ),
        tests=tuple(t for t in CLASSIFIER_TESTS if t.name in ("nominal", "randomized", "wide")),
    )
}  # fmt: skip
