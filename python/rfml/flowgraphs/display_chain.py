# SPDX-License-Identifier: GPL-3.0-or-later
"""The realtime display's flowgraph: a chosen class through the loopback and the noise into
the classifier, and a probe that hands what the display shows to the GUI thread.

::

    mod_source x C -> class_switch -> throttle -> loopback(sim) -> awgn_snr
        -> stream_to_vector -> tsddae_classifier --(classification msgs)--> display_probe
                                                 \\--(vectors, tags)-------> display_probe

``class_switch`` passes one source at a time (the class chooser picks it) and tags the true
class (``rfml_class``) where its output starts and where the class changes, always on a
vector boundary, so every vector holds one class. ``awgn_snr`` tags ``rfml_snr_db`` (the
SNR slider sets it). ``display_probe`` reads the tags defensively: a flowgraph whose source
tags nothing still shows labels and probabilities, only no accuracy.

The GUI knows nothing of the blocks: ``DisplayChain.controls()`` describes the settings it
offers (a choice, a range), and the window builds one widget per description. A new stage
(e.g. a denoiser between ``awgn_snr`` and the classifier) adds its block in ``__init__``
and a ``Control`` of kind ``"switch"`` to ``controls()``.
"""

import collections
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pmt
from gnuradio import blocks, gr

from ..class_switch import class_switch
from ..ml.contract import (
    CLASS_TAG_KEY,
    CLASSES,
    DEFAULT_SAMPLE_RATE,
    DEFAULT_VECTOR_LENGTH,
    SNR_TAG_KEY,
)

# The sim loopback's impairments in the display (as in the classification demo): a small
# carrier offset, phase noise, IQ imbalance and DC offset; no timing drift, so that the
# vectors stay aligned with the class switches.
DISPLAY_IMPAIRMENTS = dict(
    freq_offset=2e-4, phase_noise_std=1e-3, iq_gain_db=0.2, iq_phase_deg=1.0, dc_offset=0.01
)


@dataclass
class Decision:
    """One classified vector, joined with its truth.

    Attributes:
        vector (int): absolute vector index.
        probs (numpy.ndarray): float32 (C,), class probabilities (zeros when invalid).
        index (int): predicted class, -1 when the vector was invalid.
        truth (int): true class, -1 when no ``rfml_class`` tag said it.
        snr_db (float): SNR of the vector (``rfml_snr_db`` tag), NaN when untagged.
    """

    vector: int
    probs: np.ndarray
    index: int
    truth: int = -1
    snr_db: float = float("nan")


@dataclass
class Snapshot:
    """What the GUI takes from the probe in one refresh.

    Attributes:
        decisions (list of Decision): newly classified vectors, oldest first.
        latest (numpy.ndarray): complex64 (K, L), the most recent vectors (K may be 0).
        vectors (int): vectors seen by the probe so far.
    """

    decisions: list = field(default_factory=list)
    latest: np.ndarray = None
    vectors: int = 0


class _ChangePoints:
    """Values that hold from a vector index on (the last tag at or before a vector)."""

    def __init__(self, keep=4096):
        self.starts, self.values, self.keep = [], [], keep

    def add(self, start, value):
        self.starts.append(int(start))
        self.values.append(value)
        if len(self.starts) > self.keep:
            del self.starts[: -self.keep], self.values[: -self.keep]

    def at(self, vector, default):
        k = np.searchsorted(self.starts, vector, side="right") - 1
        return self.values[k] if k >= 0 else default


