# SPDX-License-Identifier: GPL-3.0-or-later
"""Evaluating classifiers: labels matched by class name, accuracy reports, and the
few-label comparison (pre-trained and fine-tuned vs from scratch vs a linear probe).
"""

import time

import numpy as np
import torch

from . import metrics
from .train import few_label_indices, linear_probe, predict_logits, train


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


def evaluate(model, ds, classes):
    """Evaluation report of ``model`` (classes in logit order) on data set ``ds``:
    (``metrics.report`` dict, predicted indices (N,))."""
    label = map_labels(ds, classes)
    pred = predict_logits(model, ds.iq).argmax(1)
    return metrics.report(pred, label, ds.snr_db, classes), np.asarray(pred)


def summary(report):
    """The figures of a report that a card keeps."""
    keep = ("accuracy", "per_snr", "n", "data", "freq_offset")
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
            report, _ = evaluate(model, test, classes)
            row[arm] = {**summary(report), "seconds": round(time.perf_counter() - t0, 1)}
            print(f"{n:4d} labels/class/SNR  {arm:13s} accuracy {100 * report['accuracy']:.2f}%")
        results[str(n)] = row
    return results
