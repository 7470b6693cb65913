"""Number parsing for configuration values, with errors that name the key."""

from __future__ import annotations

import math
from typing import Any


def as_number(key: str, value: Any) -> float:
    """Return ``value`` as a float (numbers and numeric strings; not bool, not NaN).

    Raises
    ------
    ValueError
        ``"<key>=<value>: ..."`` when ``value`` is not a number or is NaN.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{key}={value!r}: expected a number")
    try:
        x = float(value)
    except ValueError:
        raise ValueError(f"{key}={value!r}: expected a number") from None
    if math.isnan(x):
        raise ValueError(f"{key}={value!r}: must not be NaN")
    return x
