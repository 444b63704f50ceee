# SPDX-License-Identifier: GPL-3.0-or-later
"""Data set generation, part 1: the configuration and the per-job parameter draws.

GNU-Radio-free: what a data set holds (classes, SNRs, vector length, seeds, shards) and
what each job draws (transmitter and loopback parameters, vector positions).
"""

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ... import dsp
from ...ml import contract

# Defaults: the protocol of cae-cam-bladerf.md (Table 1: 10 samples per symbol, 10000 vectors
# per class; SNRs of its figure 2) scaled down 50x, at the shipped models' vector length
# (the report's is 225).
DEFAULT_PER_CLASS = 200
DEFAULT_SNR_DB = "-5,0,5,10,20"
DEFAULT_LENGTH = contract.DEFAULT_VECTOR_LENGTH

# The simulated loopback's "typical" profile: what a BladeRF's internal RF loopback adds.
# TX and RX share one reference clock, so carrier and sample-clock offsets are tiny; the
# analog path adds mild phase noise, IQ imbalance and DC offset. One draw per job:
# name -> (low, high), uniform.
TYPICAL_IMPAIRMENTS = {
    "freq_offset": (-2e-5, 2e-5),  # cycles/sample
    "timing_drift_ppm": (-0.5, 0.5),
    "phase_noise_std": (0.0, 1e-3),  # rad/sqrt(sample)
    "iq_gain_db": (-0.3, 0.3),
    "iq_phase_deg": (-2.0, 2.0),
    "dc_offset": (0.0, 0.02),  # magnitude, random angle
}

# Ranges of --randomize (DESIGN.md: what real transmitters vary). name -> (low, high).
RANDOM_RANGES = {
    "samples_per_symbol": (4.0, 16.0),
    "excess_bw": (0.1, 0.5),  # roll-off of rrc pulses
    "bt": (0.1, 0.5),  # GFSK/GMSK and gaussian pulses
    "mod_index": (0.1, 1.0),  # GFSK
    "ofdm_fft_len": (64, 256),  # powers of two
    "ofdm_cp_fraction": (1 / 16, 1 / 4),  # cyclic prefix / FFT length, powers of two
    "ofdm_occupied": (0.6, 0.9),  # fraction of the carriers used
    "freq_offset": (-0.03, 0.03),  # cycles/sample
    "timing_drift_ppm": (-50.0, 50.0),
    "phase_noise_std": (0.0, 5e-3),
    "iq_gain_db": (-1.0, 1.0),
    "iq_phase_deg": (-5.0, 5.0),
    "dc_offset": (0.0, 0.05),
}

# Ranges that cover what other people's transmitters vary (issue: a classifier must be right
# about them, not only about ours). Entries (low, high, "log") are drawn log-uniformly.
# Occupied bandwidth runs from a few percent of the sample rate to most of it for every
# class: single-carrier classes through 2..32 samples per symbol, OFDM by resampling its
# output by 1..20. GFSK and GMSK meet at modulation index 0.5 (GMSK is GFSK with h = 0.5):
# our GMSK class is h = 0.5 at any BT in 0.1..0.5, our GFSK class h in 0.1..1.0 outside the
# band GFSK_GMSK_GAP around 0.5, which training leaves out and a test suite scores alone.
WIDE_RANGES = {
    "samples_per_symbol": (2.0, 32.0, "log"),
    "excess_bw": (0.1, 0.5),
    "bt": (0.1, 0.5),
    "mod_index": (0.1, 1.0),
    "mod_index_gap": (0.4, 0.6),
    "ofdm_fft_len": (64, 256),
    "ofdm_cp_fraction": (1 / 16, 1 / 4),
    "ofdm_occupied": (0.6, 0.9),
    "ofdm_oversample": (1.0, 20.0, "log"),
    "freq_offset": (-0.03, 0.03),
    "timing_drift_ppm": (-50.0, 50.0),
    "phase_noise_std": (0.0, 5e-3),
    "iq_gain_db": (-1.0, 1.0),
    "iq_phase_deg": (-5.0, 5.0),
    "dc_offset": (0.0, 0.05),
}
GFSK_GMSK_GAP = WIDE_RANGES["mod_index_gap"]

