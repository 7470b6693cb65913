"""Seeded Monte-Carlo evaluation of CAb and its baselines, vectorised across trials.

The trials themselves (splits, labels, edge sets) come from
:class:`jointbench.cab.trials.TrialContext`; this module applies the routing rules
(CAb, confidence-based deferral, edge-only, cloud-only) and the per-trial metrics.
200 trials of CAb with CP sets cost a few tens of milliseconds.

Every arm run in one :func:`run_experiment` call sees the same splits and labels
(independent RNG streams per purpose, derived from ``seed``), so arms are paired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

from jointbench.cab.baselines import (
    cloud_only,
    confidence_deferral,
    edge_only,
    tuned_cbd_threshold,
)
from jointbench.cab.data import CascadeData
from jointbench.cab.metrics import cascade_metrics, summarize
from jointbench.cab.options import CabOptions, Mode
from jointbench.cab.selection import FeatureKind, fit_predict_scores
from jointbench.cab.sets import hms_mask
from jointbench.cab.trials import DEFAULT_SPLITS, EDGE_SETS, TrialContext
from jointbench.conformal import benjamini_hochberg, conformal_pvalues

Method = Literal["cab", "cbd", "edge_only", "cloud_only"]
EdgeSet = Literal["hms", "cp", "lcp"]
METHODS: tuple[str, ...] = ("cab", "cbd", "edge_only", "cloud_only")


def serve_mask(
    ctx: TrialContext,
    method: str,
    edge_set: str | None,
    delta: float,
    predictor: str,
    tie_break: str,
    tie_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Edge-serve mask of every trial's test batch, shape (T, m).

    Parameters
    ----------
    ctx : TrialContext
    method : {"cab", "cbd", "edge_only", "cloud_only"}
    edge_set : {"hms", "cp", "lcp"} or None
        Edge-set family whose satisfaction CAb learns (None for "cloud_only").
    delta : float
        CAb's BH level; CbD's threshold is 1 - delta (or tuned at level delta).
    predictor : str
        Satisfaction predictor of CAb.
    tie_break : {"conservative", "randomized"}
    tie_rng : numpy Generator, optional
        Stream of the randomised tie-breaks (default: the context's own "tie" stream).
    """
    tr = ctx.trials
    if method == "cloud_only":
        return cloud_only(tr.test.shape)
    if method == "edge_only":
        return edge_only(tr.test.shape)
    assert edge_set is not None  # checked by run_experiment
    maxprob = ctx.prepared.edge.max(axis=-1)
    if method == "cbd":
        if ctx.options.cbd_rule == "val_tuned":
            sat_val = ctx.satisfied(edge_set)[:, ctx.n_tr : ctx.n_tr + ctx.n_val]
            gamma = tuned_cbd_threshold(maxprob[tr.val], sat_val, delta)[:, None]
        else:
            gamma = np.asarray(1.0 - delta)
        # Compare in the stored dtype (float32 tables) unless the rows were renormalised.
        dtype = None if ctx.options.normalize_edge else ctx.data.edge_probs.dtype
        return confidence_deferral(maxprob[tr.test], gamma, dtype)
    if method == "cab":
        sat = ctx.satisfied(edge_set)
        n_tr, n_val = ctx.n_tr, ctx.n_val
        x = ctx.prepared.features
        scores = fit_predict_scores(
            predictor, x[tr.train], sat[:, :n_tr],
            np.concatenate([x[tr.val], x[tr.test]], axis=1), seeds=ctx.model_seeds,
        )
        pvals = conformal_pvalues(
            scores[:, :n_val], scores[:, n_val:], null=~sat[:, n_tr : n_tr + n_val],
            randomized=tie_break == "randomized",
            rng=ctx.rng["tie"] if tie_rng is None else tie_rng,
        )
        return benjamini_hochberg(pvals, delta)
    raise ValueError(f"Unknown method {method!r}. Available: {', '.join(METHODS)}.")


# Arms whose buggy "coverage" the authors print; faithful mode reproduces it as a check.
_AS_CODED = {("cloud_only", None), ("edge_only", "hms")}


