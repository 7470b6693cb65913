"""Per-message delay jitter: ``uniform`` (Ianvs), ``gauss`` (NASD) and ``lognormal``.

The configured ``network_jitter_ms`` = ``j`` (ms) parametrises each law:

============  =============================  ========  =========
dist          draw                           mean      std
============  =============================  ========  =========
uniform       U(-j, +j)                      0         j/sqrt(3)
gauss         N(0, j^2)                      0         j
lognormal     LogNormal(mu, s^2),            j         j
              s^2 = ln 2, mu = ln j - s^2/2
============  =============================  ========  =========

The link clips a draw at ``-propagation`` so a message never arrives before it
could have left (Ianvs's ``max(rtt + U(-j, j), 0)``, and the truncation at 0 of
the NASD Gaussian). The lognormal is a queueing-like, one-sided delay: it raises
the mean one-way delay by ``j``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

JitterDist = Literal["uniform", "gauss", "lognormal"]
JITTER_DISTS: tuple[str, ...] = ("uniform", "gauss", "lognormal")
_LOGNORMAL_S2 = math.log(2.0)  # CV = 1: s^2 = ln(1 + (std/mean)^2)


def draw_jitter_ms(
    rng: np.random.Generator, dist: str, jitter_ms: float, size: int | None = None
) -> float | np.ndarray:
    """Draw unclipped jitter.

    Parameters
    ----------
    rng : numpy.random.Generator
        The direction's jitter stream.
    dist : {"uniform", "gauss", "lognormal"}
        The law (module table).
    jitter_ms : float
        ``network_jitter_ms`` (ms, >= 0). Zero draws nothing and returns 0.
    size : int, optional
        Number of draws; ``None`` for one float.

    Returns
    -------
    float or numpy.ndarray of shape (size,)
        Jitter in ms.
    """
    if jitter_ms == 0.0:
        return 0.0 if size is None else np.zeros(size)
    if dist == "uniform":
        out = rng.uniform(-jitter_ms, jitter_ms, size)
    elif dist == "gauss":
        out = rng.normal(0.0, jitter_ms, size)
    elif dist == "lognormal":
        mu = math.log(jitter_ms) - _LOGNORMAL_S2 / 2
        out = rng.lognormal(mu, math.sqrt(_LOGNORMAL_S2), size)
    else:
        raise ValueError(f"network_jitter_dist={dist!r}: valid values: {', '.join(JITTER_DISTS)}")
    return float(out) if size is None else out


def jitter_moments(dist: str, jitter_ms: float) -> tuple[float, float]:
    """Return the (mean, std) in ms of an unclipped draw of ``dist`` with scale ``jitter_ms``."""
    if dist == "uniform":
        return 0.0, jitter_ms / math.sqrt(3.0)
    if dist == "gauss":
        return 0.0, jitter_ms
    if dist == "lognormal":
        return jitter_ms, jitter_ms
    raise ValueError(f"network_jitter_dist={dist!r}: valid values: {', '.join(JITTER_DISTS)}")
