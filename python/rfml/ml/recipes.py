# SPDX-License-Identifier: GPL-3.0-or-later
"""Recipes: how each shipped checkpoint is made, declared as data.

A :class:`Recipe` names the data sets (generation settings with their seeds), the training
steps that lead to the shipped file, the models trained alike for comparison, the test sets
it is scored on and any experiment; ``rfml train reproduce NAME`` runs it, skipping every
step whose output already exists, and records the recipe in the card. Model modules declare
their recipes in ``RECIPES``; the data sets live here so recipes share them.
"""

from dataclasses import asdict, dataclass, field


def _suite(seed, classes=None, **ranges):
    """An evaluation suite's generation settings: 150 vectors per class at -10..20 dB from
    the "wide" ranges with some ``ranges`` replaced."""
    spec = dict(per_class=150, snr_db="-10,-5,0,5,10,20", randomize=True, seed=seed,
                ranges={"base": "wide", **ranges})  # fmt: skip
    return spec if classes is None else {**spec, "classes": classes}


# name -> generation settings (GenerationConfig keyword arguments; length from the recipe).
# Training data mix randomised transmitters with nominal ones; the nominal part stops at
# 10 dB, where every model is right anyway, so more of the training goes to noisy vectors.
# "train_wide*" draw from the generator's "wide" ranges: occupied bandwidth from a few
# percent to all of the band (2-32 samples per symbol, OFDM resampled 1-20x), FSK
# modulation index 0.1-1.0 without 0.4-0.6 (the GMSK boundary), carrier offsets to 3%.
# GMSK is GFSK with modulation index 0.5 (any BT); our GFSK class has an index outside
# 0.4-0.6. The generator's "v1" ranges run the GFSK index through 0.5, so their GFSK vectors
# near it are GMSK by another name: "train_rand" ("v1") serves only unlabelled pre-training,
# and labelled sets draw "v2" (v1 with the boundary).
DATA_SETS = {
    "train_rand": dict(per_class=4000, snr_db="-10:20", randomize=True, seed=101),
    "train_rand_gap": dict(per_class=4000, snr_db="-10:20", randomize=True, seed=103, ranges="v2"),
    "train_nom": dict(per_class=4000, snr_db="-10:10", seed=102),
    "train_wide": dict(per_class=6000, snr_db="-10:20", randomize=True, seed=111, ranges="wide"),
    "train_wide2": dict(per_class=6000, snr_db="-10:20", randomize=True, seed=112, ranges="wide"),
    # More of the same for continued training, and GFSK/GMSK alone (the classes that stay
    # confused), from both range sets.
    "train_nom2": dict(per_class=4000, snr_db="-10:10", seed=104),
    "train_rand_gap2": dict(per_class=4000, snr_db="-10:20", randomize=True, seed=105, ranges="v2"),
    "train_wide3": dict(per_class=6000, snr_db="-10:20", randomize=True, seed=113, ranges="wide"),
    "train_fsk": dict(per_class=8000, snr_db="-10:20", randomize=True, seed=106, ranges="v2",
                      classes=("GFSK", "GMSK")),
    "train_fsk_wide": dict(per_class=8000, snr_db="-10:20", randomize=True, seed=114,
                           ranges="wide", classes=("GFSK", "GMSK")),
    # GFSK/GMSK with a narrow Gaussian filter (BT 0.1-0.3): the filter smooths the symbol
    # transitions away, so what is left to tell the modulation index by is faint, and these
    # are the vectors the classifiers still confuse at high SNR.
    "train_fsk_lowbt": dict(per_class=16000, snr_db="-10:20", randomize=True, seed=107,
                            ranges={"base": "v2", "bt": (0.1, 0.3)}, classes=("GFSK", "GMSK")),
    "train_fsk_lowbt_wide": dict(per_class=16000, snr_db="-10:20", randomize=True, seed=115,
                                 ranges={"base": "wide", "bt": (0.1, 0.3)},
                                 classes=("GFSK", "GMSK")),
    "few_pool": dict(per_class=100, snr_db="-10:20:5", randomize=True, seed=301),
    "test_nom": dict(per_class=100, snr_db="-10:20:1", seed=201),
    "test_sps4": dict(per_class=150, snr_db="-10,-5,0,5,10,20", samples_per_symbol=4, seed=202),
    "test_sps16": dict(per_class=150, snr_db="-10,-5,0,5,10,20", samples_per_symbol=16, seed=203),
    "test_rand": dict(
        per_class=150, snr_db="-10,-5,0,5,10,20", randomize=True, seed=210, ranges="v2"
    ),
    # Evaluation suites (SUITES): transmitters as varied as other people's ("wide" ranges
    # of the generator); every class at least 10x oversampled (a narrow signal in a wideband
    # capture); every class filling most of the band (2-3 samples per symbol, OFDM as made);
    # carrier offsets up to 6% of the sample rate; GFSK near the GMSK boundary (modulation
    # index 0.3..0.7) beside GMSK with BT < 0.3.
    "test_wide": _suite(205),
    "test_narrowband": _suite(206, samples_per_symbol=(10, 32), ofdm_oversample=(10, 20)),
    "test_wideband": _suite(207, samples_per_symbol=(2, 3), ofdm_oversample=(1, 1)),
    "test_offsets": _suite(208, freq_offset=(-0.06, 0.06)),
    "test_boundary": _suite(
        209, classes=("GFSK", "GMSK"), mod_index=(0.3, 0.7), mod_index_gap=None, bt=(0.1, 0.3)
    ),
}  # fmt: skip

