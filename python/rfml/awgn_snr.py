# SPDX-License-Identifier: GPL-3.0-or-later
"""awgn_snr: white Gaussian noise at an exact SNR per vector (rfml.add_awgn, C++)."""

import numpy as np
import pmt
from gnuradio import gr

from ._work_guard import ends_on_error
from .ml import params
from .ml.contract import DEFAULT_VECTOR_LENGTH, SNR_TAG_KEY

BUFFER_ITEMS = 65536  # minimum output buffer, samples
SNR_DB_RANGE = (-100.0, 100.0)  # accepted target SNRs, dB


class awgn_snr(gr.sync_block):
    """Add complex white Gaussian noise so that every vector has exactly the target SNR.

    The stream is cut into consecutive vectors of ``vector_length`` samples; on each the
    signal power is measured and noise of power ``P_signal / 10**(snr_db/10)`` measured
    over that vector is added (``rfml.add_awgn``: ``dsp.add_awgn`` in C++, the noise from
    ``rfml.gaussian_rng``; eq. 2 of the CAE/CAM report, per vector). A vector with zero
    power or a NaN/Inf sample (or whose output would leave the float32 range at this
    SNR) comes out as zeros on both outputs and is counted (``invalid_count()``, reported
    in the log when the flowgraph stops); the flowgraph keeps running. Samples are passed
    in whole vectors only: at the end of a finite stream, a last partial vector is not
    output.

    Output 0 carries a stream tag ``rfml_snr_db`` (the target SNR, a PMT double) on its
    first sample and on the first vector after every change of the target; the input's
    tags pass through.

    Input: complex stream. Outputs: 0 = signal + noise; 1 (optional) = the noise alone.

    An exception inside ``work()`` is logged as an error and ends the block's stream, so the
    flowgraph finishes instead of hanging (the exception is kept in ``work_error``).

    Args:
        snr_db (float): target SNR in dB, in ``SNR_DB_RANGE`` ([-100, 100]); settable
            while running (``set_snr_db``; a refused value keeps the running one).
        vector_length (int): samples per vector over which the SNR holds (an integer).
        seed (int): seed of the noise generator.
    """

    def __init__(self, snr_db=10.0, vector_length=DEFAULT_VECTOR_LENGTH, seed=0):
        gr.sync_block.__init__(
            self,
            name="awgn_snr",
            in_sig=[np.complex64],
            out_sig=gr.py_io_signature(1, 2, [np.complex64, np.complex64]),
        )
        self.vector_length = params.integer(vector_length, "vector_length", 1)
        self.set_snr_db(snr_db)
        self._tag_key = pmt.intern(SNR_TAG_KEY)
        self._tagged_snr = None  # the SNR of the last tag put
        from .rfml_python import add_awgn, gaussian_rng  # the C++ kernel, built

        self._add_awgn = add_awgn
        self._rng = gaussian_rng(int(seed))
        self._invalid = 0
        self._vectors = 0
        self.set_output_multiple(self.vector_length)
        # Big buffers: each work() call then handles many vectors, which amortises the
        # Python call and numpy set-up costs (about 2.5x the throughput of 8192 items).
        self.set_log_level("warn")  # not the info line of set_min_output_buffer
        self.set_min_output_buffer(max(BUFFER_ITEMS, 2 * self.vector_length))

    def set_snr_db(self, snr_db):
        """Set the target SNR (dB) for the vectors that follow; ValueError (and the
        running value kept) outside ``SNR_DB_RANGE``."""
        self._snr_db = params.real(snr_db, "snr_db", *SNR_DB_RANGE)

    def snr_db(self):
        """The target SNR in dB."""
        return self._snr_db

    def invalid_count(self):
        """Vectors with zero power or NaN/Inf samples so far (output as zeros)."""
        return self._invalid

    def vector_count(self):
        """Vectors processed so far."""
        return self._vectors

    def start(self):
        self._tagged_snr = None
        return True

    @ends_on_error
    def work(self, input_items, output_items):
        n = len(output_items[0]) // self.vector_length * self.vector_length
        x = input_items[0][:n].reshape(-1, self.vector_length)  # (vectors, L)
        snr_db = self._snr_db  # one value per call, whatever set_snr_db does meanwhile
        if n and snr_db != self._tagged_snr:
            self.add_item_tag(0, self.nitems_written(0), self._tag_key, pmt.from_double(snr_db))
            self._tagged_snr = snr_db
        y, noise, valid = self._add_awgn(x, snr_db, self._rng, len(output_items) > 1)
        output_items[0][:n] = y.reshape(-1)
        if noise is not None:
            output_items[1][:n] = noise.reshape(-1)
        self._invalid += int(np.count_nonzero(~valid))
        self._vectors += len(valid)
        return n

    def stop(self):
        if self._invalid:
            gr.logger(self.alias()).warn(
                f"{self._invalid} of {self._vectors} vectors had zero power, NaN/Inf "
                "samples, or a power this SNR takes out of the float32 range, and were "
                "output as zeros: check the source feeding awgn_snr"
            )
        return True
