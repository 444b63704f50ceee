# SPDX-License-Identifier: GPL-3.0-or-later
"""The codec packet: one self-describing, versioned packet of bytes per compressed vector.

Layout (format version 1, big-endian, 18 header bytes; docs/codec_packet.md):

=======  =====  ==========================================================================
offset   bytes  field
=======  =====  ==========================================================================
0        2      magic ``b"HQ"``
2        1      format version (1)
3        1      level k
4        4      model id: the first 4 bytes of the SHA-256 of the checkpoint's weights
8        2      codebook size K (1 .. 65535); each index takes b = ceil(log2 K) bits (b >= 1)
10       2      code count T
12       2      vector length L (samples)
14       4      scale: the vector's RMS (float32); 0 marks a vector that was not encoded
18       n      T indices of b bits, most significant bit first, zero-padded to
                n = ceil(T b / 8) bytes
=======  =====  ==========================================================================

A packet has exactly ``18 + ceil(T b / 8)`` bytes: anything shorter or longer, another magic
or version, an index >= K, or a non-finite or negative scale is a :class:`PacketError`.
Decoding needs only the packet and the checkpoint whose model id it carries; a packet of
another model, or whose level, K, T or L do not match the model's, is refused with one
:class:`PacketError` naming what differs.
"""

import hashlib
import math
import struct
from dataclasses import dataclass

import numpy as np

from ..dsp.codec import pack_bits, unpack_bits
from .contract import CLASS_TAG_KEY, SNR_TAG_KEY

MAGIC = b"HQ"
VERSION = 1

# Defaults shared by the codec blocks, their GRC YAML and the apps.
DEFAULT_LEVEL = 3
DEFAULT_BATCH_SIZE = 64
# Stream tags the compressor copies into each PDU's metadata (the latest value seen) and the
# decompressor puts back on the decoded vectors.
FORWARDED_TAGS = (CLASS_TAG_KEY, SNR_TAG_KEY)
_HEADER = struct.Struct(">2sBB4sHHHf")
HEADER_BYTES = _HEADER.size  # 18


class PacketError(ValueError):
    """A packet that cannot be read, or that does not fit the model decoding it."""


def index_bits(codebook_size):
    """Bits per code index: ceil(log2 K), at least 1."""
    return max(1, math.ceil(math.log2(int(codebook_size))))