# The labelled training data of the shipped classifiers, and the larger mix they continue on.
CLASSIFIER_DATA = ("train_rand_gap", "train_nom", "train_wide", "train_wide2")
CLASSIFIER_MORE_DATA = CLASSIFIER_DATA + (
    "train_nom2", "train_rand_gap2", "train_wide3", "train_fsk", "train_fsk_wide"
)  # fmt: skip


def _fresh_draws(*draws, of=CLASSIFIER_MORE_DATA):
    """Adds draws ``k`` of the data sets ``of`` (the larger mix) to DATA_SETS (their
    settings, seeds + 1000 k) and returns their names."""
    names = {f"{n}_f{k}": (n, k) for k in draws for n in of}
    DATA_SETS.update({name: {**DATA_SETS[n], "seed": DATA_SETS[n]["seed"] + 1000 * k}
                      for name, (n, k) in names.items()})  # fmt: skip
    return tuple(names)


# Fresh draws of the larger mix for the training that follows it, two draws per step: a
# continued run that sees the same vectors again overfits (its best validation loss comes
# halfway), and generating data costs minutes.
CLASSIFIER_FRESH_DATA = _fresh_draws(1, 2)
CLASSIFIER_FRESH2_DATA = _fresh_draws(3, 4)
# Two more draws, and GFSK/GMSK at low BT (the last errors at high SNR are theirs).
LOWBT_DATA = ("train_fsk_lowbt", "train_fsk_lowbt_wide")
CLASSIFIER_FRESH3_DATA = _fresh_draws(5, 6) + LOWBT_DATA
# Draws 8 and 9 (draw 7 would reuse seeds 7101/7102 of the codec's test sets) and a new
# draw of the low-BT sets.
CLASSIFIER_FRESH4_DATA = _fresh_draws(8, 9) + _fresh_draws(8, of=LOWBT_DATA)
# Draws 10 and 11 and the low-BT sets' draw 9, for a step that also trains on the mirror
# images of the vectors (Step.symmetries).
CLASSIFIER_FRESH5_DATA = _fresh_draws(10, 11) + _fresh_draws(9, of=LOWBT_DATA)

# The HQARF codec's data: nominal and randomised transmitters over a wide SNR range for
# training; test sets at the SNRs of the measurement, which `rfml bench codec-rate` generates
# by default.
CODEC_DATA = {
    "codec_rand": dict(per_class=2500, snr_db="-10:30", randomize=True, seed=902),
    "codec_nom": dict(per_class=2500, snr_db="-10:30", seed=901),
    "codec_rand2": dict(per_class=2500, snr_db="-10:30", randomize=True, seed=903),
    "codec_rand3": dict(per_class=2500, snr_db="-10:30", randomize=True, seed=904),
    "codec_rand4": dict(per_class=2500, snr_db="-10:30", randomize=True, seed=905),
    "codec_test_nom": dict(per_class=200, snr_db="-5,0,5,10,20", seed=7101),
    "codec_test_rand": dict(per_class=200, snr_db="-5,0,5,10,20", randomize=True, seed=7102),
}


@dataclass(frozen=True)
class Step:
    """One training run: ``rfml train KIND STAGE`` writing ``<name>.safetensors``.

    ``init`` names an earlier step whose checkpoint the stage starts from; ``data`` names
    the data sets it trains on when they differ from the recipe's ``train`` (e.g. a
    fine-tuning step on few labels); ``config`` changes settings of the preset ("KEY=VALUE",
    `rfml train --set`; e.g. an ablation); ``seed`` replaces the recipe's (a continued run
    draws other batches and validation vectors than the run it starts from); ``symmetries``
    augments with complex conjugates and time reverses (`rfml train --symmetries`)."""

    name: str
    kind: str
    stage: str
    budget_min: float
    epochs: int
    lr: float
    init: str | None = None
    batch_size: int = 128
    data: tuple = ()
    config: tuple = ()
    seed: int | None = None
    symmetries: bool = False


