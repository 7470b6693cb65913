"""The uplink message: exactly what the edge sends the cloud for one uploaded sample.

Layout (little-endian), all counted by the network simulator as ``len(encode(...))``:

=====================  ==========================================================
version, id width w    2 bytes (w = 2 when the vocabulary fits in uint16, else 4)
n_options, T, d        varints
token ids              T x w bytes (the whole prompt: the cloud answers from it)
edge option probs      n x fp16 (for token-level fusion on the cloud)
kept positions         :func:`~jointbench.uncertainty.bitio.encode_indices` (bitmap or gaps)
feature format         1 byte: 0 = fp16, 1 = int8 with one fp16 scale per token
kept features          k x d values in that format (the UTS-2 uncertainty tokens' final
                       hidden states; the cloud's feature losses use them)
=====================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jointbench.uncertainty.bitio import Reader, decode_indices, encode_indices, varint

__all__ = ["FEATURE_FORMATS", "Uplink", "decode_uplink", "encode_uplink"]

VERSION = 1
FEATURE_FORMATS = {"fp16": 0, "int8": 1}


@dataclass
class Uplink:
    """Decoded contents of an uplink message.

    Attributes
    ----------
    ids : numpy.ndarray of int64, shape (T,)
    option_probs : numpy.ndarray of float32, shape (n,)
    positions : numpy.ndarray of int64, shape (k,)
        Increasing positions of the kept (uncertain) tokens.
    features : numpy.ndarray of float32, shape (k, d)
    """

    ids: np.ndarray
    option_probs: np.ndarray
    positions: np.ndarray
    features: np.ndarray


def encode_uplink(ids: np.ndarray, option_probs: np.ndarray, positions: np.ndarray, features: np.ndarray,
                  vocab_size: int, feature_format: str = "fp16") -> bytes:
    """Encode one upload (see the module doc for the layout).

    Parameters
    ----------
    ids : (T,) ints in ``[0, vocab_size)``
    option_probs : (n,) floats
    positions : (k,) strictly increasing ints in ``[0, T)``
    features : (k, d) floats
    vocab_size : int
    feature_format : {"fp16", "int8"}
    """
    if feature_format not in FEATURE_FORMATS:
        raise ValueError(f"Unknown feature_format {feature_format!r}. Available: {', '.join(FEATURE_FORMATS)}")
    ids = np.asarray(ids, dtype=np.int64)
    feats = np.asarray(features, dtype=np.float32)
    pos = np.asarray(positions, dtype=np.int64)
    if feats.ndim != 2 or feats.shape[0] != pos.size:
        raise ValueError(f"features: expected shape (k={pos.size}, d), got {feats.shape}")
    width = 2 if vocab_size <= 1 << 16 else 4
    parts = [bytes([VERSION, width]), varint(len(option_probs)), varint(ids.size), varint(feats.shape[1]),
             ids.astype("<u2" if width == 2 else "<u4").tobytes(),
             np.asarray(option_probs, dtype="<f2").tobytes(), encode_indices(pos, ids.size),
             bytes([FEATURE_FORMATS[feature_format]])]
    if feature_format == "fp16":
        parts.append(feats.astype("<f2").tobytes())
    else:
        peak = np.abs(feats).max(axis=1) if feats.size else np.zeros(0, np.float32)
        scale = (peak / 127.0).astype(np.float16)
        safe = np.where(scale > 0, scale.astype(np.float32), 1.0)[:, None]
        parts.append(scale.astype("<f2").tobytes())
        parts.append(np.clip(np.rint(feats / safe), -127, 127).astype(np.int8).tobytes())
    return b"".join(parts)


def decode_uplink(data: bytes) -> Uplink:
    """Inverse of :func:`encode_uplink` (fp16 / int8 rounding aside)."""
    r = Reader(data)
    version, width = r.u8(), r.u8()
    if version != VERSION or width not in (2, 4):
        raise ValueError(f"uplink message: unknown version {version} or id width {width}")
    n, t, d = r.varint(), r.varint(), r.varint()
    ids = r.array("u2" if width == 2 else "u4", t).astype(np.int64)
    probs = r.array("f2", n).astype(np.float32)
    pos = decode_indices(r, t)
    fmt = r.u8()
    if fmt == FEATURE_FORMATS["fp16"]:
        feats = r.array("f2", pos.size * d).astype(np.float32).reshape(pos.size, d)
    elif fmt == FEATURE_FORMATS["int8"]:
        scale = r.array("f2", pos.size).astype(np.float32)
        feats = r.array("i1", pos.size * d).astype(np.float32).reshape(pos.size, d) * scale[:, None]
    else:
        raise ValueError(f"uplink message: unknown feature format byte {fmt}")
    if not r.done():
        raise ValueError("uplink message: trailing bytes")
    return Uplink(ids, probs, pos, feats)
