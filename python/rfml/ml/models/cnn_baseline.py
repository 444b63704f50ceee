# SPDX-License-Identifier: GPL-3.0-or-later
"""A plain 5-layer 1-D CNN classifier: the baseline beside TS-DDAE in the evaluation table.

Five blocks of convolution, batch norm, ReLU and max-pool of 2, then one dense layer on the
flattened features. It takes raw IQ and normalises each vector to unit power, like the
other classifiers, so the comparison is made on the same inputs.
"""

from torch import nn

from ..contract import DEFAULT_VECTOR_LENGTH
from ..recipes import CLASSIFIER_DATA, CLASSIFIER_TESTS, CNN_BASELINE_STEPS, Recipe
from ..signal import normalize_power
from . import fit_stage, from_preset

KIND = "cnn_baseline"
ROLE = "classifier"
ALIASES = ("baseline",)  # the kind name of cards written before models/ existed

PRESETS = {
    "tiny": dict(widths=(8, 8, 16, 16, 16), kernel=5),
    "small": dict(widths=(32, 32, 64, 64, 64), kernel=7),
    "paper": dict(widths=(64, 64, 128, 128, 128), kernel=7),
}


class CnnBaseline(nn.Module):
    """Plain 1-D CNN.

    Args:
        n_classes (int): number of output classes.
        vector_length (int): L, samples per vector; a multiple of 2**len(widths).
        widths (tuple[int]): output channels of the five convolution layers.
        kernel (int): convolution kernel length (odd).
        preset (str): the preset these sizes came from (recorded in ``config``).
    """

    def __init__(self, n_classes, vector_length, widths, kernel, preset="custom"):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if vector_length % 2 ** len(widths):
            raise ValueError(
                f"vector_length {vector_length} is not a multiple of "
                f"{2 ** len(widths)}: choose another vector length"
            )
        self.config = dict(
            preset=preset,
            n_classes=n_classes,
            vector_length=vector_length,
            widths=list(widths),
            kernel=kernel,
        )
        layers = []
        c_in = 2
        for w in widths:
            layers += [
                nn.Conv1d(c_in, w, kernel, padding=kernel // 2),
                nn.BatchNorm1d(w),
                nn.ReLU(),
                nn.MaxPool1d(2),
            ]
            c_in = w
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.classifier = nn.Linear(widths[-1] * (vector_length // 2 ** len(widths)), n_classes)

    def forward(self, x):
        """Raw IQ (B, 2, L) float32 -> logits (B, n_classes)."""
        return self.classifier(self.features(normalize_power(x)))


def build(preset="small", n_classes=None, vector_length=DEFAULT_VECTOR_LENGTH, **overrides):
    """A CnnBaseline from a preset name, with any size overridden by keyword."""
    return from_preset(CnnBaseline, PRESETS, KIND, preset, n_classes, vector_length, overrides)


STAGES = {"fit": fit_stage()}

ARCHITECTURE = (
    "plain 1-D CNN: five convolution / batch norm / ReLU / max-pool 2 layers, "
    "flatten, one dense layer."
)

# The shipped baseline, so that anyone can score TS-DDAE against it (`rfml eval --baseline`)
# and a recipe can train it further beside TS-DDAE without first repeating its training:
# the steps of TS-DDAE's comparison (recipes.CNN_BASELINE_STEPS), one CPU thread each.
RECIPES = {
    "cnn_baseline_small": Recipe(train=CLASSIFIER_DATA, steps=CNN_BASELINE_STEPS,
                                 tests=CLASSIFIER_TESTS)
}  # fmt: skip