def packet_bytes(codebook_size, code_count):
    """Bytes of one packet with T = ``code_count`` indices of a K-entry codebook."""
    return HEADER_BYTES + -(-int(code_count) * index_bits(codebook_size) // 8)


def model_id(model):
    """The 4-byte id of a model: the first bytes of the SHA-256 of its weights (every
    state-dict tensor, its name then its bytes, in key order)."""
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.digest()[:4]


@dataclass(frozen=True)
class Packet:
    """One compressed vector.

    Args:
        level (int): the codec level k.
        model_id (bytes): 4 bytes naming the checkpoint.
        codebook_size (int): K.
        vector_length (int): L.
        scale (float): the vector's RMS (0 for a vector that was not encoded).
        codes (numpy.ndarray): int64 (T,) indices in 0..K-1.
    """

    level: int
    model_id: bytes
    codebook_size: int
    vector_length: int
    scale: float
    codes: np.ndarray

    def to_bytes(self):
        """The packet's bytes (see the module docstring)."""
        codes = np.asarray(self.codes, np.int64)
        k = int(self.codebook_size)
        if not 1 <= k <= 0xFFFF:
            raise PacketError(f"codebook size {k} does not fit a packet (1..65535)")
        if codes.ndim != 1 or len(codes) > 0xFFFF:
            raise PacketError(f"a packet holds up to 65535 indices in one row, got {codes.shape}")
        if len(codes) and (codes.min() < 0 or codes.max() >= k):
            raise PacketError(f"code indices must lie in 0..{k - 1}")
        if not 0 < self.vector_length <= 0xFFFF or not 0 <= self.level <= 0xFF:
            raise PacketError(
                f"vector length {self.vector_length} or level {self.level} does not fit "
                "a version-1 packet (L 1..65535, level 0..255)"
            )
        if len(self.model_id) != 4:
            raise PacketError(f"a model id has 4 bytes, got {len(self.model_id)}")
        head = _HEADER.pack(MAGIC, VERSION, self.level, bytes(self.model_id), k, len(codes),
                            self.vector_length, self.scale)  # fmt: skip
        return head + pack_bits(codes[None, :], index_bits(k)).tobytes()

    @classmethod
    def from_bytes(cls, data):
        """Read a packet; :class:`PacketError` says what is wrong with bytes that are not
        one."""
        data = bytes(data)
        if len(data) < HEADER_BYTES:
            raise PacketError(
                f"packet of {len(data)} bytes is shorter than the {HEADER_BYTES}-byte header"
            )
        magic, version, level, mid, k, t, length, scale = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise PacketError(f"not a codec packet: magic {magic!r}, expected {MAGIC!r}")
        if version != VERSION:
            raise PacketError(
                f"packet format version {version}; this gr-rfml reads version {VERSION}"
            )
        if k < 1 or length < 1:
            raise PacketError(f"packet header holds codebook size {k} and vector length {length}")
        if not math.isfinite(scale) or scale < 0:
            raise PacketError(f"packet scale {scale} is not a finite non-negative number")
        expected = packet_bytes(k, t)
        if len(data) != expected:
            raise PacketError(
                f"packet has {len(data)} bytes but its header ({t} indices of "
                f"{index_bits(k)} bits) needs {expected}: truncated or padded in transit"
            )
        payload = np.frombuffer(data, np.uint8, offset=HEADER_BYTES)[None, :]
        codes = unpack_bits(payload, index_bits(k), t)[0]
        if t and codes.max() >= k:
            raise PacketError(f"packet holds index {int(codes.max())} >= codebook size {k}")
        return cls(level, mid, k, length, float(scale), codes)


def write_packets(codes, scales, *, level, codebook_size, vector_length, model_id):
    """A batch of packets: codes int (B, T), scales float (B,) -> list of B ``bytes``."""
    codes = np.asarray(codes, np.int64)
    scales = np.asarray(scales, np.float32)
    bits = index_bits(codebook_size)
    head = [
        _HEADER.pack(
            MAGIC, VERSION, level, model_id, codebook_size, codes.shape[1], vector_length, float(s)
        )  # fmt: skip
        for s in scales
    ]
    payload = pack_bits(codes, bits) if codes.size else np.zeros((len(codes), 0), np.uint8)
    return [h + p.tobytes() for h, p in zip(head, payload, strict=True)]


class PacketCodec:
    """Complex vectors <-> packets through a codec runner (``ml.inference.CodecRunner``).

    Args:
        runner (CodecRunner): the codec model on its device.
        model_id (bytes): 4-byte id of the checkpoint (:func:`model_id`).
    """

    def __init__(self, runner, model_id):
        self.runner = runner
        self.model_id = bytes(model_id)
        self.levels = tuple(range(_levels(runner.model)))

    def check_level(self, level):
        """The level as an int; PacketError naming the levels when the model lacks it."""
        try:
            level = int(level)
        except (TypeError, ValueError):
            level = -1
        if level not in self.levels:
            raise PacketError(
                f"level {level} is not a level of this codec: choose one of "
                f"{', '.join(map(str, self.levels))}"
            )
        return level

    def packet_bytes(self, level):
        """Bytes of one packet at ``level``."""
        level = self.check_level(level)
        model = self.runner.model
        return packet_bytes(model.codebook_size(level), model.code_length(level))

    def compress(self, iq, level):
        """complex (B, L) -> (list of B packets (bytes), valid bool (B,)); an invalid vector
        (NaN/Inf/zero) gets a packet of scale 0, which decodes to zeros."""
        level = self.check_level(level)
        codes, scales, valid = self.runner.encode(iq, level)
        packets = write_packets(codes, scales, level=level,
                                codebook_size=self.runner.model.codebook_size(level),
                                vector_length=self.runner.vector_length,
                                model_id=self.model_id)  # fmt: skip
        return packets, valid

    def read(self, data):
        """Read one packet and check it against the model: a :class:`Packet` or one
        PacketError naming what does not fit."""
        packet = Packet.from_bytes(data)
        if packet.model_id != self.model_id:
            raise PacketError(
                f"packet of model {packet.model_id.hex()}, this decoder holds model "
                f"{self.model_id.hex()}: decode it with the checkpoint that encoded it"
            )
        level = self.check_level(packet.level)
        model = self.runner.model
        want = (model.codebook_size(level), model.code_length(level), self.runner.vector_length)
        have = (packet.codebook_size, len(packet.codes), packet.vector_length)
        if have != want:
            raise PacketError(
                f"level-{level} packet holds K={have[0]}, T={have[1]}, L={have[2]}, but the "
                f"model's level {level} has K={want[0]}, T={want[1]}, L={want[2]}"
            )
        return packet

    def decompress(self, packets):
        """Packets (already read by :meth:`read`) -> complex64 (B, L), batched by level."""
        out = np.zeros((len(packets), self.runner.vector_length), np.complex64)
        for level in sorted({p.level for p in packets}):
            idx = [i for i, p in enumerate(packets) if p.level == level]
            codes = np.stack([packets[i].codes for i in idx])
            scales = np.array([packets[i].scale for i in idx], np.float32)
            out[idx] = self.runner.decode(codes, scales, level)
        return out


def load_codec(model_path="", vector_length=None, device="auto"):
    """A self-checked :class:`PacketCodec` of a checkpoint ("" = the shipped hqarf weights)
    and its card: ``(codec, card)``."""
    from .inference import load_runner

    runner, card = load_runner(model_path, kind="hqarf", vector_length=vector_length,
                               device=device)  # fmt: skip
    codec = PacketCodec(runner, model_id(runner.model))
    runner.self_check(codec.levels)
    return codec, card


def _levels(model):
    """How many levels a codec model has (it answers code_length for 0..n-1)."""
    n = 0
    while True:
        try:
            model.code_length(n)
        except ValueError:
            return n
        n += 1


# ----------------------------------------------------------------------------- container

CONTAINER_MAGIC = b"RFMLC\x01"  # magic and container version 1
_RECORD = struct.Struct(">H")
_SNR = struct.Struct(">f")


def write_container(path, packets, *, label=None, snr_db=None, meta=None):
    """Write packets (and each vector's label and SNR) as one ``.rfc`` file, atomically.

    Layout (big-endian; docs/codec_packet.md): ``b"RFMLC\\x01"``, u32 length n of a UTF-8
    JSON header, the header (``vectors``, ``has_label``, ``has_snr_db`` and ``meta``), then
    one record per vector: u16 packet length, the packet, a u8 label when ``has_label``, a
    float32 SNR in dB when ``has_snr_db``. Returns the file's size in bytes.
    """
    import json
    import os
    from pathlib import Path

    path = Path(path)
    if label is not None and (np.min(label) < 0 or np.max(label) > 255):
        raise ValueError("labels must lie in 0..255 to be kept in a container")
    head = json.dumps({"vectors": len(packets), "has_label": label is not None,
                       "has_snr_db": snr_db is not None, "meta": meta or {}}).encode()  # fmt: skip
    parts = [CONTAINER_MAGIC, struct.pack(">I", len(head)), head]
    for i, p in enumerate(packets):
        parts += [_RECORD.pack(len(p)), p]
        if label is not None:
            parts.append(bytes([int(label[i])]))
        if snr_db is not None:
            parts.append(_SNR.pack(float(snr_db[i])))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(b"".join(parts))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.stat().st_size


def read_container(path):
    """Read a ``.rfc`` file: ``(packets (list of bytes), label int64 (N,) or None, snr_db
    float32 (N,) or None, meta dict)``; PacketError names what is wrong with a bad file."""
    import json
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; make one with `rfml compress`")
    data = path.read_bytes()
    if data[:6] != CONTAINER_MAGIC:
        raise PacketError(f"{path} is not an rfml compress container (version 1)")
    try:
        (n,) = struct.unpack_from(">I", data, 6)
        head = json.loads(data[10 : 10 + n])
        count = int(head["vectors"])
        has_label, has_snr = bool(head["has_label"]), bool(head["has_snr_db"])
    except (struct.error, ValueError, KeyError, TypeError) as e:
        raise PacketError(f"{path}: unreadable container header ({e})") from None
    pos, packets, labels, snrs = 10 + n, [], [], []
    for i in range(count):
        if pos + 2 > len(data):
            raise PacketError(f"{path} ends after {i} of its {count} vectors: truncated")
        (size,) = _RECORD.unpack_from(data, pos)
        end = pos + 2 + size + has_label + 4 * has_snr
        if end > len(data):
            raise PacketError(f"{path} ends inside vector {i} of {count}: truncated")
        packets.append(data[pos + 2 : pos + 2 + size])
        pos += 2 + size
        if has_label:
            labels.append(data[pos])
            pos += 1
        if has_snr:
            snrs.append(_SNR.unpack_from(data, pos)[0])
            pos += 4
    if pos != len(data):
        raise PacketError(f"{path} has {len(data) - pos} bytes after its {count} vectors")
    label = np.array(labels, np.int64) if has_label else None
    snr_db = np.array(snrs, np.float32) if has_snr else None
    return packets, label, snr_db, head.get("meta", {})