class display_probe(gr.sync_block):
    """Collects what the display shows: the classifier's messages (port ``classification``),
    the latest vectors, and the true class and SNR from the stream tags.

    ``snapshot()`` (any thread) returns the decisions whose vectors the probe has seen (so
    their tags are known), joined with truth and SNR, and the ``keep_vectors`` latest vectors.

    Args:
        vector_length (int): samples per vector L.
        classes (sequence of str): the classifier's classes (truth tags are matched by name).
        keep_vectors (int): latest vectors kept for the constellation, spectrum and CAM.
    """

    def __init__(self, vector_length=DEFAULT_VECTOR_LENGTH, classes=CLASSES, keep_vectors=8):
        gr.sync_block.__init__(
            self, name="display_probe", in_sig=[(np.complex64, int(vector_length))], out_sig=[]
        )
        self.vector_length = int(vector_length)
        self.classes = tuple(classes)
        self._lock = threading.Lock()
        self._latest = collections.deque(maxlen=int(keep_vectors))
        self._pending = collections.deque(maxlen=65536)  # decisions not yet joined
        self._truth, self._snr = _ChangePoints(), _ChangePoints()
        self._seen = 0
        self._keys = {pmt.intern(CLASS_TAG_KEY): self._on_class,
                      pmt.intern(SNR_TAG_KEY): self._on_snr}  # fmt: skip
        self.message_port_register_in(pmt.intern("classification"))
        self.set_msg_handler(pmt.intern("classification"), self._on_classification)

    def _on_class(self, vector, value):
        name = pmt.symbol_to_string(value) if pmt.is_symbol(value) else ""
        self._truth.add(vector, self.classes.index(name) if name in self.classes else -1)

    def _on_snr(self, vector, value):
        self._snr.add(vector, pmt.to_double(value) if pmt.is_number(value) else float("nan"))

    def _on_classification(self, msg):
        vector = pmt.to_uint64(pmt.dict_ref(msg, pmt.intern("offset"), pmt.from_uint64(0)))
        probs = pmt.dict_ref(msg, pmt.intern("probs"), pmt.PMT_NIL)
        index = pmt.to_long(pmt.dict_ref(msg, pmt.intern("index"), pmt.from_long(-1)))
        probs = np.array(pmt.f32vector_elements(probs), np.float32) if pmt.is_f32vector(
            probs) else np.zeros(len(self.classes), np.float32)  # fmt: skip
        with self._lock:
            self._pending.append(Decision(int(vector) // self.vector_length, probs, int(index)))

    def work(self, input_items, output_items):
        vectors = input_items[0]  # (n, L) complex64
        first = self.nitems_read(0)
        # only the two keys (the classifier tags every vector with its label)
        tags = [(t.offset, handler, t.value) for key, handler in self._keys.items()
                for t in self.get_tags_in_window(0, 0, len(vectors), key)]  # fmt: skip
        with self._lock:
            for offset, handler, value in sorted(tags, key=lambda t: t[0]):
                handler(offset, value)
            self._latest.extend(np.array(vectors[-self._latest.maxlen :]))
            self._seen = first + len(vectors)
        return len(vectors)

    def snapshot(self):
        with self._lock:
            ready = []
            while self._pending and self._pending[0].vector < self._seen:
                d = self._pending.popleft()
                d.truth = self._truth.at(d.vector, -1)
                d.snr_db = self._snr.at(d.vector, float("nan"))
                ready.append(d)
            latest = np.array(self._latest) if self._latest else np.zeros((0, self.vector_length),
                                                                          np.complex64)  # fmt: skip
            return Snapshot(ready, latest, self._seen)


@dataclass
class Control:
    """A setting the display offers, independent of any widget toolkit.

    Attributes:
        kind (str): "choice" (one of ``options``) or "range" (``low``..``high`` by ``step``).
        label (str): what the widget is called.
        value: the initial value (an option's index for a choice).
        setter (callable): called with the new value (an index for a choice).
        options (tuple of str): the choices.
        low, high, step (float): the range.
    """

    kind: str
    label: str
    value: object
    setter: object
    options: tuple = ()
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0


class DisplayChain(gr.top_block):
    """The display's flowgraph (see the module docstring).

    Args:
        modulation (str): the class transmitted first.
        snr_db (float): the first target SNR.
        sample_rate (float): samples per second offered (a throttle holds the sources to it).
        vector_length (int): samples per vector L (the classifier's).
        batch_size (int): classifier batch size.
        model_path (str): classifier checkpoint ("" = shipped).
        device (str): "auto", "cpu" or "cuda".
        seed (int): seeds the sources, the loopback and the noise.
    """

    SNR_RANGE = (-10.0, 30.0)

    def __init__(self, modulation="GFSK", snr_db=10.0, *, sample_rate=DEFAULT_SAMPLE_RATE,
                 vector_length=DEFAULT_VECTOR_LENGTH, batch_size=256, model_path="",
                 device="auto", seed=0):  # fmt: skip
        from ..awgn_snr import awgn_snr
        from ..loopback import loopback
        from ..mod_source import mod_source
        from ..tsddae_classifier import tsddae_classifier

        gr.top_block.__init__(self, "rfml realtime classification display")
        if not sample_rate > 0:
            raise ValueError(f"sample_rate must be > 0 samples/s, got {sample_rate}")
        self.sample_rate = float(sample_rate)
        self.vector_length = int(vector_length)
        self.classifier = tsddae_classifier(model_path, vector_length, batch_size, device)
        self.classes = self.classifier.classes
        seeds = np.random.default_rng(seed).integers(1, 2**31 - 1, size=len(self.classes) + 2)
        self.sources = [mod_source(c, seed=int(s)) for c, s in zip(self.classes, seeds[:-2],
                                                                   strict=True)]  # fmt: skip
        first = self.classes.index(modulation) if modulation in self.classes else -1
        if first < 0:
            raise ValueError(f"unknown class {modulation!r}: choose one of "
                             f"{', '.join(self.classes)}")  # fmt: skip
        self.switch = class_switch(self.classes, self.vector_length, first)
        self.throttle = blocks.throttle(gr.sizeof_gr_complex, self.sample_rate, True)
        self.loopback = loopback(radio="sim", seed=int(seeds[-2]), **DISPLAY_IMPAIRMENTS)
        self.awgn = awgn_snr(snr_db=snr_db, vector_length=vector_length, seed=int(seeds[-1]))
        self.to_vector = blocks.stream_to_vector(gr.sizeof_gr_complex, self.vector_length)
        self.probe = display_probe(self.vector_length, self.classes)
        for i, src in enumerate(self.sources):
            self.connect(src, (self.switch, i))
        self.connect(self.switch, self.throttle, self.loopback, self.awgn, self.to_vector,
                     self.classifier, self.probe)  # fmt: skip
        self.msg_connect(self.classifier, "classification", self.probe, "classification")
        self._started = None

    def set_class(self, index):
        self.switch.set_selected(index)

    def set_snr_db(self, snr_db):
        self.awgn.set_snr_db(snr_db)

    def controls(self):
        """The settings the display offers, as ``Control`` descriptions."""
        low, high = self.SNR_RANGE
        return [
            Control("choice", "Transmitted class", self.switch.selected(), self.set_class,
                    options=self.classes),
            Control("range", "SNR (dB)", self.awgn.snr_db(), self.set_snr_db, low=low,
                    high=high, step=1.0),
        ]  # fmt: skip

    def start(self, *args):
        self._started = time.monotonic()
        return super().start(*args)

    def rates(self):
        """(offered, classified) vectors per second since start()."""
        if self._started is None:
            return 0.0, 0.0
        seconds = max(time.monotonic() - self._started, 1e-9)
        return self.sample_rate / self.vector_length, self.classifier.classified_count() / seconds
