# SPDX-License-Identifier: GPL-3.0-or-later
"""loopback: a simulated RF loopback, or TX and RX through a BladeRF in loopback mode."""

from dataclasses import asdict, replace

from gnuradio import blocks, gr

from . import dsp

RADIOS = ("sim", "bladerf")
# libbladeRF loopback modes per board (libbladeRF.h; SoapyBladeRF's "loopback" setting).
BLADERF1_MODES = (
    "none", "firmware", "bb_txlpf_rxvga2", "bb_txvga1_rxvga2", "bb_txlpf_rxlpf",
    "bb_txvga1_rxlpf", "rf_lna1", "rf_lna2", "rf_lna3",
)  # fmt: skip
BLADERF2_MODES = ("none", "firmware", "rfic_bist")
MODE_ALIASES = {"rf_bist": "rfic_bist"}
OUTPUT_BUFFER_ITEMS = 65536


class loopback(gr.hier_block2):
    """The radio path between a source and the receiver: simulated or a BladeRF.

    ``radio="sim"``: the impairments of ``dsp.Impairments`` applied in the physical order
    (sample-clock drift, carrier frequency offset and phase, Wiener phase noise, receive IQ
    imbalance, DC offset), all in the C++ block ``rfml.impairments``:
    ``dsp.apply_impairments`` in float32 (cubic interpolation for the drift, so the output
    has about 1 + ppm*1e-6 samples per input sample; the phase noise from
    ``rfml.gaussian_rng``), which gives the same bits however the stream is cut into
    buffers (GNU Radio's rotator_cc does not), so a seed fixes the output. The impairments
    can be changed while running when one of them was nonzero at construction; all zero
    passes the stream through unchanged, bit for bit.

    ``radio="bladerf"``: the input goes to a gr-soapy sink and the output comes from a
    gr-soapy source on the same BladeRF, with the libbladeRF loopback mode set before the
    flowgraph starts. The mode is checked against the board (bladeRF 1: firmware,
    bb_txlpf_rxvga2, bb_txvga1_rxvga2, bb_txlpf_rxlpf, bb_txvga1_rxlpf, rf_lna1..3;
    bladeRF 2.0: firmware, rfic_bist (alias rf_bist); both: none, a cabled path). With no
    BladeRF attached the constructor raises RuntimeError naming the device string.

    Args:
        radio (str): "sim" or "bladerf".
        freq_offset (float): sim: carrier frequency offset, cycles per sample.
        phase_noise_std (float): sim: Wiener phase noise, rad per sqrt(sample).
        timing_drift_ppm (float): sim: receive sample clock fast by this many ppm.
        iq_gain_db (float): sim: IQ gain imbalance, dB.
        iq_phase_deg (float): sim: IQ phase imbalance, degrees.
        dc_offset (complex): sim: DC offset added at the receiver.
        seed (int): sim: seed of the phase noise.
        device_args (str): bladerf: extra SoapySDR device arguments, e.g. "serial=...".
        loopback_mode (str): bladerf: libbladeRF loopback mode (see above).
        center_freq (float): bladerf: TX and RX centre frequency, Hz.
        sample_rate (float): bladerf: TX and RX sample rate (and analog bandwidth), Hz.
        tx_gain (float): bladerf: overall TX gain, dB (range depends on the board).
        rx_gain (float): bladerf: overall RX gain, dB.
        phase (float): sim: carrier phase at the first sample, rad.
    """

    def __init__(
        self,
        radio="sim",
        freq_offset=0.0,
        phase_noise_std=0.0,
        timing_drift_ppm=0.0,
        iq_gain_db=0.0,
        iq_phase_deg=0.0,
        dc_offset=0.0,
        seed=0,
        device_args="",
        loopback_mode="firmware",
        center_freq=915e6,
        sample_rate=2e6,
        tx_gain=20.0,
        rx_gain=20.0,
        phase=0.0,
    ):
        gr.hier_block2.__init__(
            self,
            "loopback",
            gr.io_signature(1, 1, gr.sizeof_gr_complex),
            gr.io_signature(1, 1, gr.sizeof_gr_complex),
        )
        if radio not in RADIOS:
            raise ValueError(f"unknown radio {radio!r}: choose one of {', '.join(RADIOS)}")
        self.radio = radio
        if radio == "sim":
            self.impairments = dsp.Impairments(
                freq_offset=float(freq_offset),
                phase_noise_std=float(phase_noise_std),
                timing_drift_ppm=float(timing_drift_ppm),
                iq_gain_db=float(iq_gain_db),
                iq_phase_deg=float(iq_phase_deg),
                dc_offset=complex(dc_offset),
                phase=float(phase),
            )
            self._build_sim(seed)
        else:
            self._build_bladerf(
                device_args, loopback_mode, center_freq, sample_rate, tx_gain, rx_gain
            )

    # ---------------------------------------------------------------- sim

    def _build_sim(self, seed):
        """One C++ stage for all the impairments; none (identity) when all are zero."""
        from .rfml_python import impairments  # the C++ block, built

        self.stage = None
        if self.impairments != dsp.Impairments():
            self.stage = impairments(**asdict(self.impairments), seed=int(seed))
            blk = self.stage
        else:
            # Identity, bit for bit (a memcpy; blocks.copy hands on only small chunks).
            blk = blocks.vector_to_stream(gr.sizeof_gr_complex, 1)
        # Big output buffers let Python blocks downstream work on big chunks.
        blk.set_log_level("warn")  # not the info line of set_min_output_buffer
        blk.set_min_output_buffer(OUTPUT_BUFFER_ITEMS)
        self.connect(self, blk, self)

    def _update(self, name, value):
        if self.radio != "sim":
            return
        if self.stage is None:
            raise ValueError(
                f"this loopback was made without impairments (all were 0), so {name} cannot "
                f"change while running: make it with a nonzero {name} (or any impairment)"
            )
        self.impairments = replace(self.impairments, **{name: value})
        self.stage.set_params(**asdict(self.impairments))

    def set_freq_offset(self, freq_offset):
        """sim: carrier frequency offset (cycles/sample); the phase stays continuous."""
        self._update("freq_offset", float(freq_offset))

    def set_phase_noise_std(self, phase_noise_std):
        """sim: Wiener phase noise (rad/sqrt(sample))."""
        self._update("phase_noise_std", float(phase_noise_std))

    def set_iq_gain_db(self, iq_gain_db):
        """sim: IQ gain imbalance (dB)."""
        self._update("iq_gain_db", float(iq_gain_db))

    def set_iq_phase_deg(self, iq_phase_deg):
        """sim: IQ phase imbalance (degrees)."""
        self._update("iq_phase_deg", float(iq_phase_deg))

    def set_dc_offset(self, dc_offset):
        """sim: DC offset."""
        self._update("dc_offset", complex(dc_offset))

    def set_timing_drift_ppm(self, timing_drift_ppm):
        """sim: timing drift (ppm); the sampling instants stay continuous."""
        self._update("timing_drift_ppm", float(timing_drift_ppm))

    # ---------------------------------------------------------------- bladerf

    @staticmethod
    def check_mode(loopback_mode, board=None):
        """The libbladeRF name of a loopback mode, checked for a board ("bladerf1"/"2")."""
        mode = MODE_ALIASES.get(str(loopback_mode).lower(), str(loopback_mode).lower())
        allowed = {"bladerf1": BLADERF1_MODES, "bladerf2": BLADERF2_MODES}.get(
            board, tuple(dict.fromkeys(BLADERF1_MODES + BLADERF2_MODES))
        )
        if mode not in allowed:
            on = f"a {board}" if board else "any BladeRF"
            raise ValueError(
                f"loopback_mode {loopback_mode!r} is not supported on {on}: choose one of "
                f"{', '.join(allowed)}"
            )
        return mode

    def _build_bladerf(self, device_args, loopback_mode, center_freq, sample_rate, tx_gain,
                       rx_gain):  # fmt: skip
        from gnuradio import soapy

        mode = self.check_mode(loopback_mode)
        args = [a.strip() for a in str(device_args).split(",") if a.strip()]
        drivers = [a.split("=", 1)[1].strip() for a in args if a.startswith("driver=")]
        if any(d != "bladerf" for d in drivers):
            raise ValueError(f"device_args {device_args!r} names another driver: radio='bladerf' "
                             "needs driver=bladerf (or no driver key)")  # fmt: skip
        device = ",".join(args if drivers else ["driver=bladerf", *args])
        self.device = device
        try:
            self.source = soapy.source(device, "fc32", 1, "", "", [""], [""])
        except RuntimeError as err:
            raise RuntimeError(
                f"no BladeRF found for device string {device!r} ({err}): attach one (check "
                "with `SoapySDRUtil --find=driver=bladerf`) or use radio='sim'"
            ) from None
        self.board = "bladerf2" if "FULL" in self.source.list_gains(0) else "bladerf1"
        self.loopback_mode = self.check_mode(mode, self.board)
        # The mode is set while RX and TX streams are still disabled (before start()).
        self.source.write_setting("loopback", self.loopback_mode)
        self.sink = soapy.sink(device, "fc32", 1, "", "", [""], [""])
        for blk, gain in ((self.source, rx_gain), (self.sink, tx_gain)):
            blk.set_sample_rate(0, float(sample_rate))
            blk.set_bandwidth(0, float(sample_rate))
            blk.set_frequency(0, float(center_freq))
            blk.set_gain(0, float(gain))
        self.connect(self, self.sink)
        self.connect(self.source, self)

    def set_center_freq(self, center_freq):
        """bladerf: TX and RX centre frequency (Hz)."""
        if self.radio == "bladerf":
            self.source.set_frequency(0, float(center_freq))
            self.sink.set_frequency(0, float(center_freq))

    def set_tx_gain(self, tx_gain):
        """bladerf: overall TX gain (dB)."""
        if self.radio == "bladerf":
            self.sink.set_gain(0, float(tx_gain))

    def set_rx_gain(self, rx_gain):
        """bladerf: overall RX gain (dB)."""
        if self.radio == "bladerf":
            self.source.set_gain(0, float(rx_gain))
