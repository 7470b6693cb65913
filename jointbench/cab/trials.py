"""Seeded trials of the CAb protocol and the per-trial edge sets, vectorised across trials.

One trial is a random split of the pool into calibration (CP/LCP quantiles) / training
(satisfaction predictor) / selection calibration ("val", conformal p-values) / test (one
BH batch), default 500/200/500/100, plus fresh reference labels y ~ p*(.|x) for every
row. All trials are stacked on axis 0 of numpy arrays. :class:`TrialContext` holds one
seeded set of trials and builds edge sets and satisfaction lazily; the routing rules and
metrics that run on it live in :mod:`jointbench.cab.experiment`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jointbench.cab.data import CascadeData
from jointbench.cab.metrics import ServedOutcome
from jointbench.cab.options import CabOptions
from jointbench.cab.reference import normalize_rows, sample_labels, zero_rows
from jointbench.cab.satisfaction import is_satisfied
from jointbench.cab.selection import FeatureKind, edge_features
from jointbench.cab.sets import hms_mask
from jointbench.conformal import (
    NegLogProb,
    cached_rlcp_thresholds,
    conformal_quantile,
    median_pairwise_distance,
    threshold_sets,
)

log = logging.getLogger(__name__)

EDGE_SETS: tuple[str, ...] = ("hms", "cp", "lcp")
DEFAULT_SPLITS = (500, 200, 500, 100)
#: The authors' RLCP bandwidth (in their Qwen2 embedding units).
PAPER_SIGMA = 20.0
#: "auto" bandwidth = this factor x the median pairwise embedding distance.
AUTO_SIGMA_FACTOR = 0.4


@dataclass(frozen=True)
class Prepared:
    """Row-level arrays after applying :class:`CabOptions` (shapes (N, ...))."""

    edge: np.ndarray
    cloud_ref: np.ndarray
    cloud_sampling: np.ndarray
    cloud_set: np.ndarray
    edge_scores: np.ndarray
    features: np.ndarray
    edge_top1: np.ndarray
    cloud_top1: np.ndarray
    pool: np.ndarray
    n_dropped: int


def prepare(
    data: CascadeData,
    alpha: float,
    options: CabOptions,
    features: FeatureKind,
    rows: np.ndarray | None = None,
) -> Prepared:
    """Apply the options to the rows and fix the pool of usable row indices.

    ``rows`` (int array), when given, further restricts the pool to those rows (an Ianvs
    test set that lists only some questions); the pool keeps its ascending order.
    """
    cloud_zero = zero_rows(data.cloud_probs)
    pool = np.arange(data.n)
    if options.pool_size is not None:
        pool = pool[: options.pool_size]
    if rows is not None:
        pool = pool[np.isin(pool, np.asarray(rows, dtype=np.int64))]
    n_dropped = 0
    if options.zero_cloud_rows == "drop":
        n_dropped = int(cloud_zero[pool].sum())
        pool = pool[~cloud_zero[pool]]
        if n_dropped:
            log.info("dropped %d all-zero cloud rows from the pool of %s", n_dropped, data.name)
    if options.normalize_edge:
        edge = normalize_rows(data.edge_probs, zero="uniform")
    else:
        edge = np.asarray(data.edge_probs, dtype=np.float64)
    if options.normalize_cloud:
        cloud_ref = normalize_rows(data.cloud_probs, zero="keep")
    else:
        cloud_ref = np.asarray(data.cloud_probs, dtype=np.float64)
    cloud_set = hms_mask(cloud_ref, alpha, fallback=options.hms_fallback)
    cloud_set[cloud_zero] = True  # no reference: the cloud can only answer "any option"
    return Prepared(
        edge=edge,
        cloud_ref=cloud_ref,
        cloud_sampling=normalize_rows(data.cloud_probs, zero="uniform"),
        cloud_set=cloud_set,
        edge_scores=NegLogProb().score_all(edge),
        features=edge_features(edge, features),
        edge_top1=np.argmax(edge, axis=-1),
        cloud_top1=np.argmax(data.cloud_probs, axis=-1),
        pool=pool,
        n_dropped=n_dropped,
    )


@dataclass(frozen=True)
class Trials:
    """Row indices of each split, shape (T, n_split), and labels, shape (T, N)."""

    cal: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    labels: np.ndarray

    @property
    def eval_rows(self) -> np.ndarray:
        """Training, val and test rows side by side, shape (T, n_tr + n_val + n_te)."""
        return np.concatenate([self.train, self.val, self.test], axis=1)


def draw_trials(
    prepared: Prepared,
    n_trials: int,
    splits: Sequence[int],
    split_rng: np.random.Generator,
    label_rng: np.random.Generator,
) -> Trials:
    """Random disjoint splits of the pool and one label draw per row, per trial."""
    if len(splits) != 4:
        raise ValueError("splits must be (calibration, training, val, test) sizes.")
    need = int(sum(splits))
    if need > prepared.pool.size:
        raise ValueError(f"splits need {need} rows, the pool has {prepared.pool.size}.")
    perm = split_rng.permuted(np.tile(prepared.pool, (n_trials, 1)), axis=1)[:, :need]
    bounds = np.cumsum([0, *splits])
    cal, train, val, test = (perm[:, bounds[i] : bounds[i + 1]] for i in range(4))
    labels = sample_labels(prepared.cloud_sampling, label_rng, n_draws=n_trials)
    return Trials(cal=cal, train=train, val=val, test=test, labels=labels)


def _rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[rows] for a (T, r) index array (row-level arrays have no trial axis)."""
    return values[rows]


