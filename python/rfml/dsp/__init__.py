# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain numpy DSP shared by the blocks, the data-set generator and the tests.

Nothing here imports GNU Radio or torch. Every random function takes an explicit
``rng: numpy.random.Generator``, so a seed fixes its output.

Conventions: complex signals are arrays whose last axis is time; a *vector* is the last
axis of length L, and per-vector quantities have the shape of the leading axes.
"""

from dataclasses import dataclass, field, replace

import numpy as np

# --------------------------------------------------------------------------- noise and SNR


def _power(x):
    """Mean power over the last axis, float64, shape x.shape[:-1]."""
    x = np.asarray(x)
    return np.mean(x.real.astype(np.float64) ** 2 + x.imag.astype(np.float64) ** 2, axis=-1)


def snr_db(signal, noise):
    """Measured SNR of each vector: 10*log10(P_signal / P_noise) over the last axis.

    Args:
        signal (array, complex (..., L)): the signal before noise.
        noise (array, complex (..., L)): the noise that was added.

    Returns:
        float64 array (...,); +inf where the noise is zero, -inf where the signal is.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10.0 * np.log10(_power(signal) / _power(noise))


def add_awgn(x, snr_db, rng):
    """Add complex white Gaussian noise so that each vector has exactly the target SNR.

    The signal power is measured on each vector (eq. 2 of the CAE/CAM report, per vector)
    and the drawn noise is rescaled so that its power measured over the same vector is
    ``P_signal / 10**(snr_db/10)``: the measured SNR equals the target up to rounding,
    not only in expectation.

    Args:
        x (array, complex (..., L)): signal vectors; L >= 1.
        snr_db (float or array (...,)): target SNR in dB, one value or one per vector;
            must be finite.
        rng (numpy.random.Generator): source of the noise.

    Returns:
        (y, noise, valid): ``y = x + noise`` and ``noise`` with the dtype of x (complex64
        unless x is complex128), and ``valid`` bool (...,), False for vectors of zero
        power or with a NaN/Inf sample; their ``y`` and ``noise`` are all zeros.
    """
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"add_awgn needs vectors along the last axis, got shape {x.shape}")
    dtype = np.complex128 if x.dtype == np.complex128 else np.complex64
    real = np.float64 if dtype == np.complex128 else np.float32
    snr = np.asarray(snr_db, dtype=np.float64)
    if not np.all(np.isfinite(snr)):
        raise ValueError(f"snr_db must be finite, got {snr_db!r}")
    x = x.astype(dtype, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        p_sig = _fast_power(x)
        valid = np.isfinite(p_sig) & (p_sig > 0)
        noise = rng.standard_normal(x.shape + (2,), dtype=real).view(dtype)[..., 0]
        p_target = np.where(valid, p_sig, 0.0) / 10.0 ** (snr / 10.0)
        scale = np.sqrt(p_target / np.maximum(_fast_power(noise), 1e-30)).astype(real)
        noise *= scale[..., None]
        y = x + noise
    if not valid.all():
        y[~valid] = 0
    return y, noise, valid


def _fast_power(x):
    """Mean power over the last axis of a complex array, float64 (..., ); fast path."""
    xr = np.ascontiguousarray(x).view(x.real.dtype)  # (..., 2L) interleaved I/Q
    return np.einsum("...i,...i->...", xr, xr).astype(np.float64) / x.shape[-1]


# --------------------------------------------------------------------------- pulse shapes

PULSES = ("rrc", "rect", "gaussian")
HEADER_BITS = 32  # gr-digital's default packet header (length, number, CRC8)


def rrc_taps(sps, excess_bw, span=11):
    """Root-raised-cosine pulse sampled at ``sps`` samples per symbol.

    Args:
        sps (int): samples per symbol of the taps.
        excess_bw (float): roll-off in (0, 1].
        span (int): length in symbols.

    Returns:
        float64 (span*sps + 1,), unit energy.
    """
    if not 0 < excess_bw <= 1:
        raise ValueError(f"excess_bw (roll-off) must be in (0, 1], got {excess_bw}")
    b = float(excess_bw)
    t = (np.arange(span * sps + 1) - span * sps / 2) / sps  # time in symbols
    h = np.empty_like(t)
    zero = np.isclose(t, 0.0)
    quarter = np.isclose(np.abs(t), 1 / (4 * b))
    rest = ~(zero | quarter)
    tr = t[rest]
    h[rest] = (np.sin(np.pi * tr * (1 - b)) + 4 * b * tr * np.cos(np.pi * tr * (1 + b))) / (
        np.pi * tr * (1 - (4 * b * tr) ** 2)
    )
    h[zero] = 1 - b + 4 * b / np.pi
    h[quarter] = (b / np.sqrt(2)) * (
        (1 + 2 / np.pi) * np.sin(np.pi / (4 * b)) + (1 - 2 / np.pi) * np.cos(np.pi / (4 * b))
    )
    return h / np.sqrt(np.sum(h**2))


def gaussian_taps(sps, bt):
    """Gaussian-filtered rectangular pulse (the GFSK frequency pulse), ``sps`` per symbol.

    Args:
        sps (int): samples per symbol of the taps.
        bt (float): 3-dB bandwidth times symbol time, > 0.

    Returns:
        float64 taps, peak-normalised to 1 for wide pulses (area = sps).
    """
    if bt <= 0:
        raise ValueError(f"bt must be > 0, got {bt}")
    sigma = np.sqrt(np.log(2)) / (2 * np.pi * bt)  # std of the Gaussian, in symbols
    half = int(np.ceil(3.5 * sigma * sps))
    t = np.arange(-half, half + 1) / sps
    g = np.exp(-(t**2) / (2 * sigma**2))
    h = np.convolve(g / g.sum(), np.ones(sps))
    return h


def pulse_taps(pulse, sps, excess_bw=0.35, bt=0.35):
    """Taps of a named pulse at ``sps`` samples per symbol (see PULSES)."""
    if pulse == "rrc":
        return rrc_taps(sps, excess_bw)
    if pulse == "rect":
        return np.ones(sps)
    if pulse == "gaussian":
        return gaussian_taps(sps, bt)
    raise ValueError(f"unknown pulse {pulse!r}: choose one of {', '.join(PULSES)}")


def pfb_output_power(proto, nfilts, rate, mean, var, n_out=4096):
    """Mean output power of GNU Radio's pfb_arb_resampler fed i.i.d. symbols.

    The resampler computes output n with the prototype filter linearly interpolated at
    phase ``n * nfilts / rate`` (its filter and diff-filter banks; the diff of the last
    prototype tap is 0), so the power of each
    output is ``var * sum|g_n|^2 + |mean|^2 * |sum g_n|^2`` for those interpolated taps
    ``g_n``; this averages it over ``n_out`` outputs.

    Args:
        proto (array (T,)): prototype taps at ``nfilts`` samples per symbol.
        nfilts (int): number of filters in the bank.
        rate (float): output samples per input symbol.
        mean (complex): mean of the symbols.
        var (float): variance of the symbols, E|a - mean|^2.
        n_out (int): outputs to average over.

    Returns:
        float mean output power.
    """
    proto = np.asarray(proto, dtype=np.float64)
    n_taps = int(np.ceil(len(proto) / nfilts))
    phase = np.mod(np.arange(n_out) * (nfilts / rate), nfilts)  # (n_out,)
    pos = phase[:, None] + nfilts * np.arange(n_taps)[None, :]  # (n_out, n_taps)
    i = np.floor(pos).astype(np.int64)
    inside = i < len(proto)
    i = np.minimum(i, len(proto) - 1)
    # GNU Radio's diff taps are proto[i + 1] - proto[i], and 0 for the last tap.
    nxt = np.concatenate([proto[1:], proto[-1:]])
    g = np.where(inside, proto[i] + (pos - i) * (nxt[i] - proto[i]), 0.0)
    p = var * np.sum(g**2, axis=1) + abs(mean) ** 2 * np.sum(g, axis=1) ** 2
    return float(np.mean(p))


def ofdm_frame_power(sync_words, data_carriers, pilot_carriers, pilot_symbols, fft_len, cp_len,
                     bps, packet_len, payload_power=1.0):  # fmt: skip
    """Mean power of gr-digital ofdm_tx frames (unnormalised inverse FFT), computed.

    A frame is the sync symbols, one BPSK header symbol filling the data carriers, and
    the payload (packet + CRC32, ``bps`` bits per carrier, the last symbol zero-padded),
    each with pilots and a cyclic prefix. Over a symbol's FFT body the mean power is the
    sum of its carrier powers (Parseval: header carriers 1, payload ``payload_power``);
    sync symbols and pilots are transformed exactly, cyclic prefix included; payload
    carriers are random and zero-mean, so their cyclic prefix has their mean power. The
    header's 32 bits are taken as random and its padding (zero bits: BPSK -1) exactly.

    Args:
        sync_words (list of arrays (fft_len,)): ofdm_tx's sync words (frequency domain).
        data_carriers (sequence of int): data carrier indices, in allocation order.
        pilot_carriers (sequence of int): pilot carrier indices (negative = below DC).
        pilot_symbols (sequence of sequences): pilot values per OFDM symbol, cycled
            from the header symbol on (as ofdm_carrier_allocator does).
        fft_len, cp_len (int): FFT size and cyclic prefix length.
        bps (int): payload bits per data carrier.
        packet_len (int): payload bytes per packet.
        payload_power (float): mean |point|^2 of the payload constellation (gr-digital's
            QPSK points have 4, its BPSK and 8PSK points 1).

    Returns:
        float mean power per sample of the frame.
    """
    sym_len = fft_len + cp_len
    cp_n = np.arange(fft_len - cp_len, fft_len)  # body samples the prefix repeats
    energy = 0.0
    for word in sync_words:
        body = np.fft.ifft(np.asarray(word, dtype=np.complex128)) * fft_len
        energy += np.sum(np.abs(body) ** 2) + np.sum(np.abs(body[cp_n]) ** 2)
    n_data = len(data_carriers)
    n_const = -(-(packet_len + 4) * 8 // bps)
    n_payload = -(-n_const // n_data)
    data_power = [float(n_data)] + [payload_power * n_data] * (n_payload - 1)
    data_power.append(payload_power * (n_const - (n_payload - 1) * n_data))

    def steering(carriers):  # (cp_len, n) time samples of the prefix for unit carriers
        k = np.asarray(carriers, dtype=np.float64)
        return np.exp(2j * np.pi * np.outer(cp_n, k) / fft_len)

    pilot_steer = steering(pilot_carriers)
    pad = -steering(data_carriers[HEADER_BITS:]).sum(axis=1)  # the header's padding
    for i, p_data in enumerate(data_power):
        v = np.asarray(pilot_symbols[i % len(pilot_symbols)], dtype=np.complex128)
        known = pilot_steer @ v + (pad if i == 0 else 0)
        random_power = HEADER_BITS if i == 0 else p_data
        body = fft_len * (p_data + np.sum(np.abs(v) ** 2))
        energy += body + cp_len * random_power + np.sum(np.abs(known) ** 2)
    return float(energy / ((len(sync_words) + len(data_power)) * sym_len))


# --------------------------------------------------------------------------- impairments


@dataclass(frozen=True)
class Impairments:
    """Parameters of the simulated RF loopback (all zero = identity).

    Args:
        freq_offset (float): carrier frequency offset, cycles per sample.
        phase_noise_std (float): Wiener phase noise, rad per sqrt(sample).
        timing_drift_ppm (float): the receive sample clock runs fast by this many ppm
            (positive: slightly more output samples than input samples).
        iq_gain_db (float): receive IQ gain imbalance, dB (Q relative to I).
        iq_phase_deg (float): receive IQ phase imbalance, degrees.
        dc_offset (complex): receive DC offset, added last.
        phase (float): carrier phase at the first sample, rad.
    """

    freq_offset: float = 0.0
    phase_noise_std: float = 0.0
    timing_drift_ppm: float = 0.0
    iq_gain_db: float = 0.0
    iq_phase_deg: float = 0.0
    dc_offset: complex = 0j
    phase: float = 0.0

    def __post_init__(self):
        for name in ("freq_offset", "phase_noise_std", "timing_drift_ppm", "iq_gain_db",
                     "iq_phase_deg", "phase"):  # fmt: skip
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"Impairments.{name} must be finite")
        if not np.isfinite(complex(self.dc_offset)):
            raise ValueError("Impairments.dc_offset must be finite")
        if self.phase_noise_std < 0:
            raise ValueError("Impairments.phase_noise_std must be >= 0")
        if self.timing_drift_ppm <= -1e6:
            raise ValueError("Impairments.timing_drift_ppm must be > -1e6")

    def without_drift(self):
        """The same impairments with timing_drift_ppm = 0."""
        return replace(self, timing_drift_ppm=0.0)


@dataclass
class ImpairmentState:
    """Continuity between consecutive buffers of apply_impairments.

    Every quantity is computed from absolute sample indices, so the output does not
    depend on how the stream is cut into buffers (bit for bit).

    Attributes:
        n (int): output samples produced so far.
        freq (float): frequency offset in use since output ``n_ref``.
        n_ref (int), phase_ref (float): the carrier phase is
            ``phase_ref + 2*pi*freq*(n - n_ref)`` (rebased when freq changes).
        wiener (float): phase-noise phase of the last output.
        k (int): timing interpolator: outputs made so far (output k is at input k*step).
        base (int): absolute input index of ``buf[0]``.
        buf (array complex): input samples still needed by the timing interpolator.
    """

    n: int = 0
    freq: float = 0.0
    n_ref: int = 0
    phase_ref: float = 0.0
    wiener: float = 0.0
    k: int = 0
    base: int = -1
    buf: np.ndarray = field(default_factory=lambda: np.zeros(0, np.complex128))


def _cubic_resample(x, step, state):
    """Cubic Lagrange interpolation of the stream at input times k*step, k = 0, 1, ..."""
    if state.base == -1 and not len(state.buf):
        state.buf = x[:1].astype(np.complex128)  # input -1 := input 0 (edge)
    b = np.concatenate([state.buf, x])
    last = state.base + len(b) - 1  # absolute index of the newest input
    k_end = int(np.floor((last - 2) / step)) + 2  # a bound; the mask below decides
    k = np.arange(state.k, max(k_end, state.k))
    t = k * step  # absolute input time of each output
    k, t = k[t <= last - 2], t[t <= last - 2]
    whole = np.floor(t)
    i = whole.astype(np.int64) - state.base
    mu = t - whole
    w_m1 = -mu * (mu - 1) * (mu - 2) / 6
    w_0 = (mu + 1) * (mu - 1) * (mu - 2) / 2
    w_1 = -(mu + 1) * mu * (mu - 2) / 2
    w_2 = (mu + 1) * mu * (mu - 1) / 6
    y = w_m1 * b[i - 1] + w_0 * b[i] + w_1 * b[i + 1] + w_2 * b[i + 2]
    state.k += len(k)
    keep = int(np.floor(state.k * step)) - 1  # absolute index of the oldest input needed
    state.buf = b[max(keep - state.base, 0) :].astype(np.complex128)
    state.base = max(keep, state.base)
    return y


def apply_impairments(x, imp, rng, state=None):
    """Pass a stream through the simulated RF loopback, buffer by buffer.

    Order (the physical chain): sample-clock drift (cubic interpolation), carrier
    frequency offset and phase, Wiener phase noise, receive IQ imbalance
    ``mu*y + nu*conj(y)``, DC offset. Consecutive calls with the returned state give the
    same output as one call on the concatenated input, bit for bit (every quantity is
    computed from absolute sample indices; a changed ``imp.freq_offset`` takes effect with
    a continuous phase). All parameters zero returns x unchanged (exactly).

    Args:
        x (array, complex (N,)): one buffer of the input stream.
        imp (Impairments): the impairments.
        rng (numpy.random.Generator): source of the phase noise.
        state (ImpairmentState or None): from the previous call; None starts a stream.

    Returns:
        (y, state): y complex (M,), with M == N when timing_drift_ppm == 0; otherwise M is
        the number of output instants whose interpolation window lies inside the input
        received so far (the rest follows in the next call).
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"apply_impairments takes one stream (N,), got shape {x.shape}")
    dtype = np.complex128 if x.dtype == np.complex128 else np.complex64
    if state is None:
        state = ImpairmentState(freq=float(imp.freq_offset), phase_ref=float(imp.phase))
    y = x.astype(dtype, copy=False)
    if imp.timing_drift_ppm != 0 and len(x):
        y = _cubic_resample(x, 1.0 / (1.0 + imp.timing_drift_ppm * 1e-6), state).astype(dtype)
    n = len(y)
    rot = None
    if imp.freq_offset != state.freq:  # keep the phase continuous: rebase at output n
        turns = np.mod(state.freq * (state.n - state.n_ref), 1.0)
        state.phase_ref = float(np.mod(state.phase_ref + 2 * np.pi * turns, 2 * np.pi))
        state.n_ref, state.freq = state.n, float(imp.freq_offset)
    if state.freq != 0 or state.phase_ref != 0:
        start = state.n - state.n_ref
        turns = state.freq * np.arange(start, start + n, dtype=np.float64)
        rot = state.phase_ref + (2 * np.pi) * (turns - np.floor(turns))  # v - floor(v): exact
    if imp.phase_noise_std > 0 and n:
        steps = rng.standard_normal(n, dtype=np.float32) * np.float32(imp.phase_noise_std)
        # a sequential sum from the carried value: the same whatever the buffer sizes
        walk = np.cumsum(np.concatenate([[state.wiener], steps.astype(np.float64)]))[1:]
        state.wiener = float(walk[-1])
        rot = walk if rot is None else rot + walk
        rot -= (2 * np.pi) * np.floor(rot / (2 * np.pi))  # into [0, 2*pi) for float32
    state.n += n
    if rot is not None:
        rot = rot.astype(y.real.dtype)
        ph = np.empty(n, dtype)
        ph.real = np.cos(rot)
        ph.imag = np.sin(rot)
        y = y * ph
    if imp.iq_gain_db != 0 or imp.iq_phase_deg != 0:
        # mu*y + nu*conj(y) with mu, nu = (1 +- g*exp(-+j*phi)) / 2: I stays, Q' = a*Q + b*I
        g = 10.0 ** (imp.iq_gain_db / 20.0)
        phi = np.deg2rad(imp.iq_phase_deg)
        real = y.real.dtype.type
        q = real(g * np.cos(phi)) * y.imag - real(g * np.sin(phi)) * y.real
        y = y.copy() if np.shares_memory(y, x) else y  # never write into the caller's array
        y.imag = q
    if imp.dc_offset != 0:
        y = y + dtype(imp.dc_offset)
    return y, state
