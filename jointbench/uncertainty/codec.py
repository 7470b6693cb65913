"""DWC, the downlink update codec: top-rho sparsification, k-bit quantisation, index coding.

The cloud sends ``delta = theta_new - theta_old`` of the edge's trainable tensors. Both sides
know the ordered tensor names and shapes (the trainable subset is agreed once), so the message
carries only a fingerprint of that layout. Per tensor, :class:`TopKQuantCodec` keeps the
``ceil(rho * numel)`` entries largest in magnitude, quantises them to signed ``bits``-bit
integers with one fp32 scale per tensor (``scale = max|kept| / (2**(bits-1) - 1)``,
round to nearest) and codes their positions with :func:`~jointbench.uncertainty.bitio.encode_indices`.
:class:`DenseFP16Codec` (every entry as fp16) is the baseline. ``len(encode(...))`` is the
byte count the network simulator is given: the real encoded size.

Error bound of the sparse codec, per tensor: a kept entry is off by at most ``scale / 2``;
a dropped one by its own magnitude, at most the smallest kept magnitude
(:meth:`TopKQuantCodec.error_bound`).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from jointbench.uncertainty.bitio import Reader, decode_indices, encode_indices, pack_bits, packed_len, unpack_bits
from jointbench.uncertainty.bitio import varint

__all__ = ["CODECS", "DenseFP16Codec", "TopKQuantCodec", "apply_update", "layout_fingerprint", "make_codec"]

VERSION = 1
Layout = Mapping[str, tuple[int, ...]]


def layout_fingerprint(layout: Layout) -> int:
    """CRC-32 of the ordered names and shapes (4 bytes on the wire; catches a layout mismatch)."""
    text = ";".join(f"{name}:{'x'.join(map(str, shape))}" for name, shape in layout.items())
    return zlib.crc32(text.encode())


def _header(codec_id: int, layout: Layout) -> bytes:
    return bytes([VERSION, codec_id]) + varint(len(layout)) + struct.pack("<I", layout_fingerprint(layout))


def _read_header(reader: Reader, codec_id: int, layout: Layout) -> None:
    version, cid, n = reader.u8(), reader.u8(), reader.varint()
    (crc,) = struct.unpack("<I", reader.take(4))
    if version != VERSION or cid != codec_id:
        raise ValueError(f"update message: version/codec {version}/{cid}, expected {VERSION}/{codec_id}")
    if n != len(layout) or crc != layout_fingerprint(layout):
        raise ValueError("update message: its tensor layout does not match the edge's trainable tensors")


def _as_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).cpu().numpy().reshape(-1)


class DenseFP16Codec:
    """Every entry of every tensor as IEEE fp16 (the baseline of the issue)."""

    codec_id = 0
    name = "dense-fp16"

    def encode(self, delta: Mapping[str, torch.Tensor]) -> bytes:
        """Serialise ``delta`` (ordered name -> tensor)."""
        layout = {k: tuple(v.shape) for k, v in delta.items()}
        body = b"".join(_as_np(v).astype("<f2").tobytes() for v in delta.values())
        return _header(self.codec_id, layout) + body

    def decode(self, data: bytes, layout: Layout) -> dict[str, torch.Tensor]:
        """Rebuild the tensors (fp32) for ``layout`` (ordered name -> shape)."""
        reader = Reader(data)
        _read_header(reader, self.codec_id, layout)
        out = {name: torch.from_numpy(reader.array("f2", math.prod(shape)).astype(np.float32)).reshape(shape)
               for name, shape in layout.items()}
        if not reader.done():
            raise ValueError("update message: trailing bytes")
        return out


@dataclass(frozen=True)
class TopKQuantCodec:
    """Top-``rho`` entries per tensor, ``bits``-bit symmetric quantisation, coded positions.

    Parameters
    ----------
    rho : float
        Fraction of each tensor's entries kept, in (0, 1].
    bits : int
        Bits per kept value, 2..16 (levels ``-(2**(bits-1)-1) .. 2**(bits-1)-1``).
    """

    rho: float = 0.1
    bits: int = 4
    codec_id = 1
    name = "topk-quant"

    def __post_init__(self) -> None:
        if isinstance(self.rho, bool) or not isinstance(self.rho, (int, float)) or not 0.0 < self.rho <= 1.0:
            raise ValueError(f"rho: must be a float in (0, 1], got {self.rho!r}")
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not 2 <= self.bits <= 16:
            raise ValueError(f"bits: must be an int in 2..16, got {self.bits!r}")

    @property
    def qmax(self) -> int:
        """Largest quantisation level."""
        return (1 << (self.bits - 1)) - 1

    def kept(self, numel: int) -> int:
        """Entries kept of a tensor with ``numel`` entries: ``ceil(rho * numel)``."""
        return min(numel, math.ceil(self.rho * numel - 1e-9))

    def _select(self, flat: np.ndarray) -> np.ndarray:
        order = np.argsort(-np.abs(flat), kind="stable")
        return np.sort(order[:self.kept(flat.size)])

    def _scale(self, values: np.ndarray) -> np.float32:
        peak = float(np.max(np.abs(values))) if values.size else 0.0
        return np.float32(peak / self.qmax) if peak > 0 else np.float32(0.0)

    def encode(self, delta: Mapping[str, torch.Tensor]) -> bytes:
        """Serialise ``delta`` (ordered name -> tensor) compressed."""
        layout = {k: tuple(v.shape) for k, v in delta.items()}
        parts = [_header(self.codec_id, layout)]
        for tensor in delta.values():
            flat = _as_np(tensor)
            idx = self._select(flat)
            scale = self._scale(flat[idx])
            q = np.zeros(idx.size, dtype=np.int64) if scale == 0 else np.clip(
                np.rint(flat[idx] / scale), -self.qmax, self.qmax).astype(np.int64)
            parts.append(varint(idx.size) + struct.pack("<f", float(scale)) + encode_indices(idx, flat.size)
                         + pack_bits(q + self.qmax, self.bits))
        return b"".join(parts)

    def decode(self, data: bytes, layout: Layout) -> dict[str, torch.Tensor]:
        """Rebuild dense fp32 tensors for ``layout`` (dropped entries are 0)."""
        reader = Reader(data)
        _read_header(reader, self.codec_id, layout)
        out: dict[str, torch.Tensor] = {}
        for name, shape in layout.items():
            numel = math.prod(shape)
            k = reader.varint()
            (scale,) = struct.unpack("<f", reader.take(4))
            idx = decode_indices(reader, numel)
            if idx.size != k:
                raise ValueError(f"update message: tensor {name}: {idx.size} positions for {k} values")
            q = unpack_bits(reader.take(packed_len(k, self.bits)), self.bits, k) - self.qmax
            flat = np.zeros(numel, dtype=np.float32)
            flat[idx] = q.astype(np.float32) * np.float32(scale)
            out[name] = torch.from_numpy(flat).reshape(shape)
        if not reader.done():
            raise ValueError("update message: trailing bytes")
        return out

    def error_bound(self, delta: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """Per tensor, the largest ``|decoded - delta|`` the codec allows (see the module doc)."""
        bounds = {}
        for name, tensor in delta.items():
            flat = _as_np(tensor)
            idx = self._select(flat)
            scale = float(self._scale(flat[idx]))
            dropped = float(np.min(np.abs(flat[idx]))) if idx.size < flat.size else 0.0
            # 1e-6 relative slack for the fp32 products on both sides.
            bounds[name] = max(scale / 2.0, dropped) * (1 + 1e-6) + 1e-12
        return bounds


CODECS = {"dense-fp16": DenseFP16Codec, "topk-quant": TopKQuantCodec}
"""Update codecs by name."""


def make_codec(name: str, rho: float = 0.1, bits: int = 4) -> DenseFP16Codec | TopKQuantCodec:
    """Build the codec registered as ``name`` (``rho``/``bits`` apply to ``topk-quant``)."""
    if name not in CODECS:
        raise ValueError(f"Unknown update codec {name!r}. Available: {', '.join(sorted(CODECS))}")
    return DenseFP16Codec() if name == "dense-fp16" else TopKQuantCodec(rho=rho, bits=bits)


@torch.no_grad()
def apply_update(params: Mapping[str, torch.nn.Parameter | torch.Tensor],
                 delta: Mapping[str, torch.Tensor]) -> None:
    """The edge's side: ``theta += delta`` for every named tensor (in place)."""
    missing = [k for k in delta if k not in params]
    if missing:
        raise KeyError(f"update names tensors the edge does not have: {missing[:3]}")
    for name, d in delta.items():
        params[name].add_(d.to(params[name].dtype).reshape(params[name].shape))
