# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml capture`: record a loopback run to a SigMF recording with class/SNR annotations.

For each class and SNR value one segment is recorded through the flowgraph
``mod_source -> loopback -> awgn_snr -> file`` (after a warm-up of 32 symbols is skipped)
and appended to ``OUT.sigmf-data`` (cf32_le); ``OUT.sigmf-meta`` gets one annotation per
segment: ``core:label`` (the class), ``rfml:snr_db``, ``rfml:class_index`` and the
transmitter/loopback parameters. The SNR holds for each ``rfml:vector_length`` samples
counted from the segment start. ``gnuradio.rfml.ml.datasets.read_dataset`` reads the
recording back as labelled vectors.

Example::

    rfml capture --out loop --classes GFSK,DQPSK --snr-db 0,20 --vectors 16
    rfml capture --out air --radio bladerf --device-args "driver=bladerf" --loopback-mode rf_bist
"""

import argparse
import math
import time
from pathlib import Path

from ..ml.contract import CLASSES, DEFAULT_VECTOR_LENGTH


def get_args_parser():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--out",
        required=True,
        help="recording base name (writes OUT.sigmf-data and OUT.sigmf-meta)",
    )
    p.add_argument(
        "--classes",
        default=",".join(CLASSES),
        help="comma-separated classes (default all: %(default)s)",
    )
    p.add_argument(
        "--snr-db",
        default="20",
        help="comma-separated SNR values in dB "
        "(one segment per class and value; default %(default)s)",
    )
    p.add_argument(
        "--vectors", type=int, default=64, help="vectors per segment (default %(default)s)"
    )
    p.add_argument(
        "--length",
        type=int,
        default=DEFAULT_VECTOR_LENGTH,
        help="vector length for the per-vector SNR (default %(default)s)",
    )
    p.add_argument(
        "--samples-per-symbol",
        type=int,
        default=10,
        help="single-carrier samples per symbol (default %(default)s)",
    )
    p.add_argument(
        "--radio",
        choices=("sim", "bladerf"),
        default="sim",
        help="simulated loopback or a BladeRF in loopback (default %(default)s)",
    )
    p.add_argument(
        "--impairments",
        choices=("typical", "none"),
        default="typical",
        help="sim loopback profile (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    p.add_argument("--device-args", default="", help="BladeRF device string")
    p.add_argument(
        "--loopback-mode", default="firmware", help="BladeRF loopback mode (default %(default)s)"
    )
    return p  # fmt: skip


def _json_safe(rec):
    out = {}
    for key, value in rec.items():
        if isinstance(value, float) and math.isnan(value):
            continue
        if key in ("pulse", "ofdm_fft_len", "ofdm_cp_len", "job") and value == -1:
            continue
        out[f"rfml:{key}"] = value
    return out


def capture(cfg, out, n_vectors):
    """Records ``cfg``'s (class, SNR) segments to the SigMF recording ``out``.

    Args:
        cfg (generation.GenerationConfig): classes, SNR values, radio and seed (one job
            per class and SNR value; ``per_class`` must be 1).
        out (str | Path): recording base name.
        n_vectors (int): vectors of ``cfg.length`` samples per segment.

    Returns:
        (data path, meta path, annotations).
    """
    import numpy as np
    from gnuradio import blocks, gr

    from .. import __version__, dsp
    from ..awgn_snr import awgn_snr
    from ..flowgraphs.generation import draw_job_params
    from ..loopback import loopback
    from ..ml import sigmf
    from ..mod_source import mod_source

    if not cfg.snr_db.values:
        raise ValueError("rfml capture records one segment per SNR value: give values, "
                         "not a range (e.g. --snr-db 0,10,20)")  # fmt: skip
    data = sigmf.data_path(out)
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_bytes(b"")
    annotations, start = [], 0
    n = n_vectors * cfg.length
    for job in cfg.jobs:
        rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(job.index,)))
        src_kw, imp_kw, rec, symbol_len = draw_job_params(cfg, job, rng)
        if cfg.radio == "bladerf":
            imp_kw = {"device_args": cfg.device_args, "loopback_mode": cfg.loopback_mode,
                      "sample_rate": cfg.sample_rate, "seed": imp_kw["seed"]}  # fmt: skip
        tb = gr.top_block("rfml_capture")
        noise = awgn_snr(job.snr, cfg.length, int(rng.integers(2**31 - 1)))
        sink = blocks.file_sink(gr.sizeof_gr_complex, str(data), True)
        sink.set_unbuffered(False)
        chain = [  # kept referenced while the flowgraph runs (Python blocks inside)
            mod_source(**src_kw),
            loopback(radio=cfg.radio, **imp_kw),
            blocks.skiphead(gr.sizeof_gr_complex, 32 * symbol_len),
            noise,
            blocks.head(gr.sizeof_gr_complex, n),
            sink,
        ]
        tb.connect(*chain)
        tb.connect((noise, 1), blocks.null_sink(gr.sizeof_gr_complex))
        tb.run()
        sink.close()
        name = CLASSES[job.label]
        annotations.append({
            "core:sample_start": start,
            "core:sample_count": n,
            "core:label": name,
            "core:description": f"{name} at {job.snr:g} dB SNR",
            "rfml:class_index": job.label,
            "rfml:snr_db": job.snr,
            **_json_safe(rec),
        })  # fmt: skip
        start += n
    if data.stat().st_size != start * 8:
        raise RuntimeError(f"{data} holds {data.stat().st_size // 8} samples, expected {start}")
    radio = cfg.radio if cfg.radio == "sim" else f"bladerf:{cfg.loopback_mode}"
    meta = sigmf.write_meta(
        out,
        cfg.sample_rate,
        annotations,
        **{
            "core:description": f"gr-rfml loopback capture ({radio}), {len(annotations)} segments",
            "core:recorder": f"gr-rfml {__version__} (rfml capture)",
            "core:hw": "simulated RF loopback" if cfg.radio == "sim" else "Nuand bladeRF",
            "rfml:classes": list(CLASSES),
            "rfml:vector_length": cfg.length,
            "rfml:radio": radio,
            "rfml:seed": cfg.seed,
            "rfml:pulses": list(dsp.PULSES),
        },
    )
    return data, meta, annotations


def main(args):
    from ..flowgraphs.generation import GenerationConfig

    cfg = GenerationConfig(
        classes=tuple(c.strip() for c in args.classes.split(",") if c.strip()),
        per_class=1,
        snr_db=args.snr_db,
        length=args.length,
        samples_per_symbol=args.samples_per_symbol,
        radio=args.radio,
        impairments=args.impairments,
        seed=args.seed,
        device_args=args.device_args,
        loopback_mode=args.loopback_mode,
    )
    t0 = time.perf_counter()
    data, meta, annotations = capture(cfg, Path(args.out), args.vectors)
    total = sum(a["core:sample_count"] for a in annotations)
    print(f"recorded {total} samples in {len(annotations)} segments "
          f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    print(f"data: {data}")
    print(f"meta: {meta}")
    return 0
