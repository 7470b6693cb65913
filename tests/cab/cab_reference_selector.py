"""Test helper: a per-batch CAb selector, an independent re-implementation to check the vectorised one.

Moved out of ``jointbench/cab/`` (no module of the suite used it: the Ianvs modules replay
:mod:`jointbench.cab.ianvs_session`). The tests compare it against
:func:`jointbench.cab.experiment.run_experiment` on the same splits.

Offline, :meth:`CabSelector.fit` uses three disjoint reference splits that carry cloud
probabilities: the calibration split fixes the edge-set threshold (split CP / RLCP),
the training split fits the satisfaction predictor, the selection-calibration ("val")
split gives the calibration scores of the conformal p-values. Online, an Ianvs
hard-example-mining module buffers a batch of test inputs and calls
:meth:`CabSelector.select`; the batch-level BH decision keeps the expected share of
unsatisfied edge-served inputs <= delta. The decision is transductive: it depends on
the whole batch, so a HEM must buffer (see ``decide``).

Example::

    sel = CabSelector(alpha=0.2, delta=0.25, edge_set="cp").fit(cal, train, val)
    serve_at_edge = sel.select(batch_edge_probs)          # bool (m,)
    sets = sel.edge_sets(batch_edge_probs)                # bool (m, K)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jointbench.cab.options import CabOptions, Mode
from jointbench.cab.reference import normalize_rows, sample_labels, zero_rows
from jointbench.cab.satisfaction import is_satisfied
from jointbench.cab.selection import (
    PREDICTORS,
    FeatureKind,
    _linear,
    edge_features,
    fit_logistic,
    make_sklearn_predictor,
)
from jointbench.cab.sets import hms_mask
from jointbench.conformal import (
    LocalizedConformal,
    NegLogProb,
    SplitConformal,
    benjamini_hochberg,
    conformal_pvalues,
)


@dataclass(frozen=True)
class ReferenceSplit:
    """Reference inputs with both models' outputs.

    Attributes
    ----------
    edge_probs : ndarray, shape (n, K)
    cloud_probs : ndarray, shape (n, K)
        The cloud reference distribution p*(y|x).
    labels : ndarray of int, shape (n,), optional
        Reference labels for CP calibration; sampled from ``cloud_probs`` when absent.
    embeddings : ndarray, shape (n, D), optional
        Needed on the calibration split (and at test time) for ``edge_set="lcp"``.
    """

    edge_probs: np.ndarray
    cloud_probs: np.ndarray
    labels: np.ndarray | None = None
    embeddings: np.ndarray | None = None

    def subset(self, keep: np.ndarray) -> ReferenceSplit:
        """Rows where ``keep`` is True."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.asarray(a)[keep]

        return ReferenceSplit(
            np.asarray(self.edge_probs)[keep], np.asarray(self.cloud_probs)[keep],
            pick(self.labels), pick(self.embeddings),
        )