def run_experiment(
    data: CascadeData,
    alpha: float,
    delta: float,
    arms: Iterable[tuple[str, str | None]] = (("cab", "cp"), ("cbd", "cp")),
    *,
    n_trials: int = 200,
    seed: int = 0,
    splits: Sequence[int] = DEFAULT_SPLITS,
    mode: Mode | CabOptions = "clean",
    predictor: str = "logistic",
    features: FeatureKind = "maxprob",
    sigma: float | str = "auto",
    return_trials: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run several arms on the same seeded splits and labels.

    Parameters
    ----------
    data : CascadeData
    alpha : float
        Miscoverage level of the sets and of the satisfaction requirement.
    delta : float
        Target violation level: CAb keeps E[SR] >= 1 - delta.
    arms : iterable of (method, edge_set)
        method in {"cab", "cbd", "edge_only", "cloud_only"}; edge_set in
        {"hms", "cp", "lcp"} (None for "cloud_only").
    n_trials : int
    seed : int
        Seeds every random stream (splits, labels, RLCP, tree models, tie-breaks).
    splits : (int, int, int, int)
        Calibration, training, selection-calibration (val) and test sizes.
    mode : "faithful", "clean" or CabOptions
    predictor : {"logistic", "hgb", "rf", "xgbrf"}
        Satisfaction predictor; "logistic" is batched numpy (fast), the others loop over
        trials with scikit-learn/xgboost.
    features : {"maxprob", "sorted"}
    sigma : float, "auto" or "paper"
        RLCP bandwidth (embedding units).
    return_trials : bool
        Also return the per-trial metric arrays under ``"per_trial"``.

    Returns
    -------
    dict
        ``"<method>-<edge_set>"`` (or ``"cloud_only"``) -> flat dict of configuration and
        ``<metric>_mean`` / ``<metric>_std`` (see :mod:`jointbench.cab.metrics`).
    """
    options = CabOptions.from_mode(mode)
    ctx = TrialContext(data, alpha, options, features, n_trials, splits, seed, sigma)
    results: dict[str, dict[str, Any]] = {}
    for method, edge_set in arms:
        edge_set = None if method == "cloud_only" else edge_set
        if method != "cloud_only" and edge_set not in EDGE_SETS:
            raise ValueError(f"Unknown edge set {edge_set!r}. Available: {', '.join(EDGE_SETS)}.")
        serve = serve_mask(ctx, method, edge_set, delta, predictor, options.tie_break)
        per_trial = cascade_metrics(serve, ctx.outcome(edge_set))
        if options.mode == "faithful" and (method, edge_set) in _AS_CODED:
            if edge_set is None:
                mask = ctx.prepared.cloud_set
            else:
                mask = hms_mask(ctx.prepared.edge, alpha, fallback=options.hms_fallback)
            per_trial["coverage_as_coded"] = ctx.coverage_as_coded(mask, ctx.prepared.pool)
        record: dict[str, Any] = {
            "method": method,
            "edge_set": edge_set,
            "alpha": alpha,
            "delta": delta,
            "n_trials": n_trials,
            "seed": seed,
            "splits": tuple(int(s) for s in splits),
            "predictor": predictor if method == "cab" else None,
            "features": features if method == "cab" else None,
            "dataset": data.name,
            "n_pool": int(ctx.prepared.pool.size),
            "n_dropped_zero_cloud": ctx.prepared.n_dropped,
            "options": options.as_record(),
        }
        if edge_set == "lcp" and ctx.lcp_ess is not None:
            record["sigma"] = ctx.sigma
            record["lcp_ess_mean"] = float(ctx.lcp_ess[:, -splits[3]:].mean())
            record["lcp_ess_min"] = float(ctx.lcp_ess.min())
        if method == "cbd":
            record["cbd_rule"] = options.cbd_rule
        record.update(summarize(per_trial))
        if return_trials:
            record["per_trial"] = per_trial
        key = method if edge_set is None else f"{method}-{edge_set}"
        results[key] = record
    return results


def run_trials(
    data: CascadeData,
    alpha: float,
    delta: float,
    method: Method = "cab",
    *,
    edge_set: EdgeSet = "cp",
    n_trials: int = 200,
    seed: int = 0,
    splits: Sequence[int] = DEFAULT_SPLITS,
    mode: Mode | CabOptions = "clean",
    predictor: str = "logistic",
    features: FeatureKind = "maxprob",
    sigma: float | str = "auto",
    return_trials: bool = False,
) -> dict[str, Any]:
    """Mean/std metrics of one method over seeded trials.

    Same parameters as :func:`run_experiment`, for a single ``(method, edge_set)`` arm.
    The same ``seed`` gives the same splits and labels whatever the method, so results of
    separate calls are paired.

    Returns
    -------
    dict
        Configuration (method, edge_set, alpha, delta, options, ...) and
        ``<metric>_mean`` / ``<metric>_std`` for deferral_rate, sr, sr_nonempty, empty,
        ni, coverage, accuracy, key_coverage, set_size, n_served; plus sr_pooled.
    """
    result = run_experiment(
        data, alpha, delta, [(method, edge_set)], n_trials=n_trials, seed=seed,
        splits=splits, mode=mode, predictor=predictor, features=features, sigma=sigma,
        return_trials=return_trials,
    )
    return next(iter(result.values()))
