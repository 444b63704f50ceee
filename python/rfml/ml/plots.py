# SPDX-License-Identifier: GPL-3.0-or-later
"""PNG figures of an evaluation: accuracy against SNR and confusion matrices.

matplotlib with the Agg backend (no display needed), imported only when a plot is made.
"""

from pathlib import Path

import numpy as np

from .metrics import normalize_rows


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def mean_psd_db(iq):
    """Mean power spectral density of complex vectors.

    Args:
        iq (numpy.ndarray): complex ``(n, L)``.

    Returns:
        (freq, psd_db): normalised frequency ``(L,)`` in cycles/sample (-0.5 .. 0.5) and the
        Hann-windowed periodogram averaged over the n vectors, in dB, ``(L,)``.
    """
    x = np.asarray(iq)
    w = np.hanning(x.shape[-1])
    spec = np.mean(np.abs(np.fft.fft(x * w, axis=-1)) ** 2, axis=0) / np.sum(w**2)
    freq = np.fft.fftshift(np.fft.fftfreq(x.shape[-1]))
    return freq, 10 * np.log10(np.fft.fftshift(spec) + 1e-12)


def accuracy_vs_snr(curves, path, title="Accuracy against SNR"):
    """Plot accuracy per SNR for one or more models.

    Args:
        curves (dict[str, dict[str, float]]): model name -> {"-10": acc, ...}.
        path (str | Path): the PNG to write.
        title (str): figure title.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for name, per_snr in curves.items():
        snrs = sorted(per_snr, key=int)
        ax.plot(
            [int(s) for s in snrs], [100 * per_snr[s] for s in snrs], marker="o", ms=3, label=name
        )
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(Path(path))
    plt.close(fig)
    return Path(path)


def confusion_matrix(counts, classes, path, title="Confusion matrix"):
    """Plot a row-normalised confusion matrix (rows = true class) with percentages.

    Args:
        counts (array (C, C)): confusion counts, row = true, column = predicted.
        classes (sequence of str): class names.
        path (str | Path): the PNG to write.
        title (str): figure title.
    """
    plt = _pyplot()
    m = normalize_rows(np.asarray(counts))
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 0.8 + 0.7 * n), dpi=110)
    ax.imshow(m, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                f"{100 * m[i, j]:.0f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if m[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(n), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(Path(path))
    plt.close(fig)
    return Path(path)
