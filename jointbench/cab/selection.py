"""CAb's selection step: the satisfaction predictor (p-values and BH: :mod:`jointbench.conformal.pvalues`).

Conformal selection (Jin & Candes 2023; Gui, Jin & Ren 2024, "Conformal Alignment"):

1. a predictor S(x) of P(satisfied | x) is fitted on a training split;
2. on a disjoint selection-calibration split with known satisfaction, each test input j
   gets the p-value p_j = (1 + #{i : i unsatisfied, S(x_i) >= S(x_j)}) / (n + 1)
   ("conservative": every tie counts against j), or the randomised version
   p_j = (#{i unsat., S_i > S_j} + U_j (1 + #{i unsat., S_i = S_j})) / (n + 1);
3. BH at level delta over the test batch selects the inputs served at the edge.

If calibration and test points are exchangeable, the expected share of unsatisfied
inputs among the selected ones (FDR) is <= delta, i.e. E[SR] >= 1 - delta with SR := 1
when nothing is selected. Only the ranking of S matters, so predictors return a
real-valued score where larger means "more likely satisfied".

All functions take leading batch axes (independent trials on axis 0).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

FeatureKind = Literal["maxprob", "sorted"]
PredictorName = Literal["logistic", "hgb", "rf", "xgbrf"]
PREDICTORS: tuple[str, ...] = ("logistic", "hgb", "rf", "xgbrf")
FEATURES: tuple[str, ...] = ("maxprob", "sorted")


def edge_features(edge_probs: np.ndarray, kind: FeatureKind = "maxprob") -> np.ndarray:
    """Predictor input from the edge probability row.

    Parameters
    ----------
    edge_probs : ndarray, shape (..., K)
    kind : {"maxprob", "sorted"}
        "maxprob": the edge confidence max_y p^e(y|x), as the authors (1 feature);
        "sorted": the whole row sorted in decreasing order (K features).

    Returns
    -------
    ndarray of float64, shape (..., 1) or (..., K)
    """
    p = np.asarray(edge_probs, dtype=np.float64)
    if kind == "maxprob":
        return p.max(axis=-1, keepdims=True)
    if kind == "sorted":
        return -np.sort(-p, axis=-1)
    raise ValueError(f"Unknown feature kind {kind!r}. Available: {', '.join(FEATURES)}.")


def _linear(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    # Explicit per-feature sum instead of a BLAS matmul: identical rows must get
    # bit-identical scores, because p-values count ties exactly.
    out = np.broadcast_to(coef[..., :1], x.shape[:-1]).copy()
    for j in range(x.shape[-1]):
        out += x[..., j] * coef[..., j + 1 : j + 2]
    return out


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, n_iter: int = 30
) -> np.ndarray:
    """L2-penalised logistic regression by Newton's method, batched over axis 0.

    Minimises sum_i log-loss + (l2 / 2) |w|^2 (intercept almost unpenalised), the same
    objective as scikit-learn's ``LogisticRegression(C=1/l2)``.

    Parameters
    ----------
    x : ndarray, shape (B, n, d)
    y : ndarray of bool or {0, 1}, shape (B, n)
    l2 : float
    n_iter : int
        Newton steps (the objective is strongly convex; 30 is far past convergence).

    Returns
    -------
    ndarray of float64, shape (B, d + 1)
        Intercept first.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n_batch, n, d = x.shape
    xa = np.concatenate([np.ones((n_batch, n, 1)), x], axis=-1)
    penalty = np.full(d + 1, l2)
    penalty[0] = 1e-6
    coef = np.zeros((n_batch, d + 1))
    for _ in range(n_iter):
        eta = np.einsum("bnd,bd->bn", xa, coef)
        p = 1.0 / (1.0 + np.exp(-eta))
        grad = np.einsum("bnd,bn->bd", xa, p - y) + penalty * coef
        hess = np.einsum("bnd,bn,bne->bde", xa, p * (1.0 - p), xa)
        hess += np.diag(penalty)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        coef -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return coef


def make_sklearn_predictor(name: str, seed: int = 0):  # noqa: ANN201 (sklearn type)
    """A fresh scikit-learn-style classifier for :func:`fit_predict_scores`.

    ``"hgb"``: HistGradientBoostingClassifier (100 rounds, no early stopping);
    ``"rf"``: RandomForestClassifier mimicking the authors' XGBoost random forest
    (100 trees, 90% row subsample, depth 6); ``"xgbrf"``: ``xgboost.XGBRFClassifier``
    with the authors' settings (requires the optional ``xgboost`` package);
    ``"logistic"``: LogisticRegression (C = 1).
    """
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=100, early_stopping=False, random_state=seed
        )
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=100, max_depth=6, max_samples=0.9, random_state=seed, n_jobs=1
        )
    if name == "xgbrf":
        try:
            from xgboost import XGBRFClassifier
        except ImportError as exc:  # optional dependency
            raise ImportError("predictor 'xgbrf' needs the optional package xgboost.") from exc
        return XGBRFClassifier(
            n_estimators=100, subsample=0.9, colsample_bynode=0.2, random_state=seed,
            n_jobs=1,
        )
    if name == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0)
    raise ValueError(f"Unknown predictor {name!r}. Available: {', '.join(PREDICTORS)}.")


def fit_predict_scores(
    predictor: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_eval: np.ndarray,
    *,
    seeds: np.ndarray | None = None,
) -> np.ndarray:
    """Fit a satisfaction predictor per batch entry and score the evaluation rows.

    Parameters
    ----------
    predictor : {"logistic", "hgb", "rf", "xgbrf"}
        "logistic" runs batched in numpy (:func:`fit_logistic`) and returns the linear
        predictor; the others loop over the batch with scikit-learn/xgboost and return
        P(satisfied). A batch entry whose training labels are all equal gets a constant
        score (every evaluation row ties).
    x_train : ndarray, shape (B, n, d)
    y_train : ndarray of bool, shape (B, n)
    x_eval : ndarray, shape (B, m, d)
    seeds : ndarray of int, shape (B,), optional
        Random state of each tree model.

    Returns
    -------
    ndarray of float64, shape (B, m)
        Larger means more likely satisfied.
    """
    if predictor == "logistic":
        return _linear(np.asarray(x_eval, np.float64), fit_logistic(x_train, y_train))
    from threadpoolctl import threadpool_limits

    n_batch = x_train.shape[0]
    seeds = np.zeros(n_batch, dtype=np.int64) if seeds is None else seeds
    out = np.empty(x_eval.shape[:2])
    # A few hundred rows: OpenMP thread start-up and spinning cost far more than they
    # save (HistGradientBoosting: 2.4 s per fit with 2 threads, 0.04 s with 1).
    with threadpool_limits(1):
        for b in range(n_batch):
            yb = np.asarray(y_train[b], dtype=np.int64)
            if yb.min() == yb.max():
                out[b] = float(yb[0])
                continue
            model = make_sklearn_predictor(predictor, int(seeds[b]))
            model.fit(x_train[b], yb)
            out[b] = model.predict_proba(x_eval[b])[:, 1]
    return out
