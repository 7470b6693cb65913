"""Byte sizes of the payloads methods send (so every method counts bytes the same way).

Conventions follow Ianvs's payload types: token ids 4 B each (int32), a control
message 8 B, tensors ``numel * element_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TOKEN_ID_BYTES = 4
CONTROL_BYTES = 8


def text_bytes(text: str) -> int:
    """Return the UTF-8 size of ``text`` in bytes (no terminator, no length prefix)."""
    if not isinstance(text, str):
        raise TypeError(f"text_bytes expects a str, got {type(text).__name__}")
    return len(text.encode("utf-8"))


def token_bytes(tokens: int | Sequence[int] | Any, *, bytes_per_id: int = TOKEN_ID_BYTES) -> int:
    """Return the size of a token-id payload in bytes.

    Parameters
    ----------
    tokens : int or sequence of int or array
        A token count, or the ids themselves (list, numpy array, torch tensor).
    bytes_per_id : int
        Bytes per id; 4 (int32, enough for any vocabulary below 2**31) by default.

    Returns
    -------
    int
        ``count * bytes_per_id``.
    """
    if isinstance(tokens, bool):
        raise TypeError("token_bytes expects a count or a sequence of ids, got a bool")
    if isinstance(tokens, int):
        count = tokens
    elif hasattr(tokens, "numel"):
        count = int(tokens.numel())
    elif hasattr(tokens, "size") and not callable(tokens.size):
        count = int(tokens.size)
    else:
        count = len(tokens)
    if count < 0:
        raise ValueError(f"token count must be >= 0, got {count}")
    return count * bytes_per_id


def array_bytes(array: Any) -> int:
    """Return the raw size of a numpy array or torch tensor (``numel * element_size``)."""
    if hasattr(array, "element_size") and hasattr(array, "numel"):
        return int(array.numel()) * int(array.element_size())
    if hasattr(array, "nbytes"):
        return int(array.nbytes)
    raise TypeError(
        f"array_bytes expects a numpy array or torch tensor, got {type(array).__name__}"
    )
