"""JSON serialisation of records that may hold numpy values."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays (and nested containers) to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


#: One encoder for every line: ``json.dumps`` with these options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_default)


def dumps(value: Any) -> str:
    """One compact JSON line (non-finite floats become null, numpy values plain numbers).

    The C encoder handles the common case; only a value holding a NaN/inf or a non-string
    dict key takes the slower :func:`to_jsonable` path, which gives the same result.
    """
    try:
        return _ENCODER.encode(value)
    except (ValueError, TypeError):
        return json.dumps(to_jsonable(value), ensure_ascii=False)