def _per_trial(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[t, rows[t]] for a (T, N) array."""
    return np.take_along_axis(values, rows, axis=1)


def resolve_sigma(sigma: float | str, embeddings: np.ndarray | None, pool: np.ndarray) -> float:
    """RLCP bandwidth: a number, "paper" (20.0), or "auto" (0.4 x median distance)."""
    if isinstance(sigma, (int, float)):
        return float(sigma)
    if sigma == "paper":
        return PAPER_SIGMA
    if sigma == "auto":
        if embeddings is None:
            raise ValueError("sigma='auto' needs embeddings.")
        return AUTO_SIGMA_FACTOR * median_pairwise_distance(embeddings[pool])
    raise ValueError(f"Unknown sigma {sigma!r}. Use a number, 'paper' or 'auto'.")


STREAMS = ("split", "label", "lcp", "model", "tie")


def trial_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per purpose (splits, labels, RLCP, tree models, ties).

    Separate streams keep arms paired: the splits and labels of a seed do not depend on
    which arms run or on how many random numbers an arm consumes.
    """
    seqs = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(STREAMS, seqs, strict=True)}


class TrialContext:
    """Everything the arms of one experiment share; edge sets are built lazily.

    Built from the same seed, two contexts hold the same splits, labels, model seeds and
    RLCP draws, so a context is also what :mod:`jointbench.cab.ianvs_session` replays.

    Parameters
    ----------
    data : CascadeData
    alpha : float
        Miscoverage level of the sets and of the satisfaction requirement.
    options : CabOptions
    features : {"maxprob", "sorted"}
        Satisfaction-predictor input.
    n_trials : int
    splits : (int, int, int, int)
        Calibration, training, selection-calibration (val) and test sizes.
    seed : int
    sigma : float, "auto" or "paper"
        RLCP bandwidth (embedding units).
    rows : ndarray of int, optional
        Restrict the pool to these rows (see :func:`prepare`).
    """

    def __init__(
        self,
        data: CascadeData,
        alpha: float,
        options: CabOptions,
        features: FeatureKind,
        n_trials: int,
        splits: Sequence[int],
        seed: int,
        sigma: float | str,
        rows: np.ndarray | None = None,
    ) -> None:
        self.data, self.alpha, self.options = data, alpha, options
        self.prepared = prepare(data, alpha, options, features, rows)
        self.rng = trial_streams(seed)
        self.trials = draw_trials(
            self.prepared, n_trials, splits, self.rng["split"], self.rng["label"]
        )
        self.n_tr, self.n_val = splits[1], splits[2]
        self.sigma_spec = sigma
        self.sigma: float | None = None
        self.lcp_ess: np.ndarray | None = None
        self.model_seeds = self.rng["model"].integers(0, 2**31 - 1, size=n_trials)
        self._masks: dict[str, np.ndarray] = {}
        self._sat: dict[str, np.ndarray] = {}

    def edge_masks(self, edge_set: str) -> np.ndarray:
        """Edge sets of the training, val and test rows, shape (T, n_eval, K)."""
        if edge_set not in self._masks:
            self._masks[edge_set] = self._build(edge_set)
        return self._masks[edge_set]

    def _build(self, edge_set: str) -> np.ndarray:
        p, tr, a = self.prepared, self.trials, self.alpha
        rows = tr.eval_rows
        if edge_set == "hms":
            return _rows(hms_mask(p.edge, a, fallback=self.options.hms_fallback), rows)
        cal_labels = _per_trial(tr.labels, tr.cal)
        cal_scores = np.take_along_axis(p.edge_scores[tr.cal], cal_labels[..., None], -1)[..., 0]
        if edge_set == "cp":
            q = conformal_quantile(cal_scores, a)[:, None]
        elif edge_set == "lcp":
            emb = self.data.embeddings
            if emb is None:
                raise ValueError("edge_set='lcp' needs data.embeddings (embeddings=True).")
            self.sigma = resolve_sigma(self.sigma_spec, emb, p.pool)
            q, self.lcp_ess = cached_rlcp_thresholds(  # the costly step; cached on disk
                emb, tr.cal, cal_scores, rows, a, self.sigma, self.rng["lcp"],
                clamp=self.options.lcp_clamp,
            )
        else:
            raise ValueError(f"Unknown edge set {edge_set!r}. Available: {', '.join(EDGE_SETS)}.")
        return threshold_sets(_rows(p.edge_scores, rows), q)

    def satisfied(self, edge_set: str) -> np.ndarray:
        """Satisfaction of the evaluation rows' edge sets, shape (T, n_eval)."""
        if edge_set not in self._sat:
            ref = _rows(self.prepared.cloud_ref, self.trials.eval_rows)
            self._sat[edge_set] = is_satisfied(self.edge_masks(edge_set), ref, self.alpha)
        return self._sat[edge_set]

    def outcome(self, edge_set: str | None) -> ServedOutcome:
        """Per test input: what the edge set and the cloud set would deliver."""
        p, tr, d = self.prepared, self.trials, self.data
        test = tr.test
        start = self.n_tr + self.n_val
        y = _per_trial(tr.labels, test)
        key = d.answer[test]
        cloud_set = p.cloud_set[test]
        if edge_set is None:
            edge_mask = np.zeros_like(cloud_set)
            sat = np.zeros(test.shape, dtype=bool)
        else:
            edge_mask = self.edge_masks(edge_set)[:, start:]
            sat = self.satisfied(edge_set)[:, start:]

        def has(mask: np.ndarray, cls: np.ndarray) -> np.ndarray:
            return np.take_along_axis(mask, cls[..., None], axis=-1)[..., 0]

        return ServedOutcome(
            satisfied=sat,
            edge_size=edge_mask.sum(-1),
            cloud_size=cloud_set.sum(-1),
            edge_covers=has(edge_mask, y),
            cloud_covers=has(cloud_set, y),
            edge_correct=p.edge_top1[test] == key,
            cloud_correct=p.cloud_top1[test] == key,
            edge_has_key=has(edge_mask, key),
            cloud_has_key=has(cloud_set, key),
            key_valid=d.gold_valid[test],
        )

    def coverage_as_coded(self, mask_rows: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The authors' N x N broadcast "coverage": mean_{i,j} mask[i, y_j], per trial.

        ``mask_rows`` (N, K) is indexed by ``rows`` (R,); the labels are those of the
        same rows. Equal to sum_k (mean_i mask[i, k]) * (share of labels equal to k).
        """
        labels = self.trials.labels[:, rows]
        k = mask_rows.shape[-1]
        freq = np.stack([(labels == c).mean(axis=1) for c in range(k)], axis=1)
        return freq @ mask_rows[rows].mean(axis=0)