class CabSelector:
    """Conformal-alignment cascade: edge sets, satisfaction predictor, BH over a batch.

    Parameters
    ----------
    alpha : float
        Miscoverage level: edge sets target 1 - alpha coverage, and an edge set is
        satisfied when it holds >= 1 - alpha of the cloud's mass.
    delta : float
        Tolerated share of unsatisfied edge-served inputs (E[SR] >= 1 - delta).
    edge_set : {"hms", "cp", "lcp"}
    predictor : {"logistic", "hgb", "rf", "xgbrf"}
    features : {"maxprob", "sorted"}
    sigma : float
        RLCP bandwidth in embedding units (``edge_set="lcp"`` only).
    mode : "faithful", "clean" or CabOptions
    seed : int
        Seeds label sampling, RLCP perturbations, tree models and randomised tie-breaks.
    """

    def __init__(
        self,
        alpha: float,
        delta: float,
        *,
        edge_set: str = "cp",
        predictor: str = "logistic",
        features: FeatureKind = "maxprob",
        sigma: float = 0.5,
        mode: Mode | CabOptions = "clean",
        seed: int = 0,
    ) -> None:
        if edge_set not in ("hms", "cp", "lcp"):
            raise ValueError(f"Unknown edge set {edge_set!r}. Available: hms, cp, lcp.")
        self.alpha, self.delta, self.edge_set = alpha, delta, edge_set
        self.options = CabOptions.from_mode(mode)
        self.sigma = sigma
        self.rng = np.random.default_rng(seed)
        self.predictor = SatisfactionPredictor(predictor, features, seed)
        self.set_model: SplitConformal | LocalizedConformal | None = None
        self.cal_scores_: np.ndarray | None = None
        self.cal_satisfied_: np.ndarray | None = None

    # -- row preparation -------------------------------------------------------------
    def _edge(self, edge_probs: np.ndarray) -> np.ndarray:
        if self.options.normalize_edge:
            return normalize_rows(edge_probs, zero="uniform")
        return np.asarray(edge_probs, dtype=np.float64)

    def _cloud_ref(self, cloud_probs: np.ndarray) -> np.ndarray:
        if self.options.normalize_cloud:
            return normalize_rows(cloud_probs, zero="keep")
        return np.asarray(cloud_probs, dtype=np.float64)

    def _usable(self, split: ReferenceSplit) -> ReferenceSplit:
        if self.options.zero_cloud_rows == "drop":
            return split.subset(~zero_rows(split.cloud_probs))
        return split

    # -- fitting ---------------------------------------------------------------------
    def fit(
        self, cal: ReferenceSplit, train: ReferenceSplit, val: ReferenceSplit
    ) -> CabSelector:
        """Calibrate the edge sets, fit the predictor, store the p-value calibration.

        Parameters
        ----------
        cal : ReferenceSplit
            Calibration of the CP/RLCP threshold (unused for "hms").
        train : ReferenceSplit
            Training data of the satisfaction predictor.
        val : ReferenceSplit
            Selection calibration: its predictor scores and true satisfaction define the
            conformal p-values. Must be exchangeable with the test batches.
        """
        cal, train, val = self._usable(cal), self._usable(train), self._usable(val)
        if self.edge_set != "hms":
            labels = cal.labels
            if labels is None:
                cloud = normalize_rows(cal.cloud_probs, zero="uniform")
                labels = sample_labels(cloud, self.rng)
            edge = self._edge(cal.edge_probs)
            if self.edge_set == "cp":
                self.set_model = SplitConformal(NegLogProb()).calibrate(edge, labels, self.alpha)
            else:
                if cal.embeddings is None:
                    raise ValueError("edge_set='lcp' needs cal.embeddings.")
                self.set_model = LocalizedConformal(
                    NegLogProb(), self.sigma, clamp=self.options.lcp_clamp,
                    seed=int(self.rng.integers(2**31 - 1)),
                ).calibrate(cal.embeddings, edge, labels, self.alpha)
        sat_train = self.satisfied(train)
        self.predictor.fit(self._edge(train.edge_probs), sat_train)
        self.cal_satisfied_ = self.satisfied(val)
        self.cal_scores_ = self.predictor.score(self._edge(val.edge_probs))
        return self

    # -- per-input pieces --------------------------------------------------------------
    def edge_sets(
        self, edge_probs: np.ndarray, embeddings: np.ndarray | None = None
    ) -> np.ndarray:
        """Edge prediction sets, bool array (m, K), for edge rows (m, K).

        RLCP sets are randomised per input (a fresh perturbation on each call).
        """
        edge = self._edge(edge_probs)
        if self.edge_set == "hms":
            return hms_mask(edge, self.alpha, fallback=self.options.hms_fallback)
        if self.set_model is None:
            raise RuntimeError("CabSelector used before fit.")
        if isinstance(self.set_model, LocalizedConformal):
            if embeddings is None:
                raise ValueError("edge_set='lcp' needs the inputs' embeddings.")
            return self.set_model.predict_sets(embeddings, edge)
        return self.set_model.predict_sets(edge)

    def cloud_sets(self, cloud_probs: np.ndarray) -> np.ndarray:
        """Cloud highest-mass sets, bool array (m, K) (all classes for all-zero rows)."""
        sets = hms_mask(
            self._cloud_ref(cloud_probs), self.alpha, fallback=self.options.hms_fallback
        )
        sets[zero_rows(cloud_probs)] = True
        return sets

    def satisfied(self, split: ReferenceSplit) -> np.ndarray:
        """True satisfaction (n,) of the edge sets of reference rows (needs cloud probs)."""
        sets = self.edge_sets(split.edge_probs, split.embeddings)
        return is_satisfied(sets, self._cloud_ref(split.cloud_probs), self.alpha)

    # -- batch decision ----------------------------------------------------------------
    def p_values(self, batch_edge_probs: np.ndarray) -> np.ndarray:
        """Conformal p-values (m,) of "this input's edge set is unsatisfied"."""
        if self.cal_scores_ is None or self.cal_satisfied_ is None:
            raise RuntimeError("CabSelector used before fit.")
        scores = self.predictor.score(self._edge(batch_edge_probs))
        return conformal_pvalues(
            self.cal_scores_, scores, null=~np.asarray(self.cal_satisfied_, dtype=bool),
            randomized=self.options.tie_break == "randomized", rng=self.rng,
        )

    def select(self, batch_edge_probs: np.ndarray) -> np.ndarray:
        """Edge-serve mask (m,) of a test batch (BH at level delta over the batch)."""
        return benjamini_hochberg(self.p_values(batch_edge_probs), self.delta)

    def decide(
        self, batch_edge_probs: np.ndarray, embeddings: np.ndarray | None = None
    ) -> dict[str, Any]:
        """Everything a HEM module reports for a batch.

        Returns
        -------
        dict
            ``serve`` (bool (m,)), ``p_values`` (m,), ``scores`` (m,) predictor scores,
            ``edge_sets`` (bool (m, K)).
        """
        p = self.p_values(batch_edge_probs)
        return {
            "serve": benjamini_hochberg(p, self.delta),
            "p_values": p,
            "scores": self.predictor.score(self._edge(batch_edge_probs)),
            "edge_sets": self.edge_sets(batch_edge_probs, embeddings),
        }

    def state(self) -> dict[str, Any]:
        """Calibration summary for logs and records."""
        sat = self.cal_satisfied_
        return {
            "alpha": self.alpha,
            "delta": self.delta,
            "edge_set": self.edge_set,
            "predictor": self.predictor.name,
            "features": self.predictor.features,
            "q_hat": getattr(self.set_model, "qhat", None),
            "sigma": self.sigma if self.edge_set == "lcp" else None,
            "n_selection_calibration": None if sat is None else int(sat.size),
            "selection_calibration_sat_rate": None if sat is None else float(sat.mean()),
            "options": self.options.as_record(),
        }


