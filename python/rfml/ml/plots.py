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


# Accuracy at or above this is where curves crowd together: the zoomed panel shows it.
ZOOM_FROM = 0.9


def zoom_range(curves):
    """(low, high) in % of the zoomed panel: from just below the lowest accuracy that is at
    least ``ZOOM_FROM`` to just above 100; None when no point reaches ``ZOOM_FROM`` or all
    such points are equal (nothing to tell apart).

    Args:
        curves (dict[str, dict[str, float]]): name -> {snr: accuracy in [0, 1]}.
    """
    high = [v for per_snr in curves.values() for v in per_snr.values() if v >= ZOOM_FROM]
    if len(set(high)) < 2:
        return None
    low = 100 * min(high)
    pad = max(0.05 * (100 - low), 0.2)
    return low - pad, 100 + pad


def accuracy_vs_snr(curves, path, title="Accuracy against SNR", overall=None):
    """Plot accuracy per SNR: the full range, and beside it a zoom on the top where lines
    crowd (see ``zoom_range``).

    Args:
        curves (dict[str, dict[str, float]]): curve name (a model, a class) -> {"-10": acc,
            ...}; accuracies in [0, 1].
        path (str | Path): the PNG to write.
        title (str): figure title.
        overall (str or None): the curve that is the overall accuracy: drawn thick and black,
            the others thin and dashed around it; None = all curves alike (e.g. models).
    """
    plt = _pyplot()
    zoom = zoom_range(curves)
    ncols = 2 if zoom else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6.4 * ncols, 4.4), dpi=110, squeeze=False)
    markers = "osD^v<>ph*"
    for ax in axes[0]:
        for k, (name, per_snr) in enumerate(curves.items()):
            snrs = sorted(per_snr, key=float)
            x, y = [float(s) for s in snrs], [100 * per_snr[s] for s in snrs]
            if name == overall:
                ax.plot(x, y, color="black", lw=2.6, marker="o", ms=5, label=name, zorder=3)
            else:
                style = dict(lw=1.2, ls="--", alpha=0.9) if overall else dict(lw=1.6)
                ax.plot(x, y, marker=markers[k % len(markers)], ms=4, label=name, **style)
        ax.set_xlabel("SNR (dB)")
        ax.grid(alpha=0.3)
    full = axes[0, 0]
    full.set_ylabel("accuracy (%)")
    full.set_ylim(0, 101)
    full.set_title(title)
    if zoom:
        axes[0, 1].set_ylim(*zoom)
        axes[0, 1].set_title(f"zoom: {zoom[0]:.1f} to 100 %")
        full.axhspan(zoom[0], 100, color="0.85", alpha=0.5, zorder=0)
    axes[0, -1].legend(loc="lower right", fontsize=8)
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
