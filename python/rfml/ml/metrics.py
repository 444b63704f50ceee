# SPDX-License-Identifier: GPL-3.0-or-later
"""Classification metrics: overall accuracy, accuracy per SNR, confusion matrices.

Plain numpy on predicted and true label arrays, so they serve ``rfml eval``, the training
loops and the demo alike.
"""

import numpy as np


def accuracy(pred, label):
    """Fraction of ``pred == label``; pred, label (N,) int. NaN when N = 0."""
    pred, label = np.asarray(pred), np.asarray(label)
    if pred.shape != label.shape:
        raise ValueError(f"pred {pred.shape} and label {label.shape} differ in shape")
    return float(np.mean(pred == label)) if len(label) else float("nan")


def snr_key(snr):
    """The per-SNR dictionary key of an SNR in dB: rounded to an integer, as text ("-10")."""
    return str(int(np.round(snr)))


def snr_bins(snr_db):
    """Integer-dB SNR of each vector (N,) -> int (N,)."""
    return np.round(np.asarray(snr_db, dtype=np.float64)).astype(np.int64)


def per_snr_accuracy(pred, label, snr_db):
    """Accuracy per integer-dB SNR: {"-10": acc, ...}, keys in increasing SNR order."""
    bins = snr_bins(snr_db)
    pred, label = np.asarray(pred), np.asarray(label)
    return {snr_key(s): accuracy(pred[bins == s], label[bins == s]) for s in np.unique(bins)}


def confusion(pred, label, n_classes):
    """Confusion counts (n_classes, n_classes): row = true class, column = predicted.

    Predictions outside 0..n_classes-1 (invalid vectors) are not counted."""
    pred, label = np.asarray(pred), np.asarray(label)
    ok = (pred >= 0) & (pred < n_classes)
    m = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(m, (label[ok], pred[ok]), 1)
    return m


def normalize_rows(m):
    """Row-normalised confusion matrix (each true class sums to 1; empty rows stay 0)."""
    m = np.asarray(m, dtype=np.float64)
    total = m.sum(axis=1, keepdims=True)
    return np.divide(m, total, out=np.zeros_like(m), where=total > 0)


def nearest_snr(snr_db, target):
    """The SNR bin of ``snr_db`` closest to ``target`` (int), or None when there is none."""
    bins = np.unique(snr_bins(snr_db))
    if not len(bins):
        return None
    return int(bins[np.argmin(np.abs(bins - target))])


def report(pred, label, snr_db, classes, confusion_snrs=(-5, 0, 10)):
    """All evaluation figures of one run as a JSON-ready dict.

    Returns {"accuracy", "per_snr", "classes", "confusion" (all SNRs, counts),
    "confusion_at" {"-5": counts, ...} (the nearest SNR bin present), "n"}.
    """
    n = len(classes)
    bins = snr_bins(snr_db)
    at = {}
    for target in confusion_snrs:
        s = nearest_snr(snr_db, target)
        if s is not None and abs(s - target) <= 1:
            sel = bins == s
            at[snr_key(s)] = confusion(np.asarray(pred)[sel], np.asarray(label)[sel], n).tolist()
    return {
        "accuracy": accuracy(pred, label),
        "per_snr": per_snr_accuracy(pred, label, snr_db),
        "classes": list(classes),
        "confusion": confusion(pred, label, n).tolist(),
        "confusion_at": at,
        "n": int(len(label)),
    }


def per_bin_accuracy(pred, label, snr_db, values, edges):
    """Accuracy per bin of a per-vector value (e.g. a generation parameter) and per SNR.

    values (N,) float, NaN where the vector has no such value (left out); edges: increasing
    bin edges, the last bin closed. Returns [{"low", "high", "n", "accuracy", "per_snr"}, ...]
    one per bin, as JSON-ready figures."""
    pred, label, snr_db = np.asarray(pred), np.asarray(label), np.asarray(snr_db)
    values, edges = np.asarray(values, np.float64), np.asarray(edges, np.float64)
    which = np.digitize(values, edges[1:-1])  # 0 .. len(edges) - 2
    inside = np.isfinite(values) & (values >= edges[0]) & (values <= edges[-1])
    out = []
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        sel = inside & (which == i)
        out.append({"low": float(low), "high": float(high), "n": int(sel.sum()),
                    "accuracy": accuracy(pred[sel], label[sel]),
                    "per_snr": per_snr_accuracy(pred[sel], label[sel], snr_db[sel])})  # fmt: skip
    return out
