"""Type and range checks for module constructor parameters (INTERFACES A.1).

Each function returns the value converted to its type or raises ``TypeError`` /
``ValueError`` whose message starts with the key and shows the bad value, e.g.
``"delta: must be a number in (0, 1), got 'abc'"``; the embedded runner adds the YAML
file and the grid point. YAML gives ints for whole numbers, so a float parameter accepts
an int, while an int parameter refuses ``2.5`` and ``True``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from typing import Any

__all__ = ["check_bool", "check_choice", "check_file", "check_float", "check_int", "check_str"]


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    left = "(" if lo_open or lo is None else "["
    right = ")" if hi_open or hi is None else "]"
    low = "-inf" if lo is None else f"{lo:g}"
    high = "inf" if hi is None else f"{hi:g}"
    return f"{left}{low}, {high}{right}"


def check_float(key: str, value: Any, lo: float | None = None, hi: float | None = None, *,
                lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite real number in the interval ``lo..hi`` (open ends as flagged)."""
    where = _interval(lo, hi, lo_open, hi_open)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise TypeError(f"{key}: must be a number in {where}, got {value!r}")
    v = float(value)
    if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and (v > hi or (hi_open and v == hi))):
        raise ValueError(f"{key}: must be a number in {where}, got {value!r}")
    return v


def check_int(key: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """A whole number (not a bool, not 2.5) in ``[lo, hi]``."""
    where = _interval(lo, hi, False, False)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key}: must be a whole number in {where}, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{key}: must be a whole number in {where}, got {value!r}")
    return int(value)


def check_bool(key: str, value: Any) -> bool:
    """``true`` or ``false`` (YAML booleans; the string ``"false"`` would be truthy, so it is refused)."""
    if not isinstance(value, bool):
        raise TypeError(f"{key}: must be true or false, got {value!r}")
    return value


def check_choice(key: str, value: Any, choices: Collection[Any]) -> Any:
    """One of ``choices``."""
    if value not in choices:
        raise ValueError(f"{key}: must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_str(key: str, value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key}: must be a non-empty string, got {value!r}")
    return value


def check_file(key: str, value: Any, optional: bool = True) -> str | None:
    """The path of an existing file (``None`` allowed when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not os.path.isfile(value):
        raise ValueError(f"{key}: file {value!r} not found (relative paths are resolved against the "
                         f"current directory {os.getcwd()})")
    return value
