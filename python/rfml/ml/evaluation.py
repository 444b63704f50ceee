# SPDX-License-Identifier: GPL-3.0-or-later
"""Evaluating classifiers: labels matched by class name, accuracy reports that score only
the vectors a classifier can take (NaN/Inf or zero-power vectors are counted apart, as the
blocks do), and the few-label comparison (pre-trained and fine-tuned vs from scratch vs a
linear probe).
"""

import time

import numpy as np
import torch

from . import metrics
from .inference import INVALID_INDEX, ClassifierRunner
from .train import few_label_indices, linear_probe, train


def map_labels(ds, classes):
    """Labels of ``ds`` as indices into the model's ``classes`` (matched by name)."""
    names = [str(c) for c in ds.classes]
    lower = [str(c).lower() for c in classes]
    unknown = [c for c in names if c.lower() not in lower]
    if unknown:
        raise ValueError(
            f"the data set has classes the model does not know: {', '.join(unknown)} "
            f"(model classes: {', '.join(classes)}); evaluate with a model trained on them"
        )
    lut = np.array([lower.index(c.lower()) for c in names], dtype=np.int64)
    return lut[np.asarray(ds.label)]


def runner(model, classes, vector_length):
    """A classifier runner for a trained model, on the device its weights are on."""
    device = next(model.parameters()).device.type
    return ClassifierRunner(model, classes, vector_length, device)


def classify(runner, iq, batch_size=512):
    """Class index of each vector, ``INVALID_INDEX`` where it cannot be classified.

    iq: float32 (N, 2, L). Returns int64 (N,). A vector is invalid when a sample is NaN or
    Inf, its power is zero (``inference.valid_vectors``) or the model's output is not finite.
    """
    index = np.empty(len(iq), np.int64)
    for i in range(0, len(iq), batch_size):
        x = iq[i : i + batch_size]
        probs, idx = runner.predict((x[:, 0] + 1j * x[:, 1]).astype(np.complex64))
        idx[~np.all(np.isfinite(probs), axis=1)] = INVALID_INDEX
        index[i : i + batch_size] = idx
    return index


def parameter_bins(ds, name, edges=None, bins=4):
    """Per-vector values of generation parameter ``name`` of ``ds`` (NaN where a vector has
    none) and the bin edges to score them by: ``edges``, or ``bins`` bins of equal width
    over the values present."""
    if name not in ds.params:
        have = ", ".join(sorted(ds.params)) or "none"
        raise ValueError(
            f"the data set has no per-vector parameter {name!r} (it has: {have}); data made "
            "by `rfml generate --randomize` records them"
        )
    raw = np.asarray(ds.params[name])
    values = raw.astype(np.float64)
    if raw.dtype.kind == "i":  # -1 marks "none" in integer parameters (e.g. pulse)
        values[raw < 0] = np.nan
    finite = values[np.isfinite(values)]
    if not len(finite):
        raise ValueError(f"no vector of the data set has a value of {name!r}")
    if edges is None:
        edges = np.histogram_bin_edges(finite, bins)
    edges = np.asarray(edges, np.float64)
    if len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bin edges of {name!r} must be two or more increasing values")
    return values, edges


def evaluate(runner, ds, batch_size=512, by=None):
    """Evaluation report of a classifier runner on ``ds``: the valid vectors scored, the
    invalid ones counted (``invalid``), the vectors of unknown SNR (NaN) left out of
    ``per_snr``. ``by``: (parameter name, bin edges or None), to add the accuracy per bin
    of that generation parameter and per SNR (``report["by"]``, see
    :func:`parameter_bins`)."""
    label = map_labels(ds, runner.classes)
    binned = None if by is None else parameter_bins(ds, *by)
    pred = classify(runner, ds.iq, batch_size)
    valid = pred != INVALID_INDEX
    if not valid.any():
        raise ValueError(
            f"none of the {len(pred)} vectors can be classified (NaN/Inf samples or zero "
            "power): check the data set"
        )
    snr = np.asarray(ds.snr_db)[valid]
    known = np.isfinite(snr)
    report = metrics.report(pred[valid][known], label[valid][known], snr[known],
                            runner.classes)  # fmt: skip
    if not known.all():  # overall figures over every valid vector
        report["accuracy"] = metrics.accuracy(pred[valid], label[valid])
        report["confusion"] = metrics.confusion(pred[valid], label[valid],
                                                len(runner.classes)).tolist()  # fmt: skip
        report["n"] = int(valid.sum())
    report["snr_unknown"] = int((~known).sum())
    report["invalid"] = int((~valid).sum())
    if binned is not None:
        values, edges = binned
        ok = valid & np.isfinite(np.asarray(ds.snr_db))
        report["by"] = {"param": by[0], "bins": metrics.per_bin_accuracy(
            pred[ok], label[ok], np.asarray(ds.snr_db)[ok], values[ok], edges)}  # fmt: skip
    return report


def summary(report):
    """The figures of a report that a card (or `rfml eval --suite --json`) keeps."""
    keep = ("accuracy", "per_snr", "n", "data", "freq_offset", "by")
    return {k: report[k] for k in keep if k in report}


def few_labels(pretrained, build_fresh, stage, pool, test, classes, *, counts, epochs, lr,
               budget_s=None, seed=0, progress=True, device="cpu"):  # fmt: skip
    """The paper's comparison with few labels: for each N in ``counts``, N labelled vectors
    per class and SNR from ``pool``, then (a) the pre-trained model fine-tuned, (b) the same
    network trained from scratch, (c) a linear probe on the frozen pre-trained features;
    each scored on ``test``.

    Args:
        pretrained (callable): () -> a fresh copy of the pre-trained model.
        build_fresh (callable): () -> the same network with fresh weights.
        stage (ml.models.Stage): the supervised stage that fine-tunes.
        pool, test (Dataset): labelled pool and test set.
        classes (list[str]): the model's classes.

    Returns:
        dict: {str(N): {"labelled_vectors", "pretrained", "scratch", "linear_probe"}}, each arm
        with its report summary and seconds.
    """
    label = map_labels(pool, classes)
    results = {}
    for n in counts:
        idx = few_label_indices(label, pool.snr_db, n, seed=seed)
        data = {"iq": pool.iq[idx], "label": label[idx]}
        row = {"labelled_vectors": int(len(idx))}
        for arm in ("pretrained", "scratch", "linear_probe"):
            torch.manual_seed(seed)
            t0 = time.perf_counter()
            if arm == "linear_probe":
                model = linear_probe(pretrained(), data["iq"], data["label"], len(classes),
                                     seed=seed)  # fmt: skip
            else:
                model = pretrained() if arm == "pretrained" else build_fresh()
                train(model, stage, data, epochs=epochs, batch_size=min(64, len(idx)), lr=lr,
                      budget_s=budget_s, seed=seed, device=device, progress=progress,
                      desc=f"{arm} n={n}")  # fmt: skip
            report = evaluate(runner(model, classes, test.vector_length), test)
            row[arm] = {**summary(report), "seconds": round(time.perf_counter() - t0, 1)}
            print(f"{n:4d} labels/class/SNR  {arm:13s} accuracy {100 * report['accuracy']:.2f}%")
        results[str(n)] = row
    return results
