"""A disk cache of :func:`~jointbench.conformal.localized.rlcp_thresholds` for features given by row.

RLCP is the costly step of an LCP edge set: for each of B trials, an (m, D) x (D, n) product,
m x (n + 1) kernel weights and their cumulative sums, and m x D Gaussian perturbations. A job
that sweeps other hyperparameters recomputes the same thresholds on every run, so they are kept
on disk, keyed by everything that decides them:

- the feature table (hashed), the calibration and test row indices and the calibration scores,
- ``alpha``, ``sigma``, ``clamp`` and ``chunk`` (the chunk decides which batched products run),
- the generator's full state before the draws, and the numpy version (its normal sampler and
  linear algebra).

A hit returns the stored arrays and leaves the generator in the state the computation would
have left it in (stored with the entry), so later draws from it are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any

import numpy as np

from jointbench.cache import atomic_write_npz, cache_dir, cache_key
from jointbench.conformal.localized import rlcp_thresholds

CACHE_KIND = "rlcp"
#: Bump when the stored layout or the meaning of the thresholds changes.
CACHE_FORMAT = 1


def _digest(a: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes (C order)."""
    arr = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def rlcp_key(features: np.ndarray, cal_rows: np.ndarray, cal_scores: np.ndarray, test_rows: np.ndarray,
             alpha: float, sigma: float, rng: np.random.Generator, clamp: float | None, chunk: int) -> str:
    """The cache key of one :func:`cached_rlcp_thresholds` call (see the module docstring)."""
    return cache_key(
        CACHE_KIND, CACHE_FORMAT,
        features=_digest(features), cal_rows=_digest(np.asarray(cal_rows, dtype=np.int64)),
        cal_scores=_digest(np.asarray(cal_scores, dtype=np.float64)),
        test_rows=_digest(np.asarray(test_rows, dtype=np.int64)),
        alpha=repr(float(alpha)), sigma=repr(float(sigma)),
        clamp=None if clamp is None else repr(float(clamp)), chunk=int(chunk),
        rng=json.dumps(rng.bit_generator.state, sort_keys=True, default=str), numpy=np.__version__,
    )


def cached_rlcp_thresholds(
    features: np.ndarray,
    cal_rows: np.ndarray,
    cal_scores: np.ndarray,
    test_rows: np.ndarray,
    alpha: float,
    sigma: float,
    rng: np.random.Generator,
    *,
    clamp: float | None = None,
    chunk: int = 8,
    use_cache: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``rlcp_thresholds(features[cal_rows], cal_scores, features[test_rows], ...)``, cached on disk.

    Parameters
    ----------
    features : ndarray, shape (N, D)
        Feature table (e.g. the embeddings of every question).
    cal_rows : ndarray of int, shape (B, n)
        Calibration rows of each batch entry (trial).
    cal_scores : ndarray, shape (B, n)
        Their calibration scores.
    test_rows : ndarray of int, shape (B, m)
        Rows that get a threshold.
    alpha, sigma, rng, clamp, chunk
        As in :func:`~jointbench.conformal.localized.rlcp_thresholds`.
    use_cache : bool
        False computes without reading or writing the cache.

    Returns
    -------
    thresholds, ess : ndarray of float64, shape (B, m)
        Bit-identical to the uncached call; ``rng`` ends in the same state.
    """
    features = np.asarray(features)

    def compute() -> tuple[np.ndarray, np.ndarray]:
        return rlcp_thresholds(features[cal_rows], cal_scores, features[test_rows], alpha, sigma, rng,
                               clamp=clamp, chunk=chunk)

    if not use_cache:
        return compute()
    key = rlcp_key(features, cal_rows, cal_scores, test_rows, alpha, sigma, rng, clamp, chunk)
    path = cache_dir() / CACHE_KIND / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                if int(z["format"]) == CACHE_FORMAT:
                    thresholds, ess = z["thresholds"].copy(), z["ess"].copy()
                    state: dict[str, Any] = json.loads(str(z["rng_after"]))
                    rng.bit_generator.state = state
                    return thresholds, ess
        except (OSError, ValueError, KeyError) as exc:  # unreadable entry: recompute and overwrite
            warnings.warn(f"ignoring unreadable RLCP cache entry {path}: {exc}", stacklevel=2)
    thresholds, ess = compute()
    try:
        atomic_write_npz(path, format=np.int64(CACHE_FORMAT), thresholds=thresholds, ess=ess,
                         rng_after=np.asarray(json.dumps(rng.bit_generator.state)))
    except OSError as exc:  # a read-only cache costs time, not results
        warnings.warn(f"could not write the RLCP cache entry {path}: {exc}", stacklevel=2)
    return thresholds, ess