# The CNN baseline's training, the shipped baseline's recipe and TS-DDAE's comparison alike:
# 50 + 70 + 85 + 70 + 60 + 50 + 50 min on one thread, the total of TS-DDAE's steps
# (20 + 30 + 105 + 50 + 70 + 60 + 50 + 50).
CNN_BASELINE_STEPS = (
    Step("cnn_baseline_small", "cnn_baseline", "fit", 50.0, epochs=50, lr=2e-3),
    Step("cnn_baseline_more", "cnn_baseline", "fit", 70.0, epochs=60, lr=1e-3,
         init="cnn_baseline_small", data=CLASSIFIER_MORE_DATA, seed=1),
    Step("cnn_baseline_fresh", "cnn_baseline", "fit", 85.0, epochs=60, lr=1e-3,
         init="cnn_baseline_more", data=CLASSIFIER_FRESH_DATA, seed=2),
    Step("cnn_baseline_fresh2", "cnn_baseline", "fit", 70.0, epochs=60, lr=5e-4,
         init="cnn_baseline_fresh", data=CLASSIFIER_FRESH2_DATA, seed=3),
    Step("cnn_baseline_fresh3", "cnn_baseline", "fit", 60.0, epochs=60, lr=5e-4,
         init="cnn_baseline_fresh2", data=CLASSIFIER_FRESH3_DATA, seed=4),
    Step("cnn_baseline_fresh4", "cnn_baseline", "fit", 50.0, epochs=60, lr=2.5e-4,
         init="cnn_baseline_fresh3", data=CLASSIFIER_FRESH4_DATA, seed=5),
    Step("cnn_baseline_sym", "cnn_baseline", "fit", 50.0, epochs=60, lr=2.5e-4,
         init="cnn_baseline_fresh4", data=CLASSIFIER_FRESH5_DATA, seed=6, symmetries=True),
)  # fmt: skip


@dataclass(frozen=True)
class Test:
    """A test set: a data set, optionally shifted in frequency (cycles per sample)."""

    name: str
    data: str
    freq_offset: float = 0.0


@dataclass(frozen=True)
class FewLabels:
    """The few-label comparison: labelled vectors per class and SNR from ``pool``,
    fine-tuning the checkpoint of step ``init`` (``minutes`` per arm and count)."""

    pool: str
    test: str
    init: str
    counts: tuple = (25, 100)
    epochs: int = 200
    lr: float = 1e-3
    minutes: float = 1.5


@dataclass(frozen=True)
class Recipe:
    """How one shipped checkpoint is made (see the module docstring).

    ``steps`` run in order; the last one's checkpoint is shipped. ``compare`` are trained on
    the same data and scored on the same tests, and their figures go in the card beside the
    shipped model's; a compare step that another one continues (``init``) is only a stage on
    the way and is not scored.
    """

    train: tuple
    steps: tuple
    tests: tuple
    compare: tuple = ()
    few_labels: FewLabels | None = None
    preset: str = "small"
    vector_length: int = 1024
    val_fraction: float = 0.04
    seed: int = 0
    data_sets: dict = field(default_factory=lambda: dict(DATA_SETS))

    def data_needed(self):
        """Names of the data sets the recipe reads, training sets first."""
        names = list(self.train) + [d for s in self.steps + self.compare for d in s.data]
        names += [t.data for t in self.tests]
        if self.few_labels:
            names += [self.few_labels.pool, self.few_labels.test]
        return list(dict.fromkeys(names))

    def compared(self):
        """The compare steps that are scored: those no other compare step starts from."""
        starts = {s.init for s in self.compare}
        return tuple(s for s in self.compare if s.name not in starts)

    def as_card(self):
        """The recipe as plain JSON for the card (only the data sets it uses)."""
        out = asdict(self)
        out["data_sets"] = {
            n: {**self.data_sets[n], "length": self.vector_length} for n in self.data_needed()
        }
        return out


# Test sets of the shipped classifiers: nominal, off-nominal samples per symbol, randomised
# transmitters, the nominal set shifted by carrier offsets, and the evaluation suites.
CLASSIFIER_TESTS = (
    Test("nominal", "test_nom"),
    Test("sps4", "test_sps4"),
    Test("sps16", "test_sps16"),
    Test("randomized", "test_rand"),
    Test("freq_offset_0.01", "test_nom", 0.01),
    Test("freq_offset_0.025", "test_nom", 0.025),
    Test("wide", "test_wide"),
    Test("narrowband", "test_narrowband"),
    Test("wideband", "test_wideband"),
    Test("offsets", "test_offsets"),
    Test("boundary", "test_boundary"),
)

# Evaluation suites that catch a classifier that only knows our own transmitters: `rfml eval
# --suite NAME` generates the data set (cached) and scores a model on it.
SUITES = ("nominal", "rand", "wide", "narrowband", "wideband", "offsets", "boundary")


def suite_data(name):
    """The DATA_SETS name of evaluation suite ``name``."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}: choose one of {', '.join(SUITES)}")
    return "test_nom" if name == "nominal" else f"test_{name}"
