# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml capture`: record a loopback run to a SigMF recording with class/SNR annotations.

For each class and SNR value one segment is recorded through the flowgraph
``mod_source -> loopback -> awgn_snr -> file`` (after a warm-up of 32 symbols is skipped)
into ``OUT.sigmf-data``; ``OUT.sigmf-meta`` (SigMF, written and validated by the ``sigmf``
library) gets one annotation per segment: the class in ``core:label`` and
``signal:detail``, ``core:comment``, and in the ``gr_rfml`` extension the SNR, the class
index and the transmitter/loopback parameters (docs/sigmf.md lists every key). The SNR
holds for each ``gr_rfml:vector_length`` samples counted from the segment start.
``gnuradio.rfml.ml.datasets.read_dataset`` reads the recording back as labelled vectors.

Samples are ``cf32_le`` from the simulated loopback and ``ci16_le`` (the BladeRF's own
16-bit I/Q) from a BladeRF, unless ``--datatype`` says otherwise. Both files are written
under temporary names and renamed together at the end: a failed run leaves an earlier
recording of the same name as it was.

Example::

    rfml capture --out loop --classes GFSK,DQPSK --snr-db 0,20 --vectors 16
    rfml capture --out air --radio bladerf --device-args "driver=bladerf" --loopback-mode rf_bist