# Named sets of ranges for randomize=True: "v1" (the first randomised transmitters; its GFSK
# index runs through the GMSK boundary), "v2" (v1 with the boundary: GFSK outside
# GFSK_GMSK_GAP) and "wide".
RANGE_SETS = {
    "v1": RANDOM_RANGES,
    "v2": {**RANDOM_RANGES, "mod_index_gap": GFSK_GMSK_GAP},
    "wide": WIDE_RANGES,
}

# OFDM resampling is done with a rational resampler of denominator OVERSAMPLE_DENOMINATOR.
OVERSAMPLE_DENOMINATOR = 4

# Per-vector parameters written under params/ (NaN / -1 where a class has no such thing).
PARAM_DTYPES = {
    "samples_per_symbol": np.float32,
    "pulse": np.int8,  # index into dsp.PULSES, -1 for FSK and OFDM
    "excess_bw": np.float32,
    "bt": np.float32,
    "mod_index": np.float32,
    "ofdm_fft_len": np.int32,
    "ofdm_cp_len": np.int32,
    "ofdm_occupied": np.float32,
    "ofdm_oversample": np.float32,  # output samples per ofdm_tx sample (resampled)
    "freq_offset": np.float32,
    "phase": np.float32,
    "timing_drift_ppm": np.float32,
    "phase_noise_std": np.float32,
    "iq_gain_db": np.float32,
    "iq_phase_deg": np.float32,
    "dc_offset_re": np.float32,
    "dc_offset_im": np.float32,
    "start": np.int64,  # sample index of the vector in its job's stream
    "job": np.int32,
}

SINGLE_CARRIER_PULSED = ("OOK", "DBPSK", "DQPSK")


@dataclass(frozen=True)
class SnrSpec:
    """A list of SNR values (vectors are generated for each) or a uniform range.

    Args:
        values (tuple[float, ...]): the SNR values in dB; empty for a range.
        low (float): range low end (dB), when ``values`` is empty.
        high (float): range high end (dB).
    """

    values: tuple = ()
    low: float = 0.0
    high: float = 0.0

    @classmethod
    def parse(cls, text):
        """``"-10,0,20"`` (values), ``"-10:20"`` (uniform range), ``"-20:18:2"`` (stepped)."""
        text = str(text).strip()
        try:
            if ":" in text:
                parts = [float(p) for p in text.split(":")]
                if len(parts) == 2:
                    if parts[0] > parts[1]:
                        raise ValueError
                    return cls((), parts[0], parts[1])
                lo, hi, step = parts
                if step <= 0 or lo > hi:
                    raise ValueError
                return cls(tuple(float(v) for v in np.arange(lo, hi + step / 2, step)))
            return cls(tuple(float(p) for p in text.split(",")))
        except ValueError:
            raise ValueError(
                f"cannot read SNR {text!r}: give dB values '-10,0,20', a uniform range "
                "'-10:20' or a stepped list '-20:18:2'"
            ) from None

    @property
    def points(self):
        """One entry per generated SNR group: a value, or None for the range."""
        return self.values if self.values else (None,)

    def __str__(self):
        if self.values:
            return ",".join(f"{v:g}" for v in self.values)
        return f"{self.low:g}:{self.high:g}"


def resolve_ranges(ranges):
    """The ranges dict of a RANGE_SETS name, or of ``{"base": name, key: (low, high), ...}``
    (ValueError naming the choices for an unknown name or range)."""
    spec = {"base": ranges} if isinstance(ranges, str) else dict(ranges)
    base = spec.pop("base", "v1")
    if base not in RANGE_SETS:
        raise ValueError(f"unknown ranges {base!r}: choose one of {', '.join(RANGE_SETS)}")
    out = dict(RANGE_SETS[base])
    unknown = sorted(set(spec) - set(out))
    if unknown:
        raise ValueError(f"ranges {unknown} are not in {base!r}: choose from {sorted(out)}")
    for key, value in spec.items():
        out[key] = None if value is None else tuple(value)
    return out


