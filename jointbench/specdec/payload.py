"""Wire format of the fixed edge<->cloud messages (the draft block is a codec's business).

Messages (little-endian):

- prompt (edge -> cloud): ``uint32 n`` + ``n x int32`` token ids.
- verdict (cloud -> edge): ``uint32 num_accepted`` + ``int32 next_token``.
- token(s) (cloud -> edge, streaming): ``int32`` ids.
- draft (edge -> cloud): encoded by a :mod:`~jointbench.specdec.codec` (``uint32 K``,
  ``uint32 V`` header, then what the codec sends).

Sizes are computed from the same ``struct`` layouts the encoders use. Transport headers
(TCP/IP, framing) are the network simulator's business.
"""

from __future__ import annotations

import struct
from typing import Sequence

import numpy as np

_U32 = struct.Struct("<I")
_VERDICT = struct.Struct("<Ii")
ID = np.dtype("<i4")

TOKEN_BYTES = ID.itemsize
"""Size of one streamed token id (bytes)."""
VERDICT_BYTES = _VERDICT.size
"""Size of the cloud's answer to a draft block (bytes)."""


def prompt_bytes(n: int) -> int:
    """Encoded size of an ``n``-token prompt (bytes)."""
    return _U32.size + TOKEN_BYTES * int(n)


def tokens_bytes(n: int) -> int:
    """Encoded size of ``n`` streamed token ids (bytes)."""
    return TOKEN_BYTES * int(n)


def encode_prompt(ids: Sequence[int]) -> bytes:
    """Encode prompt token ids (:func:`prompt_bytes` long)."""
    return _U32.pack(len(ids)) + np.asarray(ids, dtype=ID).tobytes()


def decode_prompt(data: bytes) -> list[int]:
    """Inverse of :func:`encode_prompt`."""
    (n,) = _U32.unpack_from(data)
    return np.frombuffer(data, dtype=ID, count=n, offset=_U32.size).tolist()


def encode_tokens(ids: Sequence[int]) -> bytes:
    """Encode bare token ids, no count (:func:`tokens_bytes` long): streamed tokens, a draft's pending ids."""
    return np.asarray(ids, dtype=ID).tobytes()


def decode_tokens(data: bytes) -> list[int]:
    """Inverse of :func:`encode_tokens`."""
    if len(data) % TOKEN_BYTES:
        raise ValueError(f"token ids are {TOKEN_BYTES} bytes each, got {len(data)} bytes")
    return np.frombuffer(data, dtype=ID).tolist()


def encode_verdict(num_accepted: int, next_token: int) -> bytes:
    """Encode the cloud's answer to a draft block (:data:`VERDICT_BYTES` long)."""
    return _VERDICT.pack(num_accepted, next_token)


def decode_verdict(data: bytes) -> tuple[int, int]:
    """Inverse of :func:`encode_verdict`."""
    n, tok = _VERDICT.unpack(data)
    return int(n), int(tok)