"""

import argparse
import inspect
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..ml.contract import CLASSES, DEFAULT_SAMPLES_PER_SYMBOL, DEFAULT_VECTOR_LENGTH
from . import UsageError, finite_float, positive_int

# ci16: the integer that stands for 1.0 when the recording's peak allows (the BladeRF's
# SC16_Q11 scale, so a radio's own samples come back as they left it); lower otherwise.
CI16_FULL_SCALE = 2048
_CHUNK = 1 << 20  # samples converted at a time
_NEED_SNR_VALUES = ("rfml capture records one segment per SNR value: give values, not a "
                    "range (e.g. --snr-db 0,10,20)")  # fmt: skip


def _loopback_default(name):
    """A default of the loopback block (one source of defaults)."""
    from ..loopback import loopback

    return inspect.signature(loopback.__init__).parameters[name].default


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
        "--vectors",
        type=positive_int,
        default=64,
        help="vectors per segment (default %(default)s)",
    )
    p.add_argument(
        "--length",
        type=positive_int,
        default=DEFAULT_VECTOR_LENGTH,
        help="vector length for the per-vector SNR (default %(default)s)",
    )
    p.add_argument(
        "--samples-per-symbol",
        type=positive_int,
        default=DEFAULT_SAMPLES_PER_SYMBOL,
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
    p.add_argument(
        "--center-freq",
        type=finite_float,
        default=None,
        help="BladeRF TX/RX centre frequency in Hz, recorded as core:frequency "
        "(default: the loopback block's center_freq)",
    )
    p.add_argument(
        "--datatype",
        choices=("auto", "cf32_le", "ci16_le"),
        default="auto",
        help="sample format: auto = ci16_le for --radio bladerf, cf32_le for sim",
    )
    return p  # fmt: skip


def _json_safe(rec):
    """The per-segment parameters as gr_rfml keys, leaving out those that do not apply."""
    from ..ml import sigmf

    out = {}
    for key, value in rec.items():
        if isinstance(value, float) and math.isnan(value):
            continue
        if key == "start" or (key in ("pulse", "ofdm_fft_len", "ofdm_cp_len") and value == -1):
            continue  # "start" is a per-vector index of data sets, not of segments
        out[sigmf.key(key)] = value
    return out


def _utc_now():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_ci16(src, dst):
    """Converts the cf32_le file ``src`` to ci16_le ``dst``; returns the full scale used.

    The integer standing for 1.0 is CI16_FULL_SCALE, or less when the peak of I or Q would
    not fit in 16 bits (then the peak maps to 32767). Non-finite samples cannot be stored.
    """
    samples = np.memmap(src, dtype="<c8", mode="r") if Path(src).stat().st_size else []
    peak = 0.0
    for i in range(0, len(samples), _CHUNK):
        part = samples[i : i + _CHUNK].view("<f4")
        if not np.all(np.isfinite(part)):
            raise RuntimeError("the recording holds NaN or Inf samples, which ci16 cannot "
                               "store: record with --datatype cf32_le")  # fmt: skip
        peak = max(peak, float(np.max(np.abs(part), initial=0.0)))
    full = min(CI16_FULL_SCALE, 32767 / peak) if peak > 0 else CI16_FULL_SCALE
    with open(dst, "wb") as f:
        for i in range(0, len(samples), _CHUNK):
            part = samples[i : i + _CHUNK].view("<f4").astype(np.float64) * full
            f.write(np.clip(np.round(part), -32768, 32767).astype("<i2").tobytes())
    return full


def _record(cfg, data, n_vectors, center_freq):
    """Runs one flowgraph per (class, SNR) job, appending cf32_le samples to ``data``.

    Returns the annotations (one per segment)."""
    from gnuradio import blocks, gr

    from ..awgn_snr import awgn_snr
    from ..flowgraphs.generation import draw_job_params
    from ..loopback import loopback
    from ..ml import sigmf
    from ..mod_source import mod_source

    Path(data).write_bytes(b"")
    annotations, start = [], 0
    n = n_vectors * cfg.length
    for job in cfg.jobs:
        rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(job.index,)))
        src_kw, imp_kw, rec, symbol_len = draw_job_params(cfg, job, rng)
        if cfg.radio == "bladerf":
            imp_kw = {"device_args": cfg.device_args, "loopback_mode": cfg.loopback_mode,
                      "sample_rate": cfg.sample_rate, "center_freq": center_freq,
                      "seed": imp_kw["seed"]}  # fmt: skip
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
            "core:comment": f"{name} at {job.snr:g} dB SNR",
            "signal:detail": sigmf.SIGNAL_DETAIL[name],
            sigmf.key("class_index"): job.label,
            sigmf.key("snr_db"): float(job.snr),
            **_json_safe(rec),
        })  # fmt: skip
        start += n
    size = Path(data).stat().st_size
    if size != start * 8:
        raise RuntimeError(f"the flowgraphs wrote {size // 8} samples, expected {start}")
    return annotations


def capture(cfg, out, n_vectors, datatype="auto", center_freq=None):
    """Records ``cfg``'s (class, SNR) segments to the SigMF recording ``out``.

    Args:
        cfg (generation.GenerationConfig): classes, SNR values, radio and seed (one job
            per class and SNR value; ``per_class`` must be 1).
        out (str | Path): recording base name.
        n_vectors (int): vectors of ``cfg.length`` samples per segment.
        datatype (str): ``"cf32_le"``, ``"ci16_le"`` or ``"auto"`` (ci16_le for a BladeRF).
        center_freq (float | None): BladeRF centre frequency in Hz (default the loopback
            block's); recorded as ``core:frequency``.

    Returns:
        (data path, meta path, metadata dict).

    Both files are renamed into place only when everything succeeded.
    """
    from .. import __version__, dsp
    from ..ml import sigmf
    from ..ml.fileio import atomic_outputs, temporary_name

    if not cfg.snr_db.values:
        raise ValueError(_NEED_SNR_VALUES)
    if datatype == "auto":
        datatype = "ci16_le" if cfg.radio == "bladerf" else "cf32_le"
    if datatype not in ("cf32_le", "ci16_le"):
        raise ValueError(f"datatype {datatype!r}: choose cf32_le or ci16_le")
    data_file, meta_file = sigmf.data_path(out), sigmf.meta_path(out)
    radio = cfg.radio if cfg.radio == "sim" else f"bladerf:{cfg.loopback_mode}"
    capture0 = {"core:sample_start": 0, "core:datetime": _utc_now()}
    if cfg.radio == "bladerf":
        if center_freq is None:
            center_freq = _loopback_default("center_freq")
        capture0["core:frequency"] = float(center_freq)
    fields = {
        "core:description": f"gr-rfml loopback capture ({radio})",
        "core:recorder": f"gr-rfml {__version__} (rfml capture)",
        "core:hw": "simulated RF loopback" if cfg.radio == "sim" else "Nuand bladeRF",
        sigmf.key("classes"): list(CLASSES),
        sigmf.key("vector_length"): cfg.length,
        sigmf.key("radio"): radio,
        sigmf.key("seed"): cfg.seed,
        sigmf.key("pulses"): list(dsp.PULSES),
    }
    with atomic_outputs(data_file, meta_file) as (data, meta):
        raw = data if datatype == "cf32_le" else temporary_name(data_file)
        try:
            annotations = _record(cfg, raw, n_vectors, center_freq)
            if datatype == "ci16_le":
                fields[sigmf.key("full_scale")] = to_ci16(raw, data)
        finally:
            if raw != data:
                raw.unlink(missing_ok=True)
        fields["core:description"] += f", {len(annotations)} segments"
        written = sigmf.write_meta(meta, data, datatype=datatype, sample_rate=cfg.sample_rate,
                                   annotations=annotations, captures=[capture0],
                                   global_fields=fields)  # fmt: skip
    return data_file, meta_file, written


def main(args):
    from ..flowgraphs.generation import GenerationConfig

    try:
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
        if not cfg.snr_db.values:
            raise ValueError(_NEED_SNR_VALUES)
    except ValueError as e:
        raise UsageError(str(e)) from e
    t0 = time.perf_counter()
    data, meta, written = capture(cfg, Path(args.out), args.vectors, args.datatype,
                                  args.center_freq)  # fmt: skip
    total = sum(a["core:sample_count"] for a in written["annotations"])
    print(f"recorded {total} samples in {len(written['annotations'])} segments "
          f"({written['global']['core:datatype']}, {time.perf_counter() - t0:.1f} s)")  # fmt: skip
    print(f"data: {data}")
    print(f"meta: {meta}")
    return 0