@dataclass
class GenerationConfig:
    """Everything that defines a generated data set (shared by the CLI and the Python API).

    Args:
        classes (tuple[str, ...]): class names from ``ml.contract.CLASSES``.
        per_class (int): vectors per class for each SNR value (a range counts as one value).
        snr_db (str | SnrSpec): see :meth:`SnrSpec.parse`.
        length (int): samples per vector L.
        samples_per_symbol (int): nominal samples per symbol (single-carrier classes).
        radio (str): ``"sim"`` or ``"bladerf"``.
        impairments (str): sim loopback profile, ``"typical"`` or ``"none"`` (identity).
        randomize (bool): draw transmitter and loopback parameters per job.
        ranges (str | dict): the ranges drawn from with ``randomize``: a name of
            RANGE_SETS, or a dict ``{"base": name, <range name>: (low, high), ...}`` that
            replaces some ranges of a named set (test suites use it).
        seed (int): master seed.
        shard (tuple[int, int]): ``(i, n)``: generate the i-th of n shards.
        chunk (int | None): vectors per job (one flowgraph branch, one parameter draw);
            None = 256, or 16 with ``randomize`` (more draws).
        parallel (int): jobs run side by side in one flowgraph.
        workers (int): processes running flowgraphs (each has its own Python GIL, which the
            blocks' numpy work contends for); 1 = all in this process. The file does not
            depend on it.
        device_args (str): BladeRF device string (radio="bladerf").
        loopback_mode (str): BladeRF loopback mode (radio="bladerf").
    """

    classes: tuple = contract.CLASSES
    per_class: int = DEFAULT_PER_CLASS
    snr_db: object = DEFAULT_SNR_DB
    length: int = DEFAULT_LENGTH
    samples_per_symbol: int = contract.DEFAULT_SAMPLES_PER_SYMBOL
    radio: str = "sim"
    impairments: str = "typical"
    randomize: bool = False
    ranges: object = "v1"
    seed: int = 0
    shard: tuple = (0, 1)
    chunk: int = None
    parallel: int = 6
    workers: int = 1
    device_args: str = ""
    loopback_mode: str = "firmware"
    sample_rate: float = contract.DEFAULT_SAMPLE_RATE
    jobs: list = field(default=None, init=False, repr=False)
    random_ranges: dict = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.classes = tuple(contract.CLASSES[contract.class_index(c)] for c in self.classes)
        if not isinstance(self.snr_db, SnrSpec):
            self.snr_db = SnrSpec.parse(self.snr_db)
        i, n = self.shard
        if not (n >= 1 and 0 <= i < n):
            raise ValueError(f"shard {i}/{n}: need 0 <= i < n")
        if self.chunk is None:
            self.chunk = 16 if self.randomize else 256
        for name in ("per_class", "length", "chunk", "parallel", "workers"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.radio not in ("sim", "bladerf"):
            raise ValueError(f"radio must be 'sim' or 'bladerf', got {self.radio!r}")
        if self.impairments not in ("typical", "none"):
            raise ValueError(f"impairments must be 'typical' or 'none', got {self.impairments!r}")
        if self.samples_per_symbol < 2:
            raise ValueError(f"samples_per_symbol must be >= 2, got {self.samples_per_symbol}")
        self.random_ranges = resolve_ranges(self.ranges)
        self.jobs = _plan(self)

    @property
    def n_vectors(self):
        return sum(job.n for job in self.jobs)

    def attrs(self):
        """The HDF5 attributes of the data set (DESIGN.md contract + every parameter)."""
        from ... import __version__

        generation = {
            k: v
            for k, v in asdict(self).items()
            if k not in ("jobs", "classes", "device_args", "parallel", "workers", "ranges")
        }
        generation["generated_classes"] = list(self.classes)  # `classes` is always all six
        generation["snr_db"] = str(self.snr_db)
        generation["shard"] = f"{self.shard[0]}/{self.shard[1]}"
        if self.randomize:
            generation["ranges"] = self.ranges if isinstance(self.ranges, str) else "custom"
            generation["random_ranges"] = self.random_ranges
        elif self.radio == "sim" and self.impairments == "typical":
            generation["impairment_ranges"] = TYPICAL_IMPAIRMENTS
        radio = self.radio if self.radio == "sim" else f"bladerf:{self.loopback_mode}"
        return {
            "sample_rate": float(self.sample_rate),
            "samples_per_symbol": math.nan if self.randomize else float(self.samples_per_symbol),
            "radio": radio,
            "seed": int(self.seed),
            "module_version": __version__,
            "generation": generation,
        }


@dataclass(frozen=True)
class Job:
    index: int  # global job index: the seed's spawn key
    label: int  # index into contract.CLASSES
    snr: object  # a float, or None for the range
    n: int  # vectors
    row: int  # first row in this shard's file


def _plan(cfg):
    jobs = []
    per_group = math.ceil(cfg.per_class / cfg.chunk)
    j = 0
    for name in cfg.classes:
        for snr in cfg.snr_db.points:
            for k in range(per_group):
                n = min(cfg.chunk, cfg.per_class - k * cfg.chunk)
                jobs.append((j, contract.class_index(name), snr, n))
                j += 1
    i, n_shards = cfg.shard
    mine = jobs[i * len(jobs) // n_shards : (i + 1) * len(jobs) // n_shards]
    out, row = [], 0
    for j, label, snr, n in mine:
        out.append(Job(j, label, snr, n, row))
        row += n
    return out


# --------------------------------------------------------------------------- parameter draws


def _uniform(rng, name, ranges):
    """A draw from ranges[name]: uniform, or log-uniform for (low, high, "log")."""
    lo, hi, *scale = ranges[name]
    if scale == ["log"]:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return float(rng.uniform(lo, hi))


def _uniform_outside(rng, name, gap, ranges):
    """A uniform draw from ranges[name] leaving out the interval ``gap`` (None: no gap)."""
    lo, hi = ranges[name][:2]
    if gap is None:
        return float(rng.uniform(lo, hi))
    g0, g1 = max(lo, gap[0]), min(hi, gap[1])
    u = rng.uniform(lo, hi - (g1 - g0))
    return float(u if u < g0 else u + (g1 - g0))


def _oversample(rng, ranges):
    """An OFDM resampling factor p / OVERSAMPLE_DENOMINATOR >= 1 from ranges["ofdm_oversample"]."""
    q = OVERSAMPLE_DENOMINATOR
    return max(q, round(_uniform(rng, "ofdm_oversample", ranges) * q)) / q


def _pow2(rng, lo, hi):
    return 2.0 ** int(rng.integers(round(math.log2(lo)), round(math.log2(hi)) + 1))


def draw_job_params(cfg, job, rng):
    """Transmitter and loopback parameters of one job (constant over its vectors).

    Returns:
        (source_kwargs, impairment_kwargs, record): keyword arguments for ``mod_source``
        and ``loopback``, and the values to store per vector (PARAM_DTYPES names).
    """
    name = contract.CLASSES[job.label]
    rec = {k: (-1 if np.dtype(t).kind == "i" else math.nan) for k, t in PARAM_DTYPES.items()}
    src = {"modulation": name}
    ranges = cfg.random_ranges
    sps = cfg.samples_per_symbol
    oversample = 1.0
    if cfg.randomize:
        sps = _uniform(rng, "samples_per_symbol", ranges)
    if name == "OFDM":
        fft = int(_pow2(rng, *ranges["ofdm_fft_len"])) if cfg.randomize else 64
        cp_frac = _pow2(rng, *ranges["ofdm_cp_fraction"]) if cfg.randomize else 0.25
        occupied = _uniform(rng, "ofdm_occupied", ranges) if cfg.randomize else 52 / 64
        cp = int(fft * cp_frac)
        if cfg.randomize and "ofdm_oversample" in ranges:
            oversample = _oversample(rng, ranges)
        src.update(ofdm_fft_len=fft, ofdm_cp_len=cp, ofdm_occupied=occupied)
        rec.update(ofdm_fft_len=fft, ofdm_cp_len=cp, ofdm_occupied=occupied,
                   ofdm_oversample=oversample)  # fmt: skip
    else:
        src["samples_per_symbol"] = sps
        rec["samples_per_symbol"] = sps
    if name in SINGLE_CARRIER_PULSED and cfg.randomize:
        pulse = dsp.PULSES[int(rng.integers(len(dsp.PULSES)))]
        src.update(pulse=pulse, excess_bw=_uniform(rng, "excess_bw", ranges))
        src["bt"] = _uniform(rng, "bt", ranges)
    elif name in SINGLE_CARRIER_PULSED:
        pulse = "rect" if name == "OOK" else "rrc"
    if name in SINGLE_CARRIER_PULSED:
        rec["pulse"] = dsp.PULSES.index(pulse)
        if pulse == "rrc":
            rec["excess_bw"] = src.get("excess_bw", 0.35)
        if pulse == "gaussian":
            rec["bt"] = src["bt"]
    if name in ("GFSK", "GMSK"):
        src["bt"] = _uniform(rng, "bt", ranges) if cfg.randomize else 0.35
        rec["bt"] = src["bt"]
    if name == "GFSK":
        src["mod_index"] = (
            _uniform_outside(rng, "mod_index", ranges.get("mod_index_gap"), ranges)
            if cfg.randomize
            else 1.0
        )
        rec["mod_index"] = src["mod_index"]
    if name == "GMSK":
        rec["mod_index"] = 0.5
    src["seed"] = int(rng.integers(2**31 - 1))

    imp = {"phase": float(rng.uniform(0, 2 * np.pi))}
    ranges = ranges if cfg.randomize else TYPICAL_IMPAIRMENTS
    if cfg.randomize or (cfg.radio == "sim" and cfg.impairments == "typical"):
        for key in ("freq_offset", "timing_drift_ppm", "phase_noise_std"):
            imp[key] = _uniform(rng, key, ranges)
        imp["iq_gain_db"] = _uniform(rng, "iq_gain_db", ranges)
        imp["iq_phase_deg"] = _uniform(rng, "iq_phase_deg", ranges)
        dc = _uniform(rng, "dc_offset", ranges) * np.exp(2j * np.pi * rng.uniform())
        imp["dc_offset"] = complex(dc)
    elif cfg.impairments == "none" and cfg.radio == "sim":
        imp["phase"] = 0.0
    imp["seed"] = int(rng.integers(2**31 - 1))
    for key in ("freq_offset", "phase", "timing_drift_ppm", "phase_noise_std"):
        rec[key] = imp.get(key, 0.0)
    rec["iq_gain_db"] = imp.get("iq_gain_db", 0.0)
    rec["iq_phase_deg"] = imp.get("iq_phase_deg", 0.0)
    rec["dc_offset_re"] = imp.get("dc_offset", 0j).real
    rec["dc_offset_im"] = imp.get("dc_offset", 0j).imag
    rec["job"] = job.index
    symbol_len = math.ceil((fft + cp) * oversample) if name == "OFDM" else int(math.ceil(sps))
    return src, imp, rec, symbol_len


def vector_starts(n, length, symbol_len, rng):
    """Start indices of ``n`` vectors in a stream: after a warm-up of 32 symbols (filter
    transients), consecutive vectors separated by random gaps of 0 .. 2 symbols, so the
    vectors start at random positions within a symbol.

    Returns:
        (starts int64 (n,), total samples needed)
    """
    gaps = rng.integers(0, 2 * symbol_len, size=n)
    starts = 32 * symbol_len + np.cumsum(gaps) + length * np.arange(n)
    return starts.astype(np.int64), int(starts[-1] + length)


# --------------------------------------------------------------------------- flowgraphs
