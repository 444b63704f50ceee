# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench codec-rate`: what a codec's rate costs the classifier, beside classical codecs.

For every level of an HQARF checkpoint, on test sets of nominal and of randomised
transmitters (generated fresh with fixed seeds unless given):

- the compression ratio against complex64 (8 bytes per sample) and against 16-bit I/Q
  (4 bytes per sample, the BladeRF's native format), from the packets' bytes, headers
  included;
- the reconstruction SNR and EVM against the codec's input (medians over the vectors);
- the accuracy of the shipped (or given) classifier on the reconstructions, per SNR, beside
  its accuracy on the originals;

and, in the same run, the classical codecs of :mod:`gnuradio.rfml.dsp.codec` (scalar
quantisation, decimate-and-quantise, SVD truncation): of every setting within the codec's
range of rates, those on the SNR-versus-bytes front of their family are scored alike. At
each level, a family's figure is its best accuracy among settings that write no more bytes
than the level's packet. Plots of accuracy and SNR against the ratio go to ``--plots``.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

# The SNRs of the measurement and the one the goal is stated at.
SNRS = "-5,0,5,10,20"
GOAL_SNR = 10
GOAL_RATIO = 40.0
GOAL_KEPT = 0.95


def _test_sets():
    """{name: generation settings} of the HQARF recipe's test sets, which this bench shares."""
    from ..ml.recipes import CODEC_DATA

    return {"nominal": CODEC_DATA["codec_test_nom"], "randomized": CODEC_DATA["codec_test_rand"]}


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--model", default="", help="codec checkpoint (default: the shipped hqarf)")
    p.add_argument("--classifier", default="", help="classifier (default: the shipped tsddae)")
    p.add_argument("--classifier-kind", default="tsddae", help="its kind (%(default)s)")
    p.add_argument("--nominal", help="test set of nominal transmitters (default: generated)")
    p.add_argument("--randomized", help="test set of randomised transmitters (default: generated)")
    p.add_argument("--per-class", type=int, default=_test_sets()["nominal"]["per_class"],
                   help="generated vectors per class and SNR (%(default)s)")  # fmt: skip
    p.add_argument("--snr-db", default=SNRS, help="generated SNRs (%(default)s)")
    p.add_argument("--levels", default="", help="comma-separated levels (default: all)")
    p.add_argument("--plots", default="docs", help="folder of the plots ('' for none)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (%(default)s)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (%(default)s)")
    p.add_argument("--no-baselines", action="store_true", help="skip the classical codecs")
    return p


def generate_test_sets(per_class, snr_db, length, folder):
    """Fresh nominal and randomised test sets (fixed seeds) in ``folder``: {name: path}."""
    from ..flowgraphs.generation import GenerationConfig, generate

    paths = {}
    for name, settings in _test_sets().items():
        randomize = settings.get("randomize", False)
        cfg = GenerationConfig(per_class=per_class, snr_db=snr_db, length=length,
                               seed=settings["seed"], randomize=randomize)  # fmt: skip
        paths[name] = Path(folder) / f"codec_test_{name}.h5"
        generate(cfg, paths[name])
    return paths


def accuracy_by_snr(classifier, iq, label, snr_db):
    """{"<snr>": accuracy} of a classifier runner on complex vectors (B, L) (SNRs rounded)."""
    _, index = classifier.predict(iq)
    bins = np.round(snr_db).astype(int)
    return {str(s): float(np.mean(index[bins == s] == label[bins == s])) for s in np.unique(bins)}


def _reconstruction_figures(iq, out):
    from ..dsp.codec import evm_percent, snr_db

    return {
        "snr_db": round(float(np.median(snr_db(iq, out))), 2),
        "evm_percent": round(float(np.median(evm_percent(iq, out))), 2),
    }


def _ratios(total_bytes, n, length):
    return {
        "ratio_complex64": round(n * length * 8 / total_bytes, 2),
        "ratio_iq16": round(n * length * 4 / total_bytes, 2),
    }


def front(candidates, iq, lo, hi):
    """The settings of one baseline family worth scoring: bytes in [lo, hi] and no other
    setting with fewer or equal bytes and a higher median SNR. Returns [(codec, out, snr)]."""
    from ..dsp.codec import snr_db

    scored = []
    length = iq.shape[1]
    for c in candidates:
        if lo <= c.nbytes(length) <= hi:
            out, _ = c.roundtrip(iq)
            scored.append((c, out, float(np.median(snr_db(iq, out)))))
    scored.sort(key=lambda t: (t[0].nbytes(length), -t[2]))
    kept, best = [], -np.inf
    for item in scored:
        if item[2] > best:
            kept.append(item)
            best = item[2]
    return kept


def measure(pcodec, classifier, sets, levels, baselines=True, say=print):
    """The figures of the module docstring.

    Args:
        pcodec (ml.packet.PacketCodec): the codec under test.
        classifier (ml.inference.ClassifierRunner): the classifier scoring reconstructions.
        sets (dict[str, Dataset]): test sets by name (labels in the classifier's classes).
        levels (list[int]): codec levels to measure.
        baselines (bool): also score the classical codecs.
        say (callable): progress lines.
    """
    from ..dsp.codec import codec_grid

    length = pcodec.runner.vector_length
    data = {
        name: (ds.iq[:, 0] + 1j * ds.iq[:, 1]).astype(np.complex64) for name, ds in sets.items()
    }
    out = {"original": {}, "levels": {}, "baselines": {}, "at_level": {}}
    for name, ds in sets.items():
        out["original"][name] = accuracy_by_snr(classifier, data[name], ds.label, ds.snr_db)
    for level in levels:
        entry = {}
        for name, ds in sets.items():
            packets, _ = pcodec.compress(data[name], level)
            total = sum(len(p) for p in packets)
            rec = pcodec.decompress([pcodec.read(p) for p in packets])
            entry.setdefault("packet_bytes", len(packets[0]))
            entry.setdefault("bytes_written", 0)
            entry["bytes_written"] += total
            entry.setdefault("vectors", 0)
            entry["vectors"] += len(packets)
            entry[name] = {
                **_reconstruction_figures(data[name], rec),
                "accuracy": accuracy_by_snr(classifier, rec, ds.label, ds.snr_db),
            }
        entry.update(_ratios(entry["bytes_written"], entry["vectors"], length))
        out["levels"][f"L{level}"] = entry
        say(f"L{level}: {entry['packet_bytes']} bytes, {entry['ratio_iq16']}:1 vs 16-bit I/Q")
    if not baselines:
        return out
    sizes = [e["packet_bytes"] for e in out["levels"].values()]
    lo, hi = min(sizes) / 2, max(sizes)
    pooled = np.concatenate(list(data.values()))
    for family, candidates in codec_grid(length).items():
        for c, _, _ in front(candidates, pooled, lo, hi):
            entry = {"method": family, "bytes": c.nbytes(length)}
            entry.update(_ratios(c.nbytes(length), 1, length))
            for name, ds in sets.items():
                rec, _ = c.roundtrip(data[name])
                entry[name] = {
                    **_reconstruction_figures(data[name], rec),
                    "accuracy": accuracy_by_snr(classifier, rec, ds.label, ds.snr_db),
                }
            out["baselines"][c.name] = entry
            say(f"{c.name}: {entry['ratio_iq16']}:1, nominal {entry['nominal']['accuracy']}")
    for level, entry in out["levels"].items():
        out["at_level"][level] = compare_at(entry, out["baselines"], out["original"])
    return out


def _at(acc, snr=GOAL_SNR):
    return acc.get(str(snr), float("nan"))


def compare_at(entry, baselines, original):
    """At one level: the codec's accuracy at GOAL_SNR per set, the share of the originals'
    accuracy it keeps, and each baseline family's best setting within the packet's bytes."""
    sets = list(original)
    res = {"codec": {s: _at(entry[s]["accuracy"]) for s in sets}}
    res["kept"] = {s: res["codec"][s] / _at(original[s]) for s in sets}
    for name, b in baselines.items():
        if b["bytes"] > entry["packet_bytes"]:
            continue
        score = {s: _at(b[s]["accuracy"]) for s in sets}
        best = res.get(b["method"])
        if best is None or np.mean(list(score.values())) > np.mean(list(best["accuracy"].values())):
            res[b["method"]] = {"setting": name, "bytes": b["bytes"], "accuracy": score}
    others = [v["accuracy"] for k, v in res.items() if k not in ("codec", "kept")]
    res["beats_baselines"] = all(res["codec"][s] > o[s] for o in others for s in sets)
    return res


def goal(result):
    """The issue's goal: at >= 40:1 against 16-bit I/Q, keep >= 95% of the accuracy on
    originals at 10 dB and beat every baseline; the first level that meets the ratio."""
    for level, entry in result["levels"].items():
        if entry["ratio_iq16"] >= GOAL_RATIO:
            at = result["at_level"].get(level)
            if at is None:
                return {"level": level, "ratio_iq16": entry["ratio_iq16"]}
            return {
                "level": level,
                "ratio_iq16": entry["ratio_iq16"],
                "kept": at["kept"],
                "kept_goal_met": all(v >= GOAL_KEPT for v in at["kept"].values()),
                "beats_baselines": at["beats_baselines"],
            }
    return {"level": None}


def plot(result, folder, name="hqarf"):
    """Accuracy at GOAL_SNR and reconstruction SNR against the ratio (16-bit I/Q), codec
    levels and baselines, one panel per test set. Returns the PNG paths."""
    from ..ml.plots import _pyplot

    plt = _pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sets = list(result["original"])
    paths = []
    for what, ylabel, fname in (
        ("accuracy", f"classifier accuracy at {GOAL_SNR} dB (%)", "rate_accuracy"),
        ("snr_db", "reconstruction SNR vs input (dB)", "rate_snr"),
    ):
        fig, axes = plt.subplots(1, len(sets), figsize=(5.2 * len(sets), 4.0), dpi=110,
                                 squeeze=False)  # fmt: skip
        for ax, s in zip(axes[0], sets, strict=True):

            def value(e, s=s, what=what):
                v = e[s][what]
                return 100 * _at(v) if what == "accuracy" else v

            lv = result["levels"]
            ax.plot([e["ratio_iq16"] for e in lv.values()], [value(e) for e in lv.values()],
                    "o-", color="k", lw=2, label=f"{name} (L0..L4)")  # fmt: skip
            for level, e in lv.items():
                ax.annotate(level, (e["ratio_iq16"], value(e)), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")  # fmt: skip
            for family, style in (("scalar", "s--"), ("decimate", "^--"), ("svd", "v--")):
                pts = sorted((b["ratio_iq16"], value(b)) for b in result["baselines"].values()
                             if b["method"] == family)  # fmt: skip
                if pts:
                    ax.plot(*zip(*pts, strict=True), style, ms=4, label=family)
            if what == "accuracy":
                orig = 100 * _at(result["original"][s])
                ax.axhline(orig, color="g", lw=1, label="originals")
                ax.axhline(GOAL_KEPT * orig, color="g", lw=1, ls=":", label="95% of originals")
                ax.set_ylim(0, 101)
            ax.axvline(GOAL_RATIO, color="r", lw=1, ls=":", label=f"{GOAL_RATIO:.0f}:1")
            ax.set_xscale("log")
            ax.set_xlabel("compression ratio vs 16-bit I/Q (bytes written)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{s} transmitters", fontsize=10)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"{name}_{fname}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(str(path))
    return paths


def load(args):
    """(PacketCodec, codec card, classifier runner) of the command line."""
    from ..ml.inference import load_predictor
    from ..ml.packet import load_codec

    pcodec, card = load_codec(args.model, device=args.device)
    runner = pcodec.runner
    classifier, _ = load_predictor(
        args.classifier,
        kind=args.classifier_kind,
        vector_length=runner.vector_length,
        device=args.device,
    )
    return pcodec, card, classifier


def recipe_metrics(args, model_path, tests):
    """The codec's figures for its card (``rfml train reproduce``): the measurement of
    :func:`run` on the recipe's test sets, plots in ``args.docs_dir``."""
    margs = get_args_parser().parse_args([])
    margs.model, margs.device, margs.threads = str(model_path), args.device, args.threads
    margs.nominal, margs.randomized = str(tests["nominal"]), str(tests["randomized"])
    margs.plots = str(args.docs_dir)
    return {"codec_rate": run(margs)}


def run(args):
    from ..ml import loading
    from ..ml.evaluation import map_labels
    from ..ml.train import set_threads

    set_threads(args.threads)
    t0 = time.perf_counter()
    pcodec, card, classifier = load(args)
    levels = [int(v) for v in args.levels.split(",")] if args.levels else list(pcodec.levels)
    for level in levels:
        pcodec.check_level(level)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"nominal": args.nominal, "randomized": args.randomized}
        if not all(paths.values()):
            made = generate_test_sets(args.per_class, args.snr_db, pcodec.runner.vector_length, tmp)
            paths = {k: v or made[k] for k, v in paths.items()}
        sets = {}
        for name, path in paths.items():
            ds = loading.load_data(path)
            ds.label = map_labels(ds, classifier.classes)
            sets[name] = ds
    result = measure(pcodec, classifier, sets, levels, baselines=not args.no_baselines)
    result["goal"] = goal(result)
    result["model"] = args.model or "shipped hqarf_small"
    result["model_id"] = pcodec.model_id.hex()
    result["test_sets"] = {
        k: f"{len(v)} vectors, {v.attrs.get('seed', '')}" for k, v in sets.items()
    }
    if args.plots:
        result["plots"] = plot(result, args.plots)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result
