"""The type-lattice quantiser of QS-SD / SQS-SD and the enumerative index of a lattice point.

The lattice of resolution ``ell`` on the ``n``-simplex is
``Q_ell = {k / ell : k in Z_{>=0}^n, sum k = ell}`` (the types with denominator ``ell``);
it has ``C(ell + n - 1, n - 1)`` points, so a point's index takes
``ceil(log2 C(ell + n - 1, n - 1))`` bits (:func:`lattice_bits`).

:func:`nearest_type` is Reznik's algorithm (DCC 2011), as in QS-SD's
``sampling/utils.py::lattice_based_quantization_torch``: round ``ell p`` to the nearest
integers, then fix the sum by moving the ``|delta|`` entries whose rounding error
``zeta_i = k_i - ell p_i`` is the most favourable. It returns an exact minimiser of the
Euclidean distance ``||k / ell - p||_2`` over ``Q_ell`` (and of ``||k/ell - p||_1``): the
objective is separable and convex in each ``k_i``; after rounding, every coordinate
sits at its own minimum, the marginal cost of ``+1`` at ``i`` is ``2 zeta_i + 1`` and of
``-1`` is ``1 - 2 zeta_i`` (in units of ``1 / ell^2``), both monotone in ``zeta_i``, and a
second step at the same coordinate costs at least as much as any first step, so the
greedy correction is optimal. A decrement never makes a count negative: with
``delta < 0`` the ``zeta_i <= 1/2`` sum to ``|delta|``, so at least ``2 |delta|`` of them are
positive, and a positive ``zeta_i`` needs ``k_i >= 1``. Ties (equidistant points) are
broken deterministically in favour of lower ids (they keep or get the contested count).
Differences from QS-SD's code: float64 instead of float32, and an explicit tie rule.

The index (:func:`lattice_rank`) is the stars-and-bars bijection: a composition ``k`` of
``ell`` into ``n`` parts is a sequence of ``ell`` stars and ``n - 1`` bars, and its stars'
positions form an ``ell``-subset of ``{0 .. ell + n - 2}``, ranked by
:func:`~jointbench.specdec.enumcode.subset_rank`. Cost ``O(ell)`` binomials to rank and
``O(ell log(ell + n))`` to unrank, independent of how many parts are zero (dense QS-SD
over a 49k vocabulary ranks only the ``<= ell`` nonzero counts).
"""

from __future__ import annotations

from math import ceil, comb

import numpy as np

from jointbench.specdec.enumcode import index_bits, subset_rank, subset_unrank

#: The suite's one lattice-resolution rule for sparse drafts (K-SQS and C-SQS alike):
#: ``ell = max(ELL_FLOOR, ceil(ELL_PER_TOKEN * |S|))``. The floor 16 is QS-SD's static
#: resolution and leaves every support of <= 8 tokens at ell = 16; 2 per token bounds the
#: quantisation distortion ``TV(q~, k / ell) < |S| / (2 ell) = 1/4`` whatever the support
#: (methods notes §2.5) at about ``|S| log2(3 e / 2)`` ~ 2 bits per support token.
ELL_FLOOR = 16
ELL_PER_TOKEN = 2.0


