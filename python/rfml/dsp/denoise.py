# SPDX-License-Identifier: GPL-3.0-or-later
"""Classical denoisers of complex vectors and the SNR gain a denoiser gives.

The baselines a learned denoiser must beat:

* :func:`lowpass` - a linear-phase FIR low-pass (windowed sinc, applied without delay)
  whose pass band is the signal's occupied bandwidth (:func:`occupied_bandwidth`);
* :func:`wiener` - the oracle Wiener filter ``H(f) = P_s S(f) / (P_s S(f) + P_n)``: it knows
  the class's mean power spectrum ``S`` (:func:`class_spectrum`, from clean vectors) and each
  vector's signal and noise powers, which no real receiver knows.

Both work per vector of L samples (the last axis) and need no rng. Output SNR is measured
against the clean vector: ``10 log10(P_clean / P(estimate - clean))``.
"""

import numpy as np

from . import _power


def class_spectrum(clean):
    """Mean power spectrum of clean vectors, each scaled to unit power first.

    clean: complex (N, L) -> float64 (L,), in numpy FFT order (bin 0 = DC), mean 1.
    """
    clean = np.asarray(clean)
    p = _power(clean)
    z = clean / np.sqrt(np.where(p > 0, p, 1.0))[:, None]
    s = np.mean(np.abs(np.fft.fft(z, norm="ortho", axis=-1)) ** 2, axis=0)
    return s / s.mean()


