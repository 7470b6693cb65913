"""Wire format of the edge<->cloud messages, so byte counts are real encoded lengths.

Messages (little-endian):

- prompt (edge -> cloud): ``uint32 n`` + ``n x int32`` token ids.
- draft (edge -> cloud): ``uint32 K``, ``uint32 V`` (0 when no distribution is sent),
  ``K x int32`` ids, then ``K x V x float32`` draft probabilities when sampling.
  At temperature 0 only the ids travel (greedy verification needs nothing else).
- verdict (cloud -> edge): ``uint32 num_accepted`` + ``int32 next_token``.
- token (cloud -> edge, streaming decoders): ``int32`` id.

Transport headers (TCP/IP, framing) are the network simulator's business.
"""

from __future__ import annotations

import struct
from typing import Sequence

import numpy as np
import torch

_U32 = struct.Struct("<I")
_DRAFT_HEADER = struct.Struct("<II")
_VERDICT = struct.Struct("<Ii")


def encode_prompt(ids: Sequence[int]) -> bytes:
    """Encode prompt token ids (``4 + 4 n`` bytes)."""
    return _U32.pack(len(ids)) + np.asarray(ids, dtype="<i4").tobytes()


def decode_prompt(data: bytes) -> list[int]:
    """Inverse of :func:`encode_prompt`."""
    (n,) = _U32.unpack_from(data)
    return np.frombuffer(data, dtype="<i4", count=n, offset=_U32.size).tolist()


def encode_draft(ids: Sequence[int], q: torch.Tensor | None = None) -> bytes:
    """Encode a draft block.

    Parameters
    ----------
    ids : sequence of int, length K
        Drafted token ids.
    q : torch.Tensor, shape (K, V), optional
        Draft probabilities (sampling mode); ``None`` at temperature 0.

    Returns
    -------
    bytes
        ``8 + 4 K`` bytes, plus ``4 K V`` with ``q``.
    """
    k = len(ids)
    vocab = 0 if q is None or k == 0 else int(q.shape[-1])
    parts = [_DRAFT_HEADER.pack(k, vocab), np.asarray(ids, dtype="<i4").tobytes()]
    if vocab:
        assert q is not None
        parts.append(q.detach().to(torch.float32).reshape(k, vocab).numpy().astype("<f4").tobytes())
    return b"".join(parts)


def decode_draft(data: bytes) -> tuple[list[int], torch.Tensor | None]:
    """Inverse of :func:`encode_draft`: ``(ids, q or None)``, ``q`` of shape (K, V)."""
    k, vocab = _DRAFT_HEADER.unpack_from(data)
    offset = _DRAFT_HEADER.size
    ids = np.frombuffer(data, dtype="<i4", count=k, offset=offset).tolist()
    if not vocab:
        return ids, None
    offset += 4 * k
    q = np.frombuffer(data, dtype="<f4", count=k * vocab, offset=offset).reshape(k, vocab)
    return ids, torch.from_numpy(q.copy())


def encode_verdict(num_accepted: int, next_token: int) -> bytes:
    """Encode the cloud's answer to a draft block (8 bytes)."""
    return _VERDICT.pack(num_accepted, next_token)


def decode_verdict(data: bytes) -> tuple[int, int]:
    """Inverse of :func:`encode_verdict`."""
    n, tok = _VERDICT.unpack(data)
    return int(n), int(tok)


TOKEN_BYTES = 4
"""Size of one streamed token id (cloud-only decoding sends each token down)."""
