"""Per-trial cascade metrics of CAb and its baselines, and their summary over trials.

A served input gets the edge set and the edge top-1 answer; a deferred input gets the
cloud highest-mass set and the cloud top-1 answer. Every array below has shape (T, m):
T trials (batch axis) by m test inputs.

Definitions (per trial):

* ``deferral_rate`` = deferred / m.
* ``sr`` (average satisfaction rate) = satisfied served / served, and **1 when nothing
  is served** (FDR convention: no false discovery); this is the quantity CAb bounds,
  E[sr] >= 1 - delta. ``sr_nonempty`` is NaN instead, so its mean over trials is the SR
  over trials that served something; ``empty`` flags those trials.
* ``ni`` (normalized inefficiency) = mean over inputs of |served set| / |cloud set|
  (1 for deferred inputs).
* ``coverage`` = share of inputs whose sampled reference label y ~ p*(.|x) is in the
  served set, computed per row (not the authors' N x N broadcast).
* ``accuracy`` = share of inputs with a valid answer key whose served top-1 answer is
  the key (edge top-1 = the edge argmax, which lies inside every non-empty edge set).
* ``key_coverage`` = share of inputs with a valid key whose served set holds the key.
* ``set_size`` = mean served set size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUMMARY_METRICS: tuple[str, ...] = (
    "deferral_rate",
    "sr",
    "sr_nonempty",
    "empty",
    "ni",
    "coverage",
    "accuracy",
    "key_coverage",
    "set_size",
    "n_served",
)


@dataclass(frozen=True)
class ServedOutcome:
    """What each test input would get from the edge and from the cloud.

    All fields have shape (T, m).
    """

    satisfied: np.ndarray
    edge_size: np.ndarray
    cloud_size: np.ndarray
    edge_covers: np.ndarray
    cloud_covers: np.ndarray
    edge_correct: np.ndarray
    cloud_correct: np.ndarray
    edge_has_key: np.ndarray
    cloud_has_key: np.ndarray
    key_valid: np.ndarray


def _mean_where(values: np.ndarray, where: np.ndarray) -> np.ndarray:
    count = where.sum(axis=-1)
    total = np.where(where, values, 0).sum(axis=-1)
    return np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)


def cascade_metrics(serve: np.ndarray, out: ServedOutcome) -> dict[str, np.ndarray]:
    """Per-trial metrics of one routing decision.

    Parameters
    ----------
    serve : ndarray of bool, shape (T, m)
        True where the edge serves the input.
    out : ServedOutcome

    Returns
    -------
    dict of str to ndarray of shape (T,)
    """
    serve = np.asarray(serve, dtype=bool)
    m = serve.shape[-1]
    n_served = serve.sum(axis=-1)
    n_sat = (serve & out.satisfied).sum(axis=-1)
    sr_nonempty = np.divide(
        n_sat, n_served, out=np.full(n_served.shape, np.nan), where=n_served > 0
    )
    ratio = np.where(serve, out.edge_size / np.maximum(out.cloud_size, 1), 1.0)
    return {
        "deferral_rate": 1.0 - n_served / m,
        "sr": np.where(n_served > 0, sr_nonempty, 1.0),
        "sr_nonempty": sr_nonempty,
        "empty": (n_served == 0).astype(np.float64),
        "ni": ratio.mean(axis=-1),
        "coverage": np.where(serve, out.edge_covers, out.cloud_covers).mean(axis=-1),
        "accuracy": _mean_where(
            np.where(serve, out.edge_correct, out.cloud_correct), out.key_valid
        ),
        "key_coverage": _mean_where(
            np.where(serve, out.edge_has_key, out.cloud_has_key), out.key_valid
        ),
        "set_size": np.where(serve, out.edge_size, out.cloud_size).mean(axis=-1),
        "n_served": n_served.astype(np.float64),
    }


def summarize(per_trial: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean and std over trials of each metric (NaN-aware).

    Returns ``<metric>_mean`` and ``<metric>_std`` for every metric, plus ``sr_pooled``
    (satisfied served / served, pooled over all trials; NaN if nothing was served).
    """
    out: dict[str, float] = {}
    for name, values in per_trial.items():
        values = np.asarray(values, dtype=np.float64)
        finite = values[~np.isnan(values)]
        out[f"{name}_mean"] = float(finite.mean()) if finite.size else float("nan")
        out[f"{name}_std"] = float(finite.std()) if finite.size else float("nan")
    if "sr_nonempty" in per_trial and "n_served" in per_trial:
        served = np.asarray(per_trial["n_served"])
        sat = np.nan_to_num(np.asarray(per_trial["sr_nonempty"])) * served
        out["sr_pooled"] = float(sat.sum() / served.sum()) if served.sum() else float("nan")
    return out
