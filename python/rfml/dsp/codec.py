# SPDX-License-Identifier: GPL-3.0-or-later
"""Classical codecs for complex vectors: the baselines a learned codec must beat.

Every codec here turns complex vectors ``(B, L)`` into real bytes ``uint8 (B, N)`` and back,
so its rate is the length of what it writes, side information included (each vector's
scale as a float32). No header is counted for them (the learned codec's packet header is
counted against it), which favours the baselines.

``scalar``
    uniform scalar quantisation of I and Q at ``bits`` bits per component.
``decimate``
    an ideal low-pass to the central ``L / factor`` frequency bins of the vector (the
    occupied band of an oversampled signal), i.e. decimation by ``factor``, then ``bits``-bit
    quantisation of the decimated I/Q; decoding zero-pads the spectrum back to L bins.
``svd``
    the vector as a ``rows x L/rows`` complex matrix, truncated to its ``rank`` largest
    singular components (the paper's SVD baseline); the two factors ``U S`` and ``V^H`` are
    quantised at ``bits`` bits per real value.

Quantisation is the optimum uniform quantiser of a unit Gaussian (Max, 1960) scaled by the
RMS of what it quantises: ``2**bits`` levels of step ``MAX_STEP[bits] * rms``, mid-rise,
clipped at the outer levels. Bit packing (:func:`pack_bits`, :func:`unpack_bits`) is shared
with the HQARF packet.
"""

from dataclasses import dataclass

import numpy as np

# Step of the optimum uniform quantiser of N(0, 1) with 2**bits levels (Max 1960, table II);
# beyond 8 bits the step halves per bit.
MAX_STEP = {1: 1.596, 2: 0.9957, 3: 0.5860, 4: 0.3352, 5: 0.1881, 6: 0.1041, 7: 0.0569, 8: 0.0308}

SCALE_BYTES = 4  # one float32 per scale