def occupied_bandwidth(spectrum, fraction=0.99):
    """The two-sided band centred on DC holding ``fraction`` of a spectrum's power.

    spectrum: (L,) power per bin in numpy FFT order. Returns the band's full width in
    cycles per sample (0 < B <= 1).
    """
    s = np.fft.fftshift(np.asarray(spectrum, np.float64))
    n = len(s)
    centre = n // 2
    total = s.sum()
    for half in range(n // 2 + 1):
        if s[max(0, centre - half) : centre + half + 1].sum() >= fraction * total:
            return min(1.0, (2 * half + 1) / n)
    return 1.0


def lowpass_taps(bandwidth, numtaps=129):
    """Windowed-sinc (Hamming) low-pass taps, unit gain at DC, passing |f| < bandwidth / 2
    cycles per sample. numtaps odd (linear phase, delay (numtaps - 1) / 2)."""
    if numtaps < 1 or numtaps % 2 == 0:
        raise ValueError(f"numtaps must be odd and positive, got {numtaps}")
    if not 0 < bandwidth <= 1:
        raise ValueError(f"bandwidth must be in (0, 1] cycles per sample, got {bandwidth}")
    n = np.arange(numtaps) - (numtaps - 1) / 2
    h = bandwidth * np.sinc(bandwidth * n) * np.hamming(numtaps)
    return h / h.sum()


def lowpass(iq, bandwidth, numtaps=129):
    """Low-pass filter each vector to ``bandwidth`` (full width, cycles per sample).

    iq: complex (..., L) -> complex64 (..., L): the linear convolution with the taps of
    :func:`lowpass_taps`, its delay removed (the ends see zeros beyond the vector).
    """
    iq = np.asarray(iq, np.complex64)
    h = lowpass_taps(bandwidth, numtaps)
    n = iq.shape[-1] + numtaps - 1
    size = 1 << (n - 1).bit_length()
    y = np.fft.ifft(np.fft.fft(iq, size, axis=-1) * np.fft.fft(h, size), axis=-1)
    delay = (numtaps - 1) // 2
    return y[..., delay : delay + iq.shape[-1]].astype(np.complex64)


def wiener(iq, spectrum, signal_power, noise_power):
    """The Wiener filter of each vector, applied in the frequency domain over the vector.

    iq: complex (N, L); spectrum: (L,) the class's mean spectrum (:func:`class_spectrum`,
    mean 1; or (N, L), one per vector); signal_power, noise_power: (N,) the vector's powers.
    Returns complex64 (N, L).
    """
    iq = np.asarray(iq, np.complex64)
    ps = np.asarray(signal_power, np.float64)[:, None] * np.asarray(spectrum, np.float64)
    pn = np.asarray(noise_power, np.float64)[:, None]
    h = ps / (ps + pn)
    return np.fft.ifft(np.fft.fft(iq, axis=-1) * h, axis=-1).astype(np.complex64)


def output_snr_db(estimate, clean):
    """SNR of an estimate against the clean vectors: 10 log10(P_clean / P_error), (N,)."""
    err = np.asarray(estimate, np.complex128) - np.asarray(clean, np.complex128)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(_power(clean) / _power(err))


class ClassicalBaselines:
    """Both baselines fitted on clean vectors of known classes.

    Args:
        clean (array, complex (N, L)): clean vectors to learn each class's spectrum from.
        label (array, int (N,)): their class indices.
        fraction (float): the share of power the occupied bandwidth holds.
        numtaps (int): FIR length of the low-pass.
    """

    def __init__(self, clean, label, fraction=0.99, numtaps=129):
        label = np.asarray(label)
        self.spectra = {int(c): class_spectrum(clean[label == c]) for c in np.unique(label)}
        self.bandwidth = {c: occupied_bandwidth(s, fraction) for c, s in self.spectra.items()}
        self.numtaps = int(numtaps)

    def _classes(self, label):
        missing = set(np.unique(label).tolist()) - set(self.spectra)
        if missing:
            raise ValueError(f"no clean vectors of classes {sorted(missing)} to fit the "
                             "baselines on: give clean vectors of every class")  # fmt: skip
        return np.unique(label)

    def lowpass(self, iq, label):
        """Each vector low-passed to its class's occupied bandwidth: complex64 (N, L)."""
        out = np.empty_like(np.asarray(iq, np.complex64))
        for c in self._classes(label):
            sel = label == c
            out[sel] = lowpass(iq[sel], self.bandwidth[int(c)], self.numtaps)
        return out

    def wiener(self, iq, label, clean):
        """The oracle Wiener filter (class spectrum, true signal and noise powers)."""
        out = np.empty_like(np.asarray(iq, np.complex64))
        ps, pn = _power(clean), _power(np.asarray(iq) - clean)
        for c in self._classes(label):
            sel = label == c
            out[sel] = wiener(iq[sel], self.spectra[int(c)], ps[sel], pn[sel])
        return out


def snr_table(estimates, iq, clean, label, snr_db, classes, snrs=None):
    """Input and output SNR per method, class and SNR, measured against ``clean``.

    Args:
        estimates (dict[str, array complex (N, L)]): each method's output.
        iq, clean (array complex (N, L)): noisy input and clean vectors.
        label (array int (N,)), snr_db (array (N,)): class index and target SNR per vector.
        classes (sequence[str]): class names by index.
        snrs (sequence[float] | None): target SNRs to report (vectors within 0.5 dB);
            None = every integer dB present.

    Returns:
        dict: ``{"snr_db": [...], "classes": [...], "input": {class: [mean dB per SNR]},
        "methods": {name: {"output": {class: [...]}, "gain": {class: [...]},
        "mean_gain": [mean over classes per SNR]}}}``; ``input``/``output`` are means of the
        per-vector dB values, ``gain`` = output - input.
    """
    label, snr_db = np.asarray(label), np.asarray(snr_db, np.float64)
    if snrs is None:
        snrs = sorted(set(np.round(snr_db).tolist()))
    present = [int(c) for c in np.unique(label)]
    names = [classes[c] for c in present]
    cells = {(c, s): np.flatnonzero((label == c) & (np.abs(snr_db - s) < 0.5))
             for c in present for s in snrs}  # fmt: skip
    in_db = output_snr_db(iq, clean)

    def per_class(values):
        return {classes[c]: [float(values[cells[c, s]].mean()) if len(cells[c, s]) else None
                             for s in snrs] for c in present}  # fmt: skip

    table = {"snr_db": [float(s) for s in snrs], "classes": names, "input": per_class(in_db),
             "methods": {}}  # fmt: skip
    for name, est in estimates.items():
        out_db = output_snr_db(est, clean)
        gain = per_class(out_db - in_db)
        mean_gain = [
            float(np.mean([gain[n][i] for n in names if gain[n][i] is not None]))
            if any(gain[n][i] is not None for n in names) else None
            for i in range(len(snrs))
        ]  # fmt: skip
        table["methods"][name] = {"output": per_class(out_db), "gain": gain,
                                  "mean_gain": mean_gain}  # fmt: skip
    return table
