# SPDX-License-Identifier: GPL-3.0-or-later
"""Modulation classification of complex vectors: messages plus a tagged pass-through."""

import numpy as np
import pmt
from gnuradio import gr

from . import _batches
from ._work_guard import ends_on_error
from .ml import params
from .ml.contract import CLASSES, DEFAULT_VECTOR_LENGTH, INVALID_LABEL, LABEL_TAG_KEY

# Vectors the input and output buffers hold at least: many small batches per work() call
# when batch_size is small.


def _base(index, name):
    """(PMT dict {label: name, index: index}, the label symbol)."""
    label = pmt.intern(name)
    base = pmt.dict_add(pmt.make_dict(), pmt.intern("label"), label)
    return pmt.dict_add(base, pmt.intern("index"), pmt.from_long(index)), label


class tsddae_classifier(gr.sync_block):
    """Classifies each complex vector with a trained model (TS-DDAE by default).

    Vectors are run through the model in batches of up to ``batch_size``: a ``work()`` call
    with at least one batch waiting classifies the whole batches and leaves the rest for the
    next call; one with fewer vectors classifies them at once. The block's history makes
    GNU Radio give its input buffer room for two batches or more (the history itself is
    never classified), so when the model is the bottleneck the vectors queue up and the
    calls see full batches; when it keeps up, smaller ones go through at once (low
    latency), and the end of a finite stream is classified too.

    For every vector it publishes a PMT dict on the message port ``classification``:
    ``label`` (symbol), ``index`` (long; -1 when invalid), ``probs`` (f32vector, the class
    probabilities in the order of the model's classes; zeros when invalid) and ``offset``
    (uint64, absolute sample index of the vector's first sample); the output repeats the
    input unchanged with a stream tag ``rfml_label`` (the label as a symbol) on each vector.
    Messages are built only while something is subscribed to the port; tags always.
    A vector with NaN/Inf samples or zero power gets the label ``invalid`` and is counted
    (``invalid_count()``); the flowgraph keeps running.

    With ``probs_output`` a second output gives, per input vector, a float vector of
    ``len(classes)`` class probabilities (softmax, in the order of the model's classes;
    zeros for an invalid vector), which qtgui sinks can show.

    An exception inside ``work()`` is logged as an error and ends the block's stream, so the
    flowgraph finishes instead of hanging (the exception is kept in ``work_error``).

    Args:
        model_path (str): checkpoint (.safetensors with its .json card); "" = shipped weights.
        vector_length (int): samples per vector L; must equal the checkpoint's.
        batch_size (int): vectors per model call.
        device (str): "auto" (cuda when available), "cpu" or "cuda".
        model (torch.nn.Module or None): Python API only: an already-built classifier used
            instead of ``model_path`` (raw float32 (B, 2, L) in, logits out).
        classes (sequence of str or None): the class names of ``model`` (default the
            canonical six); ignored with ``model_path``, whose card names them.
        probs_output (bool): add the output of class probabilities.
        num_classes (int or None): the length of the probability vectors that the
            flowgraph expects (GRC sets it); ValueError unless the model has that many
            classes. None = the model's.
    """

    def __init__(
        self,
        model_path="",
        vector_length=DEFAULT_VECTOR_LENGTH,
        batch_size=64,
        device="auto",
        model=None,
        classes=None,
        probs_output=False,
        num_classes=None,
    ):
        vector_length = params.integer(vector_length, "vector_length", 1)
        batch_size = params.integer(batch_size, "batch_size", 1)
        from .ml import inference

        if model is not None:
            predictor = inference.Predictor(
                model, classes or CLASSES, vector_length, device
            ).self_check()
            card = None
        else:
            predictor, card = inference.load_predictor(
                model_path, kind="tsddae", vector_length=vector_length, device=device
            )
        n_classes = len(predictor.classes)
        if num_classes is not None and params.integer(num_classes, "num_classes", 1) != n_classes:
            raise ValueError(
                f"the model has {n_classes} classes ({', '.join(predictor.classes)}), not "
                f"num_classes={num_classes}: set num_classes (Classes in GRC) to {n_classes}"
            )
        out_sig = [(np.complex64, vector_length)]
        if probs_output:
            out_sig.append((np.float32, n_classes))
        gr.sync_block.__init__(
            self,
            name="tsddae_classifier",
            in_sig=[(np.complex64, vector_length)],
            out_sig=out_sig,
        )
        self.predictor, self.card = predictor, card
        self.vector_length = vector_length
        self.batch_size = batch_size
        self.probs_output = bool(probs_output)
        self.classes = self.predictor.classes
        self._tag_key = pmt.intern(LABEL_TAG_KEY)
        self._port = pmt.intern("classification")
        self._k_probs, self._k_offset = pmt.intern("probs"), pmt.intern("offset")
        # (message base holding label and index, label symbol) per class index; the last
        # entry is index -1, the invalid label
        self._bases = [
            _base(i, name) for i, name in [*enumerate(self.classes), (-1, INVALID_LABEL)]
        ]
        self._invalid = 0
        self._classified = 0
        self.message_port_register_out(self._port)
        _batches.reserve(self, self.batch_size)  # room for two batches (class docstring)

    def invalid_count(self):
        """Vectors labelled invalid (NaN/Inf samples or zero power) so far."""
        return self._invalid

    def classified_count(self):
        """Vectors that went through the block so far (valid or not)."""
        return self._classified

    def _publish(self, first, probs, index):
        """One message and one tag per vector; ``first`` is the absolute vector index.

        Per class a dict holding ``label`` and ``index`` is built once; a message adds the
        vector's ``probs`` and ``offset`` to it (PMT dicts are immutable, so the shared part
        is never changed), which halves the cost of a message.
        """
        # (messages are built only while something is subscribed to the port)
        publish = not pmt.is_null(self.gateway.message_subscribers(self._port))
        publish = publish and self.gateway.message_port_pub
        add_tag = self.gateway.add_item_tag
        port, tag_key, k_probs, k_offset = self._port, self._tag_key, self._k_probs, self._k_offset
        n_classes, length = len(self.classes), self.vector_length
        for i, (p, c) in enumerate(zip(probs.tolist(), index.tolist(), strict=True)):
            base, label = self._bases[c]  # c = -1 (invalid) picks the last entry
            if publish:
                msg = pmt.dict_add(base, k_probs, pmt.init_f32vector(n_classes, p))
                publish(port, pmt.dict_add(msg, k_offset, pmt.from_uint64((first + i) * length)))
            add_tag(0, first + i, tag_key, label)

    @ends_on_error
    def work(self, input_items, output_items):
        vectors, n = _batches.waiting(self, input_items, output_items, self.batch_size)
        output_items[0][:n] = vectors
        first = self.nitems_read(0)
        for start in range(0, n, self.batch_size):
            batch = vectors[start : start + self.batch_size]
            probs, index = self.predictor.predict(batch)
            if self.probs_output:
                output_items[1][start : start + len(batch)] = probs
            self._invalid += int((index < 0).sum())
            self._publish(first + start, probs, index)
        self._classified += n
        return n