def pack_bits(values, width):
    """Pack non-negative integers of ``width`` bits each, most significant bit first.

    values: int (B, T) with 0 <= v < 2**width -> uint8 (B, ceil(T * width / 8)); the last
    byte is padded with zero bits.
    """
    values = np.asarray(values, dtype=np.uint64)
    if values.ndim != 2:
        raise ValueError(f"pack_bits takes (B, T) integers, got shape {values.shape}")
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
    bits = ((values[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bits.reshape(len(values), -1), axis=1)


def unpack_bits(data, width, count):
    """The inverse of :func:`pack_bits`: uint8 (B, N) -> int64 (B, count)."""
    data = np.asarray(data, dtype=np.uint8)
    bits = np.unpackbits(data, axis=1, count=count * width).reshape(len(data), count, width)
    weights = (1 << np.arange(width - 1, -1, -1)).astype(np.int64)
    return bits.astype(np.int64) @ weights


def step_size(bits):
    """Step of the ``bits``-bit quantiser of a unit-RMS Gaussian value."""
    bits = int(bits)
    if bits < 1:
        raise ValueError(f"a quantiser needs at least 1 bit, got {bits}")
    return MAX_STEP.get(bits, MAX_STEP[8] / 2 ** (bits - 8))


def quantize(x, bits, rms):
    """Real values x (B, N) with their per-row RMS (B,) -> level indices int64 (B, N)."""
    levels = 1 << int(bits)
    step = step_size(bits) * np.asarray(rms, np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        idx = np.floor(np.asarray(x, np.float64) / step) + levels // 2
    return np.clip(np.nan_to_num(idx, nan=levels // 2), 0, levels - 1).astype(np.int64)


def dequantize(idx, bits, rms):
    """Level indices (B, N) -> values at the centres of their cells (float64 (B, N))."""
    levels = 1 << int(bits)
    step = step_size(bits) * np.asarray(rms, np.float64)[:, None]
    return (np.asarray(idx, np.float64) - levels // 2 + 0.5) * step


def _real_rms(x):
    """RMS of each row of real x (B, N) -> float32 (B,)."""
    return np.sqrt(np.mean(np.asarray(x, np.float64) ** 2, axis=1)).astype(np.float32)


def _encode_values(x, bits):
    """Real rows x (B, N) -> bytes (B, 4 + ceil(N bits / 8)): float32 RMS then packed levels."""
    rms = _real_rms(x)
    scale = rms.astype("<f4").view(np.uint8).reshape(len(x), SCALE_BYTES)
    return np.concatenate([scale, pack_bits(quantize(x, bits, rms), bits)], axis=1)


def _decode_values(data, bits, count):
    """The inverse of :func:`_encode_values`: bytes (B, M) -> float64 (B, count)."""
    data = np.asarray(data, np.uint8)
    rms = np.ascontiguousarray(data[:, :SCALE_BYTES]).view("<f4")[:, 0]
    return dequantize(unpack_bits(data[:, SCALE_BYTES:], bits, count), bits, rms)


def _iq_rows(z):
    """complex (B, N) -> real (B, 2N): I then Q."""
    return np.concatenate([z.real, z.imag], axis=1)


def _complex_rows(x):
    """real (B, 2N) -> complex128 (B, N) (the inverse of :func:`_iq_rows`)."""
    n = x.shape[1] // 2
    return x[:, :n] + 1j * x[:, n:]


@dataclass(frozen=True)
class ClassicalCodec:
    """One classical codec with its settings (see the module docstring).

    Args:
        method (str): ``"scalar"``, ``"decimate"`` or ``"svd"``.
        bits (int): bits per quantised real value.
        factor (int): decimation factor (``decimate``).
        rank (int): singular components kept (``svd``).
        rows (int): rows of the matrix a vector is folded into (``svd``).
    """

    method: str
    bits: int
    factor: int = 1
    rank: int = 1
    rows: int = 32

    def __post_init__(self):
        if self.method not in ("scalar", "decimate", "svd"):
            raise ValueError(f"unknown codec {self.method!r}: choose scalar, decimate or svd")
        step_size(self.bits)

    @property
    def name(self):
        if self.method == "scalar":
            return f"scalar {self.bits} bit"
        if self.method == "decimate":
            return f"decimate /{self.factor}, {self.bits} bit"
        return f"svd rank {self.rank}, {self.bits} bit"

    def _check(self, length):
        if self.method == "decimate" and length % self.factor:
            raise ValueError(f"decimation by {self.factor} needs L a multiple of it, got {length}")
        if self.method == "svd" and (
            length % self.rows or self.rank > min(self.rows, length // self.rows)
        ):
            raise ValueError(
                f"svd: L = {length} must fold into {self.rows} rows with rank {self.rank} "
                "at most the smaller side"
            )

    def nbytes(self, length):
        """Bytes written per vector of ``length`` samples."""
        self._check(length)
        if self.method == "scalar":
            return SCALE_BYTES + -(-2 * length * self.bits // 8)
        if self.method == "decimate":
            return SCALE_BYTES + -(-2 * (length // self.factor) * self.bits // 8)
        return sum(self._svd_split(length))

    def _svd_split(self, length):
        """Bytes of the two factors U S and V^H (each with its scale)."""
        return tuple(
            SCALE_BYTES + -(-2 * self.rank * side * self.bits // 8)
            for side in (self.rows, length // self.rows)
        )

    def encode(self, iq):
        """complex (B, L) -> uint8 (B, nbytes(L))."""
        iq = np.asarray(iq, np.complex128)
        self._check(iq.shape[1])
        if self.method == "scalar":
            return _encode_values(_iq_rows(iq), self.bits)
        if self.method == "decimate":
            return _encode_values(_iq_rows(_decimate(iq, self.factor)), self.bits)
        g, h = _svd_factors(iq, self.rows, self.rank)
        return np.concatenate(
            [_encode_values(_iq_rows(g), self.bits), _encode_values(_iq_rows(h), self.bits)],
            axis=1,
        )

    def decode(self, data, length):
        """uint8 (B, nbytes(L)) -> complex64 (B, L)."""
        data = np.asarray(data, np.uint8)
        if data.ndim != 2 or data.shape[1] != self.nbytes(length):
            raise ValueError(
                f"{self.name}: expected (B, {self.nbytes(length)}) bytes, got {data.shape}"
            )
        if self.method == "scalar":
            return _complex_rows(_decode_values(data, self.bits, 2 * length)).astype(np.complex64)
        if self.method == "decimate":
            n = length // self.factor
            z = _complex_rows(_decode_values(data, self.bits, 2 * n))
            return _interpolate(z, self.factor).astype(np.complex64)
        cols = length // self.rows
        half = self._svd_split(length)[0]
        g = _complex_rows(_decode_values(data[:, :half], self.bits, 2 * self.rows * self.rank))
        h = _complex_rows(_decode_values(data[:, half:], self.bits, 2 * self.rank * cols))
        g = g.reshape(len(data), self.rows, self.rank)
        h = h.reshape(len(data), self.rank, cols)
        return (g @ h).reshape(len(data), length).astype(np.complex64)

    def roundtrip(self, iq):
        """complex (B, L) -> (reconstruction complex64 (B, L), bytes per vector)."""
        data = self.encode(iq)
        return self.decode(data, np.shape(iq)[1]), data.shape[1]


def _decimate(iq, factor):
    """Ideal low-pass and decimation: complex (B, L) -> (B, L / factor), the central bins of
    the spectrum (scaled so the samples keep the signal's amplitude)."""
    length = iq.shape[1]
    n = length // factor
    spec = np.fft.fftshift(np.fft.fft(iq, axis=1), axes=1)
    start = (length - n) // 2
    kept = np.fft.ifftshift(spec[:, start : start + n], axes=1)
    return np.fft.ifft(kept, axis=1) / factor


def _interpolate(z, factor):
    """The inverse of :func:`_decimate` for a band-limited signal: (B, n) -> (B, n factor)."""
    n = z.shape[1]
    length = n * factor
    spec = np.zeros((len(z), length), np.complex128)
    start = (length - n) // 2
    spec[:, start : start + n] = np.fft.fftshift(np.fft.fft(z, axis=1), axes=1)
    return np.fft.ifft(np.fft.ifftshift(spec, axes=1), axis=1) * factor


def _svd_factors(iq, rows, rank):
    """complex (B, L) -> (U S (B, rows, rank), V^H (B, rank, L / rows)), each row flattened."""
    a = iq.reshape(len(iq), rows, -1)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    g = u[:, :, :rank] * s[:, None, :rank]
    h = vh[:, :rank, :]
    return g.reshape(len(iq), -1), h.reshape(len(iq), -1)


def codec_grid(length):
    """Every baseline setting worth trying for vectors of ``length`` samples, by method."""
    grid = {
        "scalar": [ClassicalCodec("scalar", b) for b in range(1, 9)],
        "decimate": [
            ClassicalCodec("decimate", b, factor=f)
            for f in (2, 4, 8, 16, 32)
            for b in range(1, 9)
            if length % f == 0
        ],
        "svd": [
            ClassicalCodec("svd", b, rank=r)
            for r in (1, 2, 4, 8)
            for b in range(2, 9)
            if length % 32 == 0
        ],
    }
    return grid


def snr_db(reference, estimate):
    """Reconstruction SNR per vector: 10 log10(|ref|^2 / |ref - est|^2) (float64 (B,))."""
    ref = np.asarray(reference, np.complex128)
    err = ref - np.asarray(estimate, np.complex128)
    p_ref = np.sum(np.abs(ref) ** 2, axis=1)
    p_err = np.sum(np.abs(err) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(p_ref / p_err)


def evm_percent(reference, estimate):
    """Error vector magnitude per vector, RMS error over RMS reference, in percent."""
    ref = np.asarray(reference, np.complex128)
    err = ref - np.asarray(estimate, np.complex128)
    return 100 * np.sqrt(np.sum(np.abs(err) ** 2, axis=1) / np.sum(np.abs(ref) ** 2, axis=1))
