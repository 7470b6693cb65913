"""Byte-level building blocks of the uplink payload and the update codec.

LEB128 varints, k-bit packing of unsigned integers, and index coding of sorted positions
(a bitmap or varint-coded gaps, whichever is shorter, flagged by one byte).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Reader", "decode_indices", "encode_indices", "pack_bits", "unpack_bits", "varint"]

INDEX_BITMAP = 0
INDEX_GAPS = 1


def varint(value: int) -> bytes:
    """Unsigned LEB128 encoding of ``value`` (>= 0): 7 bits per byte, high bit = more follows."""
    if value < 0:
        raise ValueError(f"varint: value must be >= 0, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Reader:
    """Sequential reader over ``bytes`` (raises ``ValueError`` on truncation)."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        if self.pos + n > len(self.data):
            raise ValueError(f"truncated message: wanted {n} bytes at offset {self.pos}, have {len(self.data)}")
        chunk = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return chunk

    def u8(self) -> int:
        """One unsigned byte."""
        return self.take(1)[0]

    def varint(self) -> int:
        """One LEB128 varint."""
        shift, value = 0, 0
        while True:
            byte = self.u8()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def array(self, dtype: str, count: int) -> np.ndarray:
        """``count`` little-endian elements of ``dtype``."""
        dt = np.dtype(dtype).newbyteorder("<")
        return np.frombuffer(self.take(dt.itemsize * count), dtype=dt).copy()

    def done(self) -> bool:
        """Whether every byte was consumed."""
        return self.pos == len(self.data)


def pack_bits(values: np.ndarray, bits: int) -> bytes:
    """Pack unsigned integers ``< 2**bits`` into ``ceil(len * bits / 8)`` bytes (MSB first)."""
    v = np.asarray(values, dtype=np.uint64)
    if not 1 <= bits <= 32:
        raise ValueError(f"bits: must be in 1..32, got {bits}")
    if v.size and int(v.max()) >= (1 << bits):
        raise ValueError(f"pack_bits: value {int(v.max())} does not fit in {bits} bits")
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint64)
    bit_matrix = ((v[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bit_matrix.reshape(-1)).tobytes()


def unpack_bits(data: bytes, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_bits` (int64 array of length ``count``)."""
    flat = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:count * bits]
    if flat.size != count * bits:
        raise ValueError(f"unpack_bits: {len(data)} bytes hold fewer than {count} values of {bits} bits")
    weights = (1 << np.arange(bits - 1, -1, -1, dtype=np.int64))
    return flat.reshape(count, bits).astype(np.int64) @ weights


def packed_len(count: int, bits: int) -> int:
    """Bytes :func:`pack_bits` produces for ``count`` values of ``bits`` bits."""
    return (count * bits + 7) // 8


def encode_indices(indices: np.ndarray, length: int) -> bytes:
    """Code strictly increasing positions in ``[0, length)``: bitmap or gap varints, the shorter.

    Layout: one mode byte, then either ``ceil(length / 8)`` bitmap bytes or
    ``varint(k)`` followed by ``k`` varint gaps (first position, then differences - 1).
    """
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size and (idx[0] < 0 or idx[-1] >= length or np.any(np.diff(idx) <= 0)):
        raise ValueError("encode_indices: positions must be strictly increasing and inside [0, length)")
    mask = np.zeros(length, dtype=np.uint8)
    mask[idx] = 1
    bitmap = bytes([INDEX_BITMAP]) + np.packbits(mask).tobytes()
    gaps = np.diff(np.concatenate([[-1], idx])) - 1
    coded = bytes([INDEX_GAPS]) + varint(int(idx.size)) + b"".join(varint(int(g)) for g in gaps)
    return coded if len(coded) < len(bitmap) else bitmap


def decode_indices(reader: Reader, length: int) -> np.ndarray:
    """Inverse of :func:`encode_indices`, reading from ``reader``."""
    mode = reader.u8()
    if mode == INDEX_BITMAP:
        bits = np.unpackbits(np.frombuffer(reader.take((length + 7) // 8), dtype=np.uint8))[:length]
        return np.flatnonzero(bits).astype(np.int64)
    if mode == INDEX_GAPS:
        k = reader.varint()
        gaps = np.array([reader.varint() for _ in range(k)], dtype=np.int64)
        return np.cumsum(gaps + 1) - 1
    raise ValueError(f"decode_indices: unknown index mode byte {mode}")
