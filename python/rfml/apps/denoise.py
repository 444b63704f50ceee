# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml denoise`: denoise every vector of a data set and measure the SNR gain.

Example::

    rfml denoise --data test.h5 --out test_denoised.h5 --json denoise.json
    rfml denoise --data test.h5 --out den.h5 --model out/denomae_small.safetensors

With no ``--model`` the shipped DenoMAE denoiser is used. ``--out`` gets the same HDF5
contract as ``--data`` with ``iq`` replaced by the denoised vectors and everything else
(clean, label, snr_db, params, attributes) kept, so `rfml eval` runs on it; it is written
under a temporary name and renamed when complete. When the data hold clean vectors (files of
`rfml generate`), the SNR of the input, the model's output and the two classical baselines
(:mod:`gnuradio.rfml.dsp.denoise`: a low-pass to each class's occupied bandwidth and the
oracle Wiener filter) is measured against ``clean`` per class and SNR, printed and written
to ``--json``.
"""

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np

# Vectors read, denoised and written at a time.
CHUNK = 2048


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--data", required=True, help="gr-rfml HDF5 data set (rfml generate)")
    p.add_argument("--out", required=True, help="HDF5 file to write, iq denoised")
    p.add_argument("--model", default="", help="denoiser checkpoint; default: shipped DenoMAE")
    p.add_argument("--json", metavar="FILE", help="write the SNR table to FILE as JSON")
    p.add_argument("--batch-size", type=int, default=256, help="vectors per model call")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (%(default)s)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (%(default)s)")
    p.add_argument(
        "--plots", metavar="DIR", help="write before/after pictures per class at --plot-snr to DIR"
    )
    p.add_argument("--plot-snr", default="-5,5", help="SNRs (dB) of the pictures (%(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def load_denoiser(model="", vector_length=None, device="auto"):
    """(DenoiserRunner, card) of a checkpoint (``""`` = the shipped DenoMAE), self-checked."""
    from ..ml import checkpoint, inference

    path = model or checkpoint.shipped("denomae")
    runner, card = inference.load_runner(path, kind="denomae", vector_length=vector_length,
                                         device=device)  # fmt: skip
    try:
        runner.self_check()
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return runner, card


def denoise_all(runner, iq, batch_size=256, progress=None):
    """Denoise complex vectors (N, L) batch by batch -> (complex64 (N, L), valid (N,))."""
    out = np.empty(iq.shape, np.complex64)
    valid = np.zeros(len(iq), bool)
    for start in range(0, len(iq), batch_size):
        out[start : start + batch_size], valid[start : start + batch_size] = runner.denoise(
            iq[start : start + batch_size]
        )
        if progress:
            progress(min(len(iq), start + batch_size))
    return out, valid


def measure(denoised, iq, clean, label, snr_db, classes, snrs=None):
    """The SNR table (:func:`gnuradio.rfml.dsp.denoise.snr_table`) of a model's output beside
    the low-pass and the oracle Wiener filter, the baselines fitted on these clean vectors.

    All arrays complex (N, L) or (N,); returns the table dict with methods ``model``,
    ``lowpass`` and ``wiener``."""
    from ..dsp.denoise import ClassicalBaselines, snr_table

    base = ClassicalBaselines(clean, label)
    estimates = {"model": denoised, "lowpass": base.lowpass(iq, label),
                 "wiener": base.wiener(iq, label, clean)}  # fmt: skip
    table = snr_table(estimates, iq, clean, label, snr_db, classes, snrs)
    table["baselines"] = {
        "lowpass": {"bandwidth": {classes[c]: b for c, b in base.bandwidth.items()},
                    "numtaps": base.numtaps, "fraction": 0.99},
        "wiener": "class mean power spectrum of these clean vectors, true signal and noise "
                  "power per vector",
    }  # fmt: skip
    return table


def format_table(table):
    """Mean gain over the classes per SNR, one column per method, as text."""
    names = list(table["methods"])
    lines = ["SNR dB  " + "  ".join(f"{n:>9s}" for n in names) + "   (mean gain, dB)"]
    for i, s in enumerate(table["snr_db"]):
        cells = "  ".join(f"{table['methods'][n]['mean_gain'][i]:9.2f}" for n in names)
        lines.append(f"{s:6.0f}  {cells}")
    return "\n".join(lines)


def write_denoised(src, dst, runner, batch_size=256, quiet=False, card_path=None):
    """Copy ``src`` to a temporary name beside ``dst``, replace its ``iq`` with the denoised
    vectors, rename it to ``dst``. Returns (denoised complex64 (N, L), valid (N,))."""
    import h5py
    from tqdm.auto import tqdm

    from ..ml.signal import complex_to_iq, iq_to_complex

    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.partial")
    shutil.copyfile(src, tmp)
    try:
        with h5py.File(tmp, "r+") as f:
            if "iq" not in f:
                raise ValueError(f"{src} has no 'iq' dataset: give a gr-rfml HDF5 data set "
                                 "(rfml generate or rfml capture)")  # fmt: skip
            n = len(f["iq"])
            outs, valids = [], []
            with tqdm(total=n, desc="denoise", unit="vec", disable=quiet) as bar:
                for start in range(0, n, CHUNK):
                    iq = iq_to_complex(f["iq"][start : start + CHUNK])
                    out, valid = denoise_all(runner, iq, batch_size)
                    f["iq"][start : start + CHUNK] = complex_to_iq(out)
                    outs.append(out)
                    valids.append(valid)
                    bar.update(len(iq))
            f.attrs["denoised_by"] = str(card_path or "shipped denomae")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return np.concatenate(outs), np.concatenate(valids)


def main(args):
    from ..ml.datasets import read_dataset
    from ..ml.signal import iq_to_complex
    from ..ml.train import set_threads

    set_threads(args.threads)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if Path(args.out).resolve() == Path(args.data).resolve():
        raise ValueError("--out must differ from --data: the input is kept as it is")
    ds = read_dataset(args.data, clean=True)
    runner, card = load_denoiser(args.model, ds.vector_length, args.device)
    denoised, valid = write_denoised(args.data, args.out, runner, args.batch_size, args.quiet,
                                     args.model or "shipped denomae_small")  # fmt: skip
    print(f"wrote {args.out} ({len(valid)} vectors, {int((~valid).sum())} invalid passed through)")
    if ds.clean is None:
        print(f"{args.data} holds no clean vectors: no SNR measured")
        return 0
    iq, clean = iq_to_complex(ds.iq), iq_to_complex(ds.clean)
    table = measure(denoised, iq, clean, ds.label, ds.snr_db, list(ds.classes))
    table.update(data=str(args.data), model=args.model or "shipped", invalid=int((~valid).sum()))
    print(format_table(table))
    if args.plots:
        snrs = [float(v) for v in str(args.plot_snr).split(",") if v.strip()]
        for path in plot_examples(iq, denoised, clean, ds.label, ds.snr_db, list(ds.classes),
                                  snrs, args.plots):  # fmt: skip
            print(f"wrote {path}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=2)
    return 0


def evaluate(model, ds, card=None, device="cpu", batch_size=256):
    """A denoiser's report on a data set with clean vectors: ``{"snr": measure(...)}``, and
    the classification report (accuracy, per_snr, ...) when the model's kind has a
    classification stage and the card names its classes."""
    from ..ml import evaluation, inference, models
    from ..ml.signal import iq_to_complex

    if ds.clean is None:
        raise ValueError("measuring a denoiser needs clean vectors: use a data set made by "
                         "`rfml generate`")  # fmt: skip
    runner = inference.DenoiserRunner(model, ds.vector_length, device)
    iq, clean = iq_to_complex(ds.iq), iq_to_complex(ds.clean)
    denoised, _ = denoise_all(runner, iq, batch_size)
    report = {"snr": measure(denoised, iq, clean, ds.label, ds.snr_db, list(ds.classes))}
    module = models.get(models.kind_of(model))
    if card and card.get("classes") and any(s.select == "accuracy" for s in module.STAGES.values()):
        classifier = evaluation.runner(model, card["classes"], ds.vector_length)
        report.update(evaluation.evaluate(classifier, ds))
    return report


def plot_examples(iq, denoised, clean, label, snr_db, classes, snrs, folder, samples=160):
    """One picture per SNR: for one vector of each class, the noisy, denoised and clean
    constellations (on the clean vector's RMS scale) and the I trace of its first
    ``samples`` samples. Returns the paths written (``denomae_<snr>dB.png``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for snr in snrs:
        rows = [(c, np.flatnonzero((label == c) & (np.abs(snr_db - snr) < 0.5)))
                for c in range(len(classes))]  # fmt: skip
        rows = [(c, idx[0]) for c, idx in rows if len(idx)]
        if not rows:
            continue
        fig, axes = plt.subplots(len(rows), 4, figsize=(12, 2.6 * len(rows)),
                                 gridspec_kw={"width_ratios": [1, 1, 1, 2.2]})  # fmt: skip
        axes = np.atleast_2d(axes)
        for r, (c, i) in enumerate(rows):
            scale = np.sqrt(np.mean(np.abs(clean[i]) ** 2))
            vecs = (iq[i] / scale, denoised[i] / scale, clean[i] / scale)
            gains = [None, float(_gain(denoised[i], iq[i], clean[i])), None]
            for k, (name, z) in enumerate(zip(("noisy", "DenoMAE", "clean"), vecs, strict=True)):
                ax = axes[r, k]
                ax.plot(z.real, z.imag, ".", ms=1.5, alpha=0.5)
                ax.set_xlim(-3, 3)
                ax.set_ylim(-3, 3)
                ax.set_aspect("equal")
                ax.set_xticks([])
                ax.set_yticks([])
                title = name if gains[k] is None else f"{name} ({gains[k]:+.1f} dB)"
                ax.set_title(title if r == 0 or k == 1 else "", fontsize=9)
            axes[r, 0].set_ylabel(classes[c])
            ax = axes[r, 3]
            t = np.arange(samples)
            ax.plot(t, vecs[0][:samples].real, color="0.7", lw=0.8, label="noisy I")
            ax.plot(t, vecs[2][:samples].real, color="tab:green", lw=1.2, label="clean I")
            ax.plot(t, vecs[1][:samples].real, color="tab:blue", lw=1.0, ls="--",
                    label="DenoMAE I")  # fmt: skip
            ax.set_xlim(0, samples)
            if r == 0:
                ax.legend(fontsize=7, loc="upper right", ncol=3)
        fig.suptitle(f"DenoMAE denoiser at {snr:g} dB input SNR (one vector per class)")
        fig.tight_layout()
        path = folder / f"denomae_{snr:g}dB.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        written.append(path)
    return written


def _gain(estimate, iq, clean):
    """Output minus input SNR (dB) of one vector."""
    from ..dsp.denoise import output_snr_db

    return (output_snr_db(estimate[None], clean[None]) - output_snr_db(iq[None], clean[None]))[0]
