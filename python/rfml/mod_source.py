# SPDX-License-Identifier: GPL-3.0-or-later
"""mod_source: random payload bytes -> one of the modulation classes, at unit power."""

import functools
import math

import numpy as np
import pmt
from gnuradio import analog, blocks, digital, filter, gr

from . import dsp
from .ml import params
from .ml.contract import CLASS_TAG_KEY, CLASSES, DEFAULT_SAMPLES_PER_SYMBOL, class_index

NFILTS = 32  # filters in the polyphase pulse-shaping resamplers (as gr-digital's psk_mod)
PACKET_LEN_KEY = "packet_len"
OUTPUT_BUFFER_ITEMS = 65536
GFSK_DEFAULT_MOD_INDEX = 1.0
GMSK_MOD_INDEX = 0.5
# GNU Radio's default OFDM layout (gr-digital ofdm_txrx): 48 data + 4 pilot carriers of 64.
_OFDM_DEFAULT_USED = 52
_OFDM_GR_DEFAULT_DATA = tuple(
    list(range(-26, -21)) + list(range(-20, -7)) + list(range(-6, 0)) + list(range(1, 7))
    + list(range(8, 21)) + list(range(22, 27))
)  # fmt: skip
_OFDM_GR_DEFAULT_PILOTS = (-21, -7, 7, 21)
_OFDM_HEADER_BITS = dsp.HEADER_BITS  # ofdm_tx puts the packet header in one OFDM symbol
_OFDM_FRAME_DEFAULT = 4000  # samples per frame (at most) when ofdm_packet_len is None
_OFDM_FRAME_MAX = 4096  # GNU Radio's default stream buffer; ofdm_tx emits whole frames
_OFDM_PILOT_SEQUENCE = np.random.default_rng(0x0FD).choice([-1.0, 1.0], size=127)


def ofdm_carriers(fft_len, occupied):
    """Data and pilot carrier indices for an FFT size and occupied fraction.

    Used carriers are +-1 .. +-h around DC (DC unused), ``2h = round(occupied * fft_len)``;
    one pilot per about 13 carriers, symmetric. For 64 bins and 52 used carriers this is
    gr-digital's default layout exactly.

    Returns:
        (data, pilots): tuples of carrier indices (negative = below DC).
    """
    half = int(round(occupied * fft_len / 2))
    if half < 1 or 2 * half >= fft_len:
        raise ValueError(
            f"ofdm_occupied={occupied} gives {2 * half} used carriers of {fft_len}: choose a "
            "fraction that leaves DC and at least one guard carrier free"
        )
    if fft_len == 64 and half == _OFDM_DEFAULT_USED // 2:
        return _OFDM_GR_DEFAULT_DATA, _OFDM_GR_DEFAULT_PILOTS
    n_pilots_half = max(1, round(half / 13))
    pos = [int(round((i + 0.5) * half / n_pilots_half + 0.5)) for i in range(n_pilots_half)]
    pilots = tuple(sorted([-p for p in pos] + pos))
    data = tuple(k for k in range(-half, half + 1) if k != 0 and k not in pilots)
    if len(data) < _OFDM_HEADER_BITS:
        raise ValueError(
            f"OFDM with fft_len={fft_len}, ofdm_occupied={occupied} has {len(data)} data "
            f"carriers; ofdm_tx needs >= {_OFDM_HEADER_BITS} for its one-symbol header: "
            "raise ofdm_fft_len or ofdm_occupied"
        )
    return data, pilots


# Output powers are remembered (generation builds many sources with the same pulse or
# frame; the numpy work is a few ms per source).
@functools.lru_cache(maxsize=256)
def _pfb_power(taps_bytes, nfilts, rate, mean, var):
    return dsp.pfb_output_power(np.frombuffer(taps_bytes), nfilts, rate, mean, var)


def _pfb_output_power(taps, nfilts, rate, mean, var):
    """dsp.pfb_output_power, remembered per taps and arguments."""
    taps = np.asarray(taps, dtype=np.float64).tobytes()
    return _pfb_power(taps, nfilts, float(rate), mean, var)


_OFDM_POWER = {}  # (fft_len, cp_len, occupied, bps, packet_len) -> power, at most 256


