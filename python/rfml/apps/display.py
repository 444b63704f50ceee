# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml display`: the realtime classification display.

One transmitter (the class chooser picks it) runs in real time at ``--rate`` samples/s
through the simulated RF loopback and ``awgn_snr`` (the SNR slider sets it) into the TS-DDAE
classifier; the window shows the current label and class probabilities, a probability
waterfall, the constellation, the spectrum, the class activation maps of the latest vector
and the running accuracy against the true class carried by the stream tags.

``--screenshot F.png --seconds S`` runs headless (Qt's offscreen platform) for S seconds,
writes the window to F.png and prints the measured figures (vectors offered and classified
per second, accuracy); ``--json FILE`` writes them too.

Example::

    rfml display
    rfml display --class DQPSK --snr-db 0
    rfml display --cycle 10          # a new class every 10 s (unattended)
    rfml display --screenshot docs/realtime_display.png --seconds 20
"""

import argparse
import json
import os
import sys
import time

from ..ml.contract import CLASSES, DEFAULT_SAMPLE_RATE

WARM_UP_S = 2.0  # the classified rate is measured after this (model start-up, first batches)


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--class",
        dest="modulation",
        default="GFSK",
        choices=CLASSES,
        help="class transmitted first (default %(default)s)",
    )
    p.add_argument("--snr-db", type=float, default=10.0, help="first SNR (default %(default)s)")
    p.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_SAMPLE_RATE,
        help="samples per second offered (default %(default)g)",
    )
    p.add_argument(
        "--batch-size", type=int, default=256, help="classifier batch size (default %(default)s)"
    )
    p.add_argument("--model", default="", help="classifier checkpoint (default: shipped)")
    p.add_argument("--cam-model", default="", help="CAM model checkpoint (default: shipped)")
    p.add_argument("--no-cam", action="store_true", help="leave the CAM panel out")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default %(default)s: the flowgraph and the GUI need the other "
        "cores, and torch's idle threads spin on a busy CPU)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="stop after this many seconds (default: when the window closes)",
    )
    p.add_argument(
        "--cycle",
        type=float,
        default=None,
        metavar="S",
        help="step the class chooser to the next class every S seconds",
    )
    p.add_argument(
        "--screenshot",
        metavar="PNG",
        help="headless: write the window to PNG when --seconds are over",
    )
    p.add_argument("--json", metavar="FILE", help="write the measured figures to FILE")
    return p  # fmt: skip


def _application(headless):
    """The QApplication; offscreen (with a private runtime folder) when headless."""
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PyQt5 import QtCore

        from ..gui import cam_view

        def quiet(mode, context, message):  # the offscreen platform's notes are noise
            if "does not support propagateSizeHints" not in message:
                sys.stderr.write(message + "\n")

        QtCore.qInstallMessageHandler(quiet)
        return cam_view.ensure_gui()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RuntimeError(
            "no display (DISPLAY is not set): run rfml display on a desktop or over ssh -X, "
            "or render it headless with --screenshot FILE.png --seconds S"
        )
    from PyQt5 import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(["rfml display"])


def _cpu_seconds():
    """CPU time of this process so far, all threads (flowgraph, torch, GUI), user + system."""
    t = os.times()
    return t.user + t.system


def _torch_threads():
    import torch

    return torch.get_num_threads()


def figures(chain, window, seconds, warm=None):
    """The measured figures of a run, JSON-ready; ``warm`` = (monotonic time, vectors
    classified, CPU seconds) after the warm-up, from which the rates are measured (else
    from the start)."""
    offered = chain.sample_rate / chain.vector_length
    classified = chain.classifier.classified_count()
    t0, n0, cpu0 = warm if warm is not None else (time.monotonic() - seconds, 0, 0.0)
    wall = max(time.monotonic() - t0, 1e-9)
    score = window.score
    return {
        "seconds": seconds,
        "sample_rate": chain.sample_rate,
        "vector_length": chain.vector_length,
        "offered_vectors_per_s": offered,
        "classified_vectors": classified,
        "classified_vectors_per_s": (classified - n0) / wall,
        "cpu_cores_used": (_cpu_seconds() - cpu0) / wall,
        "torch_threads": _torch_threads(),
        "rate_measured_from_s": WARM_UP_S if warm is not None else 0.0,
        "scored_vectors": score.scored,
        "accuracy": score.accuracy() if score.scored else None,
        "per_class": {c: {"correct": int(score.per_class[i, 0]),
                          "scored": int(score.per_class[i, 1])}
                      for i, c in enumerate(chain.classes)},
    }  # fmt: skip


def main(args):
    if args.screenshot and not args.seconds:
        raise SystemExit("--screenshot needs --seconds S: how long to run before the picture")
    if args.seconds is not None and not args.seconds > 0:
        raise SystemExit(f"--seconds must be > 0, got {args.seconds}")
    if args.cycle is not None and not args.cycle > 0:
        raise SystemExit(f"--cycle must be > 0 seconds, got {args.cycle}")
    app = _application(headless=bool(args.screenshot))
    from gnuradio import gr

    from ..flowgraphs.display_chain import DisplayChain
    from ..gui.display import ClassificationDisplay
    from ..ml import inference

    gr.logging().set_default_level(gr.log_levels.warn)
    if args.threads < 1:
        raise SystemExit(f"--threads must be >= 1, got {args.threads}")
    import torch

    torch.set_num_threads(args.threads)
    chain = DisplayChain(
        args.modulation, args.snr_db, sample_rate=args.rate, batch_size=args.batch_size,
        model_path=args.model, device=args.device, seed=args.seed,
    )  # fmt: skip
    cam = None
    if not args.no_cam:
        cam, _ = inference.load_predictor(args.cam_model, kind="cam",
                                          vector_length=chain.vector_length,
                                          device=args.device)  # fmt: skip
    window = ClassificationDisplay(chain, cam)
    window.show()  # (offscreen when headless: laid out and drawn, never on a screen)
    chain.start()
    start = time.monotonic()
    warm = None  # (time, vectors classified) once the model has warmed up
    last_step = start
    try:
        while args.seconds is None or time.monotonic() - start < args.seconds:
            app.processEvents()
            if not args.screenshot and not window.isVisible():
                break
            if args.cycle and time.monotonic() - last_step >= args.cycle:
                window.step_class()
                last_step = time.monotonic()
            if warm is None and time.monotonic() - start >= WARM_UP_S:
                warm = (time.monotonic(), chain.classifier.classified_count(), _cpu_seconds())
            time.sleep(0.01)
        window.refresh()
        app.processEvents()
        result = figures(chain, window, time.monotonic() - start, warm)
        if args.screenshot:
            if not window.grab().save(args.screenshot, "PNG"):
                raise OSError(f"could not write {args.screenshot}: check the folder exists "
                              "and is writable")  # fmt: skip
    finally:
        chain.stop()
        chain.wait()
    print(f"{result['seconds']:.1f} s at {chain.sample_rate:g} samples/s: offered "
          f"{result['offered_vectors_per_s']:.0f} vectors/s, classified "
          f"{result['classified_vectors_per_s']:.0f} vectors/s (after the first "
          f"{result['rate_measured_from_s']:g} s), {result['cpu_cores_used']:.2f} CPU cores "
          "busy; accuracy "
          + (f"{100 * result['accuracy']:.1f}% of {result['scored_vectors']} tagged vectors"
             if result["accuracy"] is not None else "- (no tagged vectors)"))  # fmt: skip
    if args.screenshot:
        print(f"screenshot: {args.screenshot}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    sys.stdout.flush()
    return 0
