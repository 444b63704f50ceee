# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml demo`: a small data set through the simulated loopback, its summary and a picture.

Writes ``OUT_DIR/demo.h5`` (the gr-rfml HDF5 contract) and ``OUT_DIR/demo.png`` (for each
class one constellation, a 2-D histogram of the noisy I/Q samples, and one spectrum, the
power spectral density averaged over the class's vectors).
"""

import argparse
import time
from pathlib import Path


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--out-dir",
        default="out/demo",
        help="folder for demo.h5 and demo.png (default %(default)s)",
    )
    p.add_argument(
        "--per-class", type=int, default=64, help="vectors per class (default %(default)s)"
    )
    p.add_argument("--snr-db", default="20", help="SNR values or range (default %(default)s)")
    p.add_argument(
        "--length", type=int, default=1024, help="samples per vector (default %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    return p  # fmt: skip


def class_spectrum(iq):
    """Mean power spectral density of vectors.

    Args:
        iq (numpy.ndarray): ``(n, 2, L)`` float32.

    Returns:
        (freq, psd_db): normalised frequency ``(L,)`` in cycles/sample (-0.5 .. 0.5) and the
        Hann-windowed periodogram averaged over the n vectors, in dB, ``(L,)``.
    """
    import numpy as np

    x = iq[:, 0] + 1j * iq[:, 1]
    w = np.hanning(x.shape[-1])
    spec = np.mean(np.abs(np.fft.fft(x * w, axis=-1)) ** 2, axis=0) / np.sum(w**2)
    freq = np.fft.fftshift(np.fft.fftfreq(x.shape[-1]))
    return freq, 10 * np.log10(np.fft.fftshift(spec) + 1e-12)


def plot_dataset(ds, path):
    """One constellation and one spectrum per class of ``ds`` into the PNG ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    present = [i for i in range(len(ds.classes)) if np.any(ds.label == i)]
    fig, axes = plt.subplots(2, len(present), figsize=(3 * len(present), 6.2), squeeze=False)
    rate = float(ds.attrs.get("sample_rate", 1.0))
    for col, idx in enumerate(present):
        iq = ds.iq[ds.label == idx]
        ax = axes[0, col]
        ax.hist2d(iq[:, 0].ravel(), iq[:, 1].ravel(), bins=96, range=[[-2, 2], [-2, 2]],
                  cmap="viridis", norm=matplotlib.colors.PowerNorm(0.4))  # fmt: skip
        ax.set_title(ds.classes[idx])
        ax.set_aspect("equal")
        ax.set_xlabel("I")
        if col == 0:
            ax.set_ylabel("Q")
        freq, psd = class_spectrum(iq)
        ax = axes[1, col]
        ax.plot(freq * rate / 1e3, psd, lw=0.8)
        ax.set_xlabel("frequency (kHz)")
        ax.set_ylim(psd.max() - 60, psd.max() + 5)
        ax.grid(alpha=0.3)
        if col == 0:
            ax.set_ylabel("PSD (dB)")
    snrs = np.unique(ds.snr_db)
    fig.suptitle(
        f"{len(ds)} vectors of {ds.vector_length} samples, radio={ds.attrs.get('radio')}, "
        f"SNR {', '.join(f'{s:g}' for s in snrs[:6])} dB"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(args):
    from ..generation import GenerationConfig, generate
    from ..ml.datasets import read_dataset

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    h5, png = out / "demo.h5", out / "demo.png"
    cfg = GenerationConfig(
        per_class=args.per_class, snr_db=args.snr_db, length=args.length, seed=args.seed
    )
    t0 = time.perf_counter()
    generate(cfg, h5)
    elapsed = time.perf_counter() - t0
    ds = read_dataset(h5)
    print(ds.summary())
    print(f"generated in {elapsed:.1f} s through the simulated loopback")
    plot_dataset(ds, png)
    print(f"data set: {h5}")
    print(f"picture:  {png}")
    return 0
