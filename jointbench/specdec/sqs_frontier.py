"""A codec against the K-SQS bits -> rejection frontier, with a paired bootstrap over units.

"Comparable bits", made precise. The K-SQS codecs of a grid of support sizes give points
``(bits per draft token, rejection %)``; their Pareto front (fewer bits and lower
rejection) interpolated linearly in ``log(bits)`` is the frontier
(:func:`frontier_at`), i.e. the lowest rejection K-SQS reaches with at most that many
bits. Another codec (C-SQS) at ``b`` bits is judged by its **gap** ``rej - frontier(b)``
in percentage points: negative means it rejects less than K-SQS does at the same bits.
Outside the grid's bit range the gap is undefined (``nan``): nothing is extrapolated.

Noise. Every codec runs the same units (one unit = one prompt and sampling seed), so the
comparison is paired: :func:`bootstrap_gap` resamples the units with replacement, the
same draw for every codec, pools each codec's sums (bits, drafted tokens, TV over
verified positions, verified positions; :func:`~jointbench.specdec.sqs_metrics.totals`)
and recomputes the frontier and the gap. A gap is called significant when the
percentile interval excludes 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np


def pareto(bits: np.ndarray, rej: np.ndarray) -> np.ndarray:
    """Indices of the Pareto points (no other point has fewer-or-equal bits and lower rejection).

    Parameters
    ----------
    bits, rej : numpy.ndarray, shape (n,)
        Bits per draft token and rejection (%) of ``n`` codecs.

    Returns
    -------
    numpy.ndarray, shape (m,), int
        Indices in increasing bits (and so strictly decreasing rejection).
    """
    order = np.lexsort((np.asarray(rej, float), np.asarray(bits, float)))
    keep, best = [], np.inf
    for i in order:
        if rej[i] < best:
            keep.append(int(i))
            best = float(rej[i])
    return np.asarray(keep, dtype=np.int64)


def frontier_at(bits: np.ndarray, rej: np.ndarray, at: float) -> float:
    """The Pareto front of ``(bits, rej)`` interpolated linearly in ``log(bits)`` at ``at`` bits.

    Between the last Pareto point and the largest ``bits`` of the grid (a larger K that does
    not reject less) the frontier stays at the last Pareto point's rejection, which that many
    bits can reach. ``nan`` below the fewest bits, above the most, or when ``at`` is not positive.
    """
    bits = np.asarray(bits, dtype=np.float64)
    rej = np.asarray(rej, dtype=np.float64)
    ok = np.isfinite(bits) & np.isfinite(rej) & (bits > 0)
    if not ok.any() or not at > 0:
        return float("nan")
    idx = np.flatnonzero(ok)[pareto(bits[ok], rej[ok])]
    xs, ys = np.log(bits[idx]), rej[idx]
    x = float(np.log(at))
    if x < xs[0] - 1e-12 or x > float(np.log(bits[ok].max())) + 1e-12:
        return float("nan")
    return float(np.interp(x, xs, ys))  # flat past the last Pareto point: its rejection is reachable


def _rates(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bits per drafted token, rejection %)`` from sums of shape (..., 4)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return sums[..., 0] / sums[..., 1], 100.0 * sums[..., 2] / sums[..., 3]


@dataclass(frozen=True)
class Gap:
    """A codec's gap to the frontier (pp; negative = rejects less than K-SQS at its bits).

    Attributes
    ----------
    bits : float
        The codec's pooled bits per draft token.
    rej : float
        Its pooled analytic rejection (%).
    frontier : float
        The K-SQS frontier at ``bits`` (%), ``nan`` outside its range.
    gap, lo, hi, se : float
        ``rej - frontier`` (pp), its bootstrap percentile interval and standard error.
    """

    bits: float
    rej: float
    frontier: float
    gap: float
    lo: float
    hi: float
    se: float

    @property
    def lower(self) -> bool:
        """Significantly below the frontier: the whole interval is below 0."""
        return bool(np.isfinite(self.hi) and self.hi < 0)


def bootstrap_gap(ksqs: Mapping[str, np.ndarray], codec: np.ndarray, n_boot: int = 2000, level: float = 0.95,
                  seed: int = 0) -> Gap:
    """Gap of ``codec`` to the frontier of ``ksqs``, with a paired bootstrap over units.

    Parameters
    ----------
    ksqs : mapping of str to numpy.ndarray, shape (n_units, 4)
        Per K-SQS codec, each unit's :func:`~jointbench.specdec.sqs_metrics.totals`; row
        ``u`` of every array (and of ``codec``) must be the same prompt and seed.
    codec : numpy.ndarray, shape (n_units, 4)
        The judged codec's per-unit totals.
    n_boot : int
        Bootstrap replicates.
    level : float
        Coverage of the percentile interval.
    seed : int
        Seed of the resampling.
    """
    stack = np.stack([np.asarray(a, dtype=np.float64) for a in ksqs.values()] + [np.asarray(codec, np.float64)])
    n_units = stack.shape[1]
    if stack.ndim != 3 or stack.shape[2] != 4 or n_units < 2:
        raise ValueError(f"need arrays of shape (n_units >= 2, 4) for every codec, got {stack.shape}")

    def gap_of(sums: np.ndarray) -> tuple[float, float, float]:
        bits, rej = _rates(sums)
        f = frontier_at(bits[:-1], rej[:-1], float(bits[-1]))
        return float(bits[-1]), float(rej[-1]), f

    bits, rej, f = gap_of(stack.sum(axis=1))
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot).astype(np.float64)
    boot = np.einsum("bu,cuk->bck", weights, stack)  # (n_boot, codecs, 4) resampled sums
    gaps = np.array([b - fr for b, fr in (gap_of(s)[1:] for s in boot)])
    gaps = gaps[np.isfinite(gaps)]
    if gaps.size < 0.9 * n_boot:  # the codec's bits left the frontier's range in many replicates
        lo = hi = se = float("nan")
    else:
        tail = 100.0 * (1.0 - level) / 2.0
        lo, hi = (float(v) for v in np.percentile(gaps, [tail, 100.0 - tail]))
        se = float(gaps.std(ddof=1))
    return Gap(bits, rej, f, rej - f, lo, hi, se)


__all__ = ["Gap", "bootstrap_gap", "frontier_at", "pareto"]