class mod_source(gr.hier_block2):
    """Random payload bytes modulated as one class, complex output at unit average power.

    The payload comes from ``analog.random_uniform_source_b(0, 256, seed)``, so the same
    seed gives the same bytes (``mod_source.payload_bytes``). Modulators:

    - OOK: ours; bits {0, 1} shaped by a "rect", "rrc" or "gaussian" pulse.
    - GFSK: gr-digital ``gfsk_mod`` with sensitivity ``pi * mod_index / sps``.
    - GMSK: gr-digital ``gmsk_mod`` (modulation index 0.5 by definition).
    - DBPSK / DQPSK: the chain of gr-digital ``psk_mod(2 or 4 points, gray,
      differential=True)`` (``packed_to_unpacked_bb``, ``map_bb``, ``diff_encoder_bb``,
      ``chunks_to_symbols_bc``), built block by block, with the "rrc" pulse over 11 symbols
      (an interpolating FIR at an integer sps, a polyphase filter bank otherwise) or our
      "rect" and "gaussian" pulses.
    - OFDM: gr-digital ``ofdm_tx`` on packets of ``ofdm_packet_len`` bytes.

    Non-integer samples per symbol: the pulse-shaped classes resample in their polyphase
    filter directly; GFSK/GMSK are made at ``ceil(sps)`` and resampled with gr-filter's
    ``pfb.arb_resampler_ccf``. The output is scaled by a gain computed from the pulse
    taps and symbol statistics (single carrier) or from the OFDM frame structure
    (``dsp.ofdm_frame_power``).

    The first output sample carries a stream tag ``rfml_class`` (the class name as a
    PMT symbol), the truth that blocks downstream score against.

    Args:
        modulation (str): a class of ``ml.contract.CLASSES`` (case-insensitive).
        samples_per_symbol (float): >= 2; ignored for OFDM (its symbol rate comes from
            ofdm_fft_len + ofdm_cp_len at the same sample rate).
        bt (float): Gaussian bandwidth-time product (GFSK, GMSK, "gaussian" pulse), > 0.
        excess_bw (float): root-raised-cosine roll-off (OOK/DBPSK/DQPSK "rrc"), (0, 1].
        mod_index (float or None): FSK modulation index; None = the class default
            (GFSK 1.0, GMSK 0.5; GMSK accepts only 0.5); ignored by other classes.
        pulse (str or None): "rrc", "rect" or "gaussian" for OOK/DBPSK/DQPSK; None = the
            class default ("rect" for OOK, "rrc" for DBPSK/DQPSK); ignored by the others.
        ofdm_fft_len (int): OFDM FFT size.
        ofdm_cp_len (int): OFDM cyclic prefix, samples (< ofdm_fft_len).
        ofdm_occupied (float): fraction of the FFT bins carrying data or pilots.
        ofdm_payload_bps (int): OFDM payload bits per carrier: 1 (BPSK), 2 (QPSK), 3 (8PSK).
        ofdm_packet_len (int or None): payload bytes per OFDM packet; None = the most
            whose frame (sync, header and payload symbols) fits 4000 samples. A frame
            must fit GNU Radio's 4096-sample default buffer.
        seed (int): seed of the payload bytes, 0 <= seed < 2**31.
        max_samples (int or None): end the stream after at least this many samples
            (a few percent more): the payload is cut to the bytes they need, so no block
            upstream works past them (a flowgraph that needs n samples wastes none);
            None = endless.
    """

    def __init__(
        self,
        modulation="GFSK",
        samples_per_symbol=DEFAULT_SAMPLES_PER_SYMBOL,
        bt=0.35,
        excess_bw=0.35,
        mod_index=None,
        pulse=None,
        ofdm_fft_len=64,
        ofdm_cp_len=16,
        ofdm_occupied=_OFDM_DEFAULT_USED / 64,
        ofdm_payload_bps=2,
        ofdm_packet_len=None,
        seed=0,
        max_samples=None,
    ):
        gr.hier_block2.__init__(
            self,
            "mod_source",
            gr.io_signature(0, 0, 0),
            gr.io_signature(1, 1, gr.sizeof_gr_complex),
        )
        self.modulation = CLASSES[class_index(modulation)]
        sps = float(samples_per_symbol)
        if not (math.isfinite(sps) and sps >= 2):
            raise ValueError(f"samples_per_symbol must be >= 2, got {samples_per_symbol}")
        if not 0 <= int(seed) < 2**31:
            raise ValueError(f"seed must be in [0, 2**31), got {seed}")
        self.samples_per_symbol = sps
        self.seed = int(seed)
        self.payload = analog.random_uniform_source_b(0, 256, self.seed)

        m = self.modulation
        if m in ("OOK", "DBPSK", "DQPSK"):
            self.pulse = pulse if pulse is not None else ("rect" if m == "OOK" else "rrc")
            chain, power = self._shaped(m, sps, self.pulse, excess_bw, bt)
        elif m in ("GFSK", "GMSK"):
            chain, power = self._fsk(m, sps, bt, mod_index)
        else:
            chain, power = self._ofdm(
                ofdm_fft_len, ofdm_cp_len, ofdm_occupied, ofdm_payload_bps, ofdm_packet_len
            )
        self.gain = 1.0 / math.sqrt(power)
        self.scale = blocks.multiply_const_cc(self.gain)
        self.tagger = blocks.annotator_raw(gr.sizeof_gr_complex)
        self.tagger.add_tag(0, pmt.intern(CLASS_TAG_KEY), pmt.intern(self.modulation))
        # A big output buffer lets (Python) blocks downstream work on big chunks.
        self.tagger.set_log_level("warn")  # not the info line of set_min_output_buffer
        self.tagger.set_min_output_buffer(OUTPUT_BUFFER_ITEMS)
        payload = [self.payload]
        if max_samples is not None:
            n_bytes = self._payload_bytes_for(int(max_samples), sps, chain)
            payload.append(blocks.head(gr.sizeof_char, n_bytes))
        self.connect(*payload, *chain, self.scale, self.tagger, self)

    def _payload_bytes_for(self, n_samples, sps, chain):
        """Payload bytes that give at least n_samples output samples: 2% and 32 bytes
        more than the nominal rate (the filters hold back their last taps' worth)."""
        if n_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {n_samples}")
        if self.modulation == "OFDM":  # whole packets, one frame each
            frames = math.ceil(n_samples / self.ofdm_frame_len) + 1
            return frames * self.ofdm_packet_len
        bits = 2 if self.modulation == "DQPSK" else 1
        return math.ceil(n_samples * 1.02 * bits / (8 * sps)) + 32

    # ---------------------------------------------------------------- class chains

    def _shaped(self, m, sps, pulse, excess_bw, bt):
        """OOK / DBPSK / DQPSK: symbols -> pulse shaping at sps."""
        excess_bw = params.real(excess_bw, "excess_bw", 0, 1, low_open=True)
        mean, var = (0.5, 0.25) if m == "OOK" else (0.0, 1.0)
        if m != "OOK" and pulse == "rrc":
            # gr-digital psk_mod's chain (generic_mod: the blocks below) with its RRC over 11
            # symbols (what its "ntaps_per_filt = 11" intends; it spans 11*int(sps)); at an
            # integer rate an interpolating FIR with the same taps replaces the arbitrary-rate
            # filter bank (exact taps, 3x faster). Built directly: a psk_mod costs
            # milliseconds to construct.
            if sps == int(sps):
                taps = filter.firdes.root_raised_cosine(sps, sps, 1.0, excess_bw, 11 * int(sps))
                shaper = filter.interp_fir_filter_ccf(int(sps), taps)
                power = _pfb_output_power(taps, int(sps), sps, mean, var)
            else:
                taps = filter.firdes.root_raised_cosine(NFILTS, NFILTS, 1.0, excess_bw, 11 * NFILTS)
                shaper = filter.pfb_arb_resampler_ccf(sps, taps, NFILTS)
                power = _pfb_output_power(taps, NFILTS, sps, mean, var)
        elif sps == int(sps):
            taps = dsp.pulse_taps(pulse, int(sps), excess_bw, bt)
            shaper = filter.interp_fir_filter_ccf(int(sps), taps.astype(np.float32).tolist())
            power = _pfb_output_power(taps, int(sps), sps, mean, var)
        else:
            proto = dsp.pulse_taps(pulse, NFILTS, excess_bw, bt)
            shaper = filter.pfb_arb_resampler_ccf(sps, proto.astype(np.float32).tolist(), NFILTS)
            power = _pfb_output_power(proto, NFILTS, sps, mean, var)
        if m == "OOK":
            chain = [
                blocks.packed_to_unpacked_bb(1, gr.GR_MSB_FIRST),
                digital.chunks_to_symbols_bc([0, 1]),
                shaper,
            ]
            return chain, power
        const = digital.psk_constellation(2 if m == "DBPSK" else 4, "gray", True)
        k = const.bits_per_symbol()
        chain = [
            blocks.packed_to_unpacked_bb(k, gr.GR_MSB_FIRST),
            digital.map_bb(const.pre_diff_code()),
            digital.diff_encoder_bb(2**k),
            digital.chunks_to_symbols_bc(const.points()),
            shaper,
        ]
        return chain, power

    def _fsk(self, m, sps, bt, mod_index):
        """GFSK / GMSK from gr-digital at integer sps, resampled when sps is not."""
        if bt <= 0:
            raise ValueError(f"bt must be > 0, got {bt}")
        sps_int = math.ceil(sps - 1e-9)
        if m == "GMSK":
            if mod_index is not None and mod_index != GMSK_MOD_INDEX:
                raise ValueError(
                    f"GMSK has modulation index {GMSK_MOD_INDEX} by definition; got "
                    f"mod_index={mod_index}: use GFSK for other indices or leave it None"
                )
            self.mod_index = GMSK_MOD_INDEX
            chain = [digital.gmsk_mod(samples_per_symbol=sps_int, bt=bt)]
            amplitude = 1.0
        else:
            self.mod_index = GFSK_DEFAULT_MOD_INDEX if mod_index is None else float(mod_index)
            if not self.mod_index > 0:
                raise ValueError(f"mod_index must be > 0, got {mod_index}")
            sensitivity = math.pi * self.mod_index / sps_int
            chain = [digital.gfsk_mod(samples_per_symbol=sps_int, sensitivity=sensitivity, bt=bt)]
            amplitude = 0.999  # gfsk_mod's output attenuation
        if sps_int != sps:
            chain.append(filter.pfb.arb_resampler_ccf(sps / sps_int, atten=80))
        return chain, amplitude**2

    def _ofdm(self, fft_len, cp_len, occupied, bps, packet_len):
        """OFDM packets from gr-digital's ofdm_tx; its power from the frame structure."""
        fft_len, cp_len, bps = int(fft_len), int(cp_len), int(bps)
        if fft_len < 8 or not 0 <= cp_len < fft_len:
            raise ValueError(f"need ofdm_fft_len >= 8 and 0 <= ofdm_cp_len < ofdm_fft_len, "
                             f"got {fft_len}, {cp_len}")  # fmt: skip
        if bps not in (1, 2, 3):
            raise ValueError(f"ofdm_payload_bps must be 1, 2 or 3, got {bps}")
        data, pilots = ofdm_carriers(fft_len, occupied)

        def frame_len(n_bytes):  # 2 sync + 1 header symbols, payload + CRC32 symbols
            return (3 + math.ceil((n_bytes + 4) * 8 / (len(data) * bps))) * (fft_len + cp_len)

        if packet_len is None:  # fill the payload symbols that fit the default frame
            n_payload = _OFDM_FRAME_DEFAULT // (fft_len + cp_len) - 3
            packet_len = min(4091, n_payload * len(data) * bps // 8 - 4)
        packet_len = int(packet_len)
        if not 1 <= packet_len <= 4091 or frame_len(packet_len) > _OFDM_FRAME_MAX:
            raise ValueError(
                f"ofdm_packet_len={packet_len} gives {frame_len(packet_len)} samples per "
                f"frame; need 1..4091 bytes and <= {_OFDM_FRAME_MAX} samples: lower "
                "ofdm_packet_len or leave it None, or lower ofdm_fft_len + ofdm_cp_len"
            )
        self.ofdm_params = dict(
            fft_len=fft_len,
            cp_len=cp_len,
            packet_length_tag_key=PACKET_LEN_KEY,
            occupied_carriers=(data,),
            pilot_carriers=(pilots,),
            pilot_symbols=tuple(tuple(s * np.ones(len(pilots))) for s in _OFDM_PILOT_SEQUENCE),
            bps_header=1,
            bps_payload=bps,
        )
        self.ofdm_packet_len = packet_len
        self.ofdm_frame_len = frame_len(packet_len)

        tx = digital.ofdm_tx(**self.ofdm_params)
        const = {1: digital.constellation_bpsk, 2: digital.constellation_qpsk,
                 3: digital.constellation_8psk}[bps]()  # fmt: skip
        power = _OFDM_POWER.get(key := (fft_len, cp_len, float(occupied), bps, packet_len))
        if power is None:
            power = dsp.ofdm_frame_power(
                tx.sync_words, data, pilots, self.ofdm_params["pilot_symbols"], fft_len,
                cp_len, bps, packet_len,
                payload_power=float(np.mean(np.abs(np.asarray(const.points())) ** 2)),
            )  # fmt: skip
            if len(_OFDM_POWER) >= 256:
                _OFDM_POWER.clear()
            _OFDM_POWER[key] = power
        tagger = blocks.stream_to_tagged_stream(gr.sizeof_char, 1, packet_len, PACKET_LEN_KEY)
        return [tagger, tx], power

    # ---------------------------------------------------------------- helpers

    @staticmethod
    def payload_bytes(n, seed=0):
        """The first n payload bytes that mod_source(seed=seed) modulates (uint8 (n,))."""
        tb = gr.top_block()
        sink = blocks.vector_sink_b()
        tb.connect(analog.random_uniform_source_b(0, 256, int(seed)), blocks.head(1, n), sink)
        tb.run()
        return np.asarray(sink.data(), dtype=np.uint8)