class SatisfactionPredictor:
    """A fitted predictor of P(satisfied | edge features) for one calibrated selector.

    Parameters
    ----------
    name : {"logistic", "hgb", "rf", "xgbrf"}
        Same meaning as in :func:`fit_predict_scores` (and the same scores).
    features : {"maxprob", "sorted"}
    seed : int
    """

    def __init__(self, name: str = "logistic", features: FeatureKind = "maxprob",
                 seed: int = 0) -> None:
        if name not in PREDICTORS:
            raise ValueError(f"Unknown predictor {name!r}. Available: {', '.join(PREDICTORS)}.")
        edge_features(np.ones((1, 2)), features)  # validates the name
        self.name, self.features, self.seed = name, features, seed
        self.coef_: np.ndarray | None = None
        self.model_ = None
        self.constant_: float | None = None

    def fit(self, edge_probs: np.ndarray, satisfied: np.ndarray) -> SatisfactionPredictor:
        """Fit on edge rows (n, K) and their satisfaction (n,)."""
        x = edge_features(edge_probs, self.features)
        y = np.asarray(satisfied, dtype=bool)
        self.coef_, self.model_, self.constant_ = None, None, None
        if self.name == "logistic":
            self.coef_ = fit_logistic(x[None], y[None])[0]
        elif y.min() == y.max():
            self.constant_ = float(y[0])
        else:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1):  # see fit_predict_scores
                model = make_sklearn_predictor(self.name, self.seed)
                self.model_ = model.fit(x, y.astype(int))
        return self

    def score(self, edge_probs: np.ndarray) -> np.ndarray:
        """Scores (m,) of edge rows (m, K); larger means more likely satisfied."""
        x = edge_features(edge_probs, self.features)
        if self.coef_ is not None:
            return _linear(x, self.coef_)
        if self.constant_ is not None:
            return np.full(x.shape[0], self.constant_)
        if self.model_ is None:
            raise RuntimeError("SatisfactionPredictor.score called before fit.")
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return self.model_.predict_proba(x)[:, 1]
