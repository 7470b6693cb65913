"""Validation of module hyperparameters: errors name the key, the bad value and what is allowed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def check_number(key: str, value: Any, kind: type, ok: Callable[[float], bool], allowed: str) -> Any:
    """Return ``value`` if it is a ``kind`` (int also accepted for float) satisfying ``ok``.

    Raises
    ------
    TypeError, ValueError
        ``"<key>: must be <allowed>, got <value!r>"``.
    """
    types = (int, float) if kind is float else (int,)
    if isinstance(value, bool) or not isinstance(value, types):
        raise TypeError(f"{key}: must be {allowed}, got {value!r}")
    if not ok(value):
        raise ValueError(f"{key}: must be {allowed}, got {value!r}")
    return kind(value)


def check_choice(key: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices`` (message lists them)."""
    options = sorted(choices)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{key}: must be one of {', '.join(options)}, got {value!r}")
    return value


def check_str(key: str, value: Any) -> str:
    """Return ``value`` if it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key}: must be a non-empty string, got {value!r}")
    return value
