# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml demo`: live modulation classification through the simulated loopback.

Six sources take turns (``--per-class`` vectors each) through the simulated RF loopback and
``awgn_snr``, once per SNR of ``--snr-db``; the shipped TS-DDAE classifier labels every
vector and the CAM sink shows why the CAM model decides as it does (in a window when there
is a display, PNG files otherwise). It prints one table row per SNR as the run finishes,
then the accuracy per class and SNR, and writes to ``--out-dir``:
``cam_grid.png`` (the CAM display of each class's first vector at each SNR, classes by
SNRs), ``confusion.png`` and ``accuracy_vs_snr.png``.

``rfml demo --dataset`` is the data set demo instead: ``OUT_DIR/demo.h5`` (the gr-rfml
HDF5 contract) and ``OUT_DIR/demo.png`` (for each class one constellation, a 2-D histogram
of the noisy I/Q samples, and one spectrum, the power spectral density averaged over the
class's vectors).
"""

import argparse
import json
import math
import time
from pathlib import Path

from ..ml.contract import DEFAULT_VECTOR_LENGTH
from . import UsageError, positive_int

CLASSIFY_SNRS = "-10,-5,0,5,10,20"
DATASET_SNRS = "20"


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--out-dir", default="out/demo", help="output folder (default %(default)s)")
    p.add_argument(
        "--per-class",
        type=positive_int,
        default=None,
        help="vectors per class (and SNR); default 128, 64 with --dataset",
    )
    p.add_argument(
        "--snr-db",
        default=None,
        help=f"SNR values (or a range with --dataset); default {CLASSIFY_SNRS}, "
        f"{DATASET_SNRS} with --dataset",
    )
    p.add_argument(
        "--length",
        type=positive_int,
        default=DEFAULT_VECTOR_LENGTH,
        help="samples per vector (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=64,
        help="classifier batch size (default %(default)s)",
    )
    p.add_argument("--model", default="", help="classifier checkpoint (default: shipped)")
    p.add_argument("--cam-model", default="", help="CAM model checkpoint (default: shipped)")
    p.add_argument(
        "--denoise",
        action="store_true",
        help="denoise every vector (denomae_denoiser) before it is classified",
    )
    p.add_argument(
        "--denoiser-model",
        default="",
        help="denoiser checkpoint for --denoise (default: shipped DenoMAE)",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument(
        "--display",
        default="auto",
        choices=["auto", "window", "none"],
        help="CAM widget in a window: auto = when a display is set (default auto)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    p.add_argument(
        "--dataset",
        action="store_true",
        help="the data set demo instead: a small HDF5 file and its picture",
    )
    return p  # fmt: skip


def class_spectrum(iq):
    """Mean power spectral density of vectors.

    Args:
        iq (numpy.ndarray): ``(n, 2, L)`` float32.

    Returns:
        (freq, psd_db): normalised frequency ``(L,)`` in cycles/sample (-0.5 .. 0.5) and the
        Hann-windowed periodogram averaged over the n vectors, in dB, ``(L,)``.
    """
    from ..ml.plots import mean_psd_db

    return mean_psd_db(iq[:, 0] + 1j * iq[:, 1])


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


def dataset_demo(args):
    """The data set demo: generate, summarise, draw."""
    from ..flowgraphs.generation import GenerationConfig, generate
    from ..ml.datasets import read_dataset

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    h5, png = out / "demo.h5", out / "demo.png"
    cfg = GenerationConfig(
        per_class=args.per_class or 64, snr_db=args.snr_db or DATASET_SNRS,
        length=args.length, seed=args.seed,
    )  # fmt: skip
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


def parse_snrs(text):
    try:
        snrs = [float(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        snrs = []
    if not snrs or not all(math.isfinite(s) for s in snrs):
        raise UsageError(f"--snr-db needs comma-separated finite numbers in dB, got {text!r}")
    return snrs


def classification_demo(args):
    """The classification demo: run, print the tables, write the PNGs (and JSON)."""
    from gnuradio import gr

    from ..flowgraphs import classification_demo as demo
    from ..ml.contract import CLASSES

    # The table is the console output: GNU Radio's info lines (buffer sizes) stay out of it.
    gr.logging().set_default_level(gr.log_levels.warn)
    snrs = parse_snrs(args.snr_db or CLASSIFY_SNRS)
    per_class = args.per_class or 128
    gui = args.display == "window" or (args.display == "auto" and demo.has_display())
    out = Path(args.out_dir)
    if args.denoiser_model and not args.denoise:
        raise UsageError("--denoiser-model needs --denoise")
    denoiser = "denomae_denoiser -> " if args.denoise else ""
    print(f"classifying {per_class} vectors of {args.length} samples per class at each of "
          f"{len(snrs)} SNRs; sources -> loopback (sim) -> awgn_snr -> {denoiser}"
          f"tsddae_classifier -> cam_sink ({'window' if gui else 'PNG files'})")  # fmt: skip
    t0 = time.perf_counter()
    results = demo.run_demo(
        snrs, per_class=per_class, out_dir=out, vector_length=args.length,
        model_path=args.model, cam_model_path=args.cam_model, batch_size=args.batch_size,
        device=args.device, seed=args.seed, gui=gui,
        denoiser_path=args.denoiser_model if args.denoise else None,
    )  # fmt: skip
    report = demo.summary(results, out)
    total = sum(len(r.truth) for r in results)
    print(f"\naccuracy per class and SNR (%), {total} vectors in "
          f"{time.perf_counter() - t0:.1f} s:")  # fmt: skip
    print(f"{'class':>7} " + " ".join(f"{s:>6g}" for s in snrs) + f" {'all':>6}")
    for i, c in enumerate(CLASSES):
        cells = " ".join(f"{100 * r.accuracy(i):6.1f}" for r in results)
        mean = sum(r.accuracy(i) for r in results) / len(results)
        print(f"{c:>7} {cells} {100 * mean:6.1f}")
    cells = " ".join(f"{100 * r.accuracy():6.1f}" for r in results)
    print(f"{'all':>7} {cells} {100 * report['accuracy']:6.1f}")
    print(f"\nconfusion matrix: {report['files']['confusion']}")
    print(f"accuracy vs SNR:  {report['files']['accuracy_vs_snr']}")
    print(f"CAM displays:     {report['files']['cam_grid']} (classes x SNRs)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"figures:          {args.json}")
    return 0


def main(args):
    return dataset_demo(args) if args.dataset else classification_demo(args)