def nearest_type(p: np.ndarray, ell: int) -> np.ndarray:
    """Counts ``k`` of the lattice point nearest to ``p`` (Euclidean), ``sum k = ell``.

    Parameters
    ----------
    p : numpy.ndarray, shape (n,)
        Probabilities (non-negative, summing to 1 up to rounding).
    ell : int
        Lattice resolution, ``>= 1``.

    Returns
    -------
    numpy.ndarray, shape (n,), int64
        ``k >= 0`` with ``k.sum() == ell``; the quantised distribution is ``k / ell``.
    """
    if not isinstance(ell, (int, np.integer)) or ell < 1:
        raise ValueError(f"ell: must be an int >= 1, got {ell!r}")
    x = float(ell) * np.asarray(p, dtype=np.float64).reshape(-1)
    if x.size == 0 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError("p must be a non-empty vector of finite non-negative probabilities")
    k = np.floor(x + 0.5).astype(np.int64)
    delta = int(ell) - int(k.sum())
    if abs(delta) > k.size:  # |delta| <= n/2 when sum(p) = 1
        raise ValueError(f"p is too far from a probability vector (sum {float(x.sum()) / ell})")
    if delta != 0:
        zeta = k - x
        if delta > 0:  # add 1 where the rounding error is most negative (lowest index on ties)
            order = np.lexsort((np.arange(k.size), zeta))
            k[order[:delta]] += 1
        else:  # remove 1 where it is most positive (highest index on ties)
            order = np.lexsort((-np.arange(k.size), -zeta))
            k[order[:-delta]] -= 1
    if k.min() < 0:  # cannot happen for a probability vector; guards a badly normalised p
        raise ValueError(f"p is too far from a probability vector (sum {float(x.sum()) / ell})")
    return k


def lattice_size(n: int, ell: int) -> int:
    """``C(ell + n - 1, n - 1)``: number of points of ``Q_ell`` on the ``n``-simplex."""
    if n < 1 or ell < 0:
        raise ValueError(f"need n >= 1 and ell >= 0, got n={n}, ell={ell}")
    return comb(ell + n - 1, n - 1)


def lattice_bits(n: int, ell: int) -> int:
    """``ceil(log2 C(ell + n - 1, n - 1))``: bits of a lattice index (0 when ``n = 1``)."""
    return index_bits(lattice_size(n, ell))


def lattice_rank(counts: np.ndarray) -> int:
    """Enumerative index of a composition, in ``[0, lattice_size(n, ell))``.

    Parameters
    ----------
    counts : numpy.ndarray, shape (n,), int
        Non-negative counts summing to ``ell``.
    """
    k = np.asarray(counts, dtype=np.int64).reshape(-1)
    if k.size == 0 or k.min() < 0:
        raise ValueError("counts must be a non-empty vector of non-negative ints")
    nz = np.flatnonzero(k)
    # star j of part i sits at position (stars before it) + i
    parts = np.repeat(nz, k[nz])
    stars = parts + np.arange(parts.size)
    return subset_rank(stars.tolist(), int(k.sum()) + k.size - 1)


def lattice_unrank(index: int, n: int, ell: int) -> np.ndarray:
    """Inverse of :func:`lattice_rank`: counts of shape (n,), int64, summing to ``ell``."""
    stars = np.asarray(subset_unrank(index, ell + n - 1, ell), dtype=np.int64)
    return np.bincount(stars - np.arange(ell), minlength=n).astype(np.int64)


def resolution(ell: int, ell_per_token: float, support_size: int) -> int:
    """Lattice resolution for a support of ``support_size`` tokens: ``max(ell, ceil(c |S|))``.

    The codecs' defaults are the suite's rule, ``ell = ELL_FLOOR``, ``c = ELL_PER_TOKEN``.

    Scaling ``ell`` with the support keeps the quantisation distortion
    ``TV(q~, k / ell) < |S| / (2 ell)`` bounded as supports grow (methods notes §2.5);
    ``ell_per_token = 0`` keeps a fixed ``ell``. The decoder recomputes it from the
    decoded support size, so it is never sent.
    """
    if ell < 1 or ell_per_token < 0 or support_size < 1:
        raise ValueError("need ell >= 1, ell_per_token >= 0, support_size >= 1; "
                         f"got {ell}, {ell_per_token}, {support_size}")
    return max(int(ell), int(ceil(ell_per_token * support_size)))


def sample_counts(counts: np.ndarray, rng: np.random.Generator) -> int:
    """Exact draw of an index ``i`` with probability ``counts[i] / counts.sum()``.

    Integer inverse-CDF on a uniform ``u`` in ``{0 .. ell - 1}``, so the draw follows the
    lattice distribution with no floating-point error.
    """
    k = np.asarray(counts, dtype=np.int64)
    u = int(rng.integers(int(k.sum())))
    return int(np.searchsorted(np.cumsum(k), u, side="right"))
