"""CAb's seeded trials as Ianvs samples: the state behind the ``cab_teleqna`` modules.

CAb decides per *batch* (BH over the 100 questions of one test batch), while Ianvs hands
modules one sample at a time. The bridge:

1. The ``dataset_processor`` turns the test set (the question pool) into a
   :class:`TrialDesign`, opens a :class:`CabSession` for it and replaces the samples by
   ``n_trials x batch_size`` dicts, one per (trial, question) pair, in trial order. Each
   dict carries the session key, its trial id and its position in the trial's batch, so
   any module can find the whole batch it belongs to.
2. The session holds the trials of :class:`jointbench.cab.trials.TrialContext` (the
   same seeded splits, labels and edge sets that :func:`jointbench.cab.run_trials`
   uses) and builds them lazily, once per process.
3. The HEM asks :meth:`CabSession.is_hard` for one sample. The first call of an arm
   computes the serve mask of every trial's batch with
   :func:`jointbench.cab.experiment.serve_mask` (conformal p-values + BH over each
   batch, vectorised across trials) and caches it; each sample then reads its own
   entry. Each trial's decision depends on that trial's batch and reference splits
   only, so computing them together equals computing them trial by trial.

Sessions live in a process-global registry because Ianvs builds each module
separately (``cls(**hyperparameters)``) and passes nothing between them but the samples.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from jointbench.cab.data import CascadeData, load_cascade_data, teleqna_path
from jointbench.cab.experiment import serve_mask
from jointbench.cab.options import CabOptions
from jointbench.cab.satisfaction import alignment_score
from jointbench.cab.trials import DEFAULT_SPLITS, TrialContext, trial_streams
from jointbench.confidence import top1

log = logging.getLogger(__name__)

#: Key of the session id in every sample dict and record ``extras``.
SESSION_FIELD = "cab_session"
#: Sessions kept per process (each holds a few MB of trials).
MAX_SESSIONS = 8


@dataclass(frozen=True)
class TrialDesign:
    """Everything that fixes a set of trials (the ``dataset_processor``'s hyperparameters).

    Attributes
    ----------
    data_file : str
        Absolute path of the answer table (``.npz`` with ``edge_probs``, ``cloud_probs``,
        ``answer``, ``gold_valid``, ``question_ids``, ``prompts``).
    alpha : float
        Miscoverage level shared by the edge sets, the cloud set and satisfaction.
    options : CabOptions
        Faithful or clean treatment (and the zero-row policy, pool size, CbD rule).
    n_trials : int
    splits : (int, int, int, int)
        Calibration, training, selection-calibration (val) and test-batch sizes.
    seed : int
    rows : tuple of int
        Table rows listed by the Ianvs test set; the pool is restricted to them.
    """

    data_file: str
    alpha: float
    options: CabOptions
    n_trials: int
    splits: tuple[int, int, int, int]
    seed: int
    rows: tuple[int, ...]

    def key(self) -> str:
        """Short stable id of the design (the same hyperparameters give the same key)."""
        fields = asdict(self)
        fields["rows"] = hashlib.sha1(np.asarray(self.rows, dtype=np.int64).tobytes()).hexdigest()
        blob = json.dumps(fields, sort_keys=True, default=str)
        return "cab-" + hashlib.sha1(blob.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Arm:
    """One routing rule evaluated on a session's trials (see :func:`serve_mask`)."""

    method: str
    edge_set: str
    sigma: float | str = "auto"
    delta: float = 0.25
    predictor: str = "logistic"
    features: str = "maxprob"
    cbd_rule: str | None = None


class CabSession:
    """The trials of one :class:`TrialDesign`, with per-arm decisions cached.

    Parameters
    ----------
    design : TrialDesign
    data : CascadeData
        The table of ``design.data_file`` (with embeddings when LCP is wanted).
    line_of_row : mapping of int to int
        Line of each table row in the Ianvs test file (for ``sample_index``).
    """

    def __init__(self, design: TrialDesign, data: CascadeData, line_of_row: Mapping[int, int]) -> None:
        self.design, self.data = design, data
        self.key = design.key()
        self.line_of_row = dict(line_of_row)
        self._contexts: dict[tuple[Any, ...], TrialContext] = {}
        self._serve: dict[Arm, np.ndarray] = {}
        self._refs: Any = None
        self._top1: dict[str, tuple[list[int], list[float]]] = {}
        self._edge_tables: dict[tuple[str, Any], Any] = {}
        base = self.context()
        self.n_pool = int(base.prepared.pool.size)
        self.n_dropped_zero_cloud = base.prepared.n_dropped

    @property
    def n_trials(self) -> int:
        """Number of trials T."""
        return self.design.n_trials

    @property
    def batch_size(self) -> int:
        """Questions per test batch m."""
        return self.design.splits[3]

    def context(self, features: str = "maxprob", sigma: float | str = "auto",
                cbd_rule: str | None = None) -> TrialContext:
        """The seeded trials built as :func:`jointbench.cab.run_trials` builds them."""
        if cbd_rule == self.design.options.cbd_rule:
            cbd_rule = None
        ckey = (features, sigma, cbd_rule)
        if ckey not in self._contexts:
            d = self.design
            opts = d.options if cbd_rule is None else replace(d.options, cbd_rule=cbd_rule)
            self._contexts[ckey] = TrialContext(
                self.data, d.alpha, opts, features, d.n_trials, d.splits, d.seed, sigma,
                rows=np.asarray(d.rows, dtype=np.int64),
            )
        return self._contexts[ckey]

    # -- samples -----------------------------------------------------------------------
    def test_rows(self) -> np.ndarray:
        """Table row of every (trial, position), shape (T, m)."""
        return self.context().trials.test

    def samples(self, prompts: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
        """One Ianvs input per (trial, question), trial-major.

        Parameters
        ----------
        prompts : mapping of row to str, optional
            Prompt text per row (default: the table's ``prompts``).
        """
        rows = self.test_rows()
        texts = self.data.prompts
        out = []
        for t in range(rows.shape[0]):
            for j, row in enumerate(rows[t].tolist()):
                prompt = prompts[row] if prompts is not None else ("" if texts is None else str(texts[row]))
                out.append({
                    SESSION_FIELD: self.key, "trial": t, "position": j, "batch_size": rows.shape[1],
                    "row": row, "index": self.line_of_row.get(row), "qid": str(self.data.question_ids[row]),
                    "n_options": self.data.n_classes, "alpha": self.design.alpha, "prompt": prompt,
                })
        return out

    # -- per-sample views ----------------------------------------------------------------
    def _eval_column(self, position: int) -> int:
        return self.design.splits[1] + self.design.splits[2] + position

    def _references(self) -> tuple[list[list[int]], list[list[int]], list[int], list[bool], dict[int, list[int]]]:
        """Per (trial, position) row and reference label, per row the key, its validity and the cloud set.

        Built in one vectorised pass on first use (the samples of every test case read it).
        """
        if self._refs is None:
            ctx = self.context()
            test = ctx.trials.test
            labels = np.take_along_axis(ctx.trials.labels, test, axis=1)
            cloud = {row: np.flatnonzero(ctx.prepared.cloud_set[row]).tolist() for row in np.unique(test).tolist()}
            self._refs = (test.tolist(), labels.tolist(), np.asarray(self.data.answer).tolist(),
                          np.asarray(self.data.gold_valid, dtype=bool).tolist(), cloud)
        return self._refs

    def reference(self, trial: int, position: int) -> dict[str, Any]:
        """Reference label y ~ p*(.|x) of this trial, the answer key and the cloud set."""
        rows, labels, key, valid, cloud = self._references()
        row = rows[trial][position]
        return {"row": row, "ref_label": labels[trial][position], "key": key[row], "key_valid": valid[row],
                "cloud_set": list(cloud[row])}

    def top1(self, side: str, row: int) -> tuple[int, float]:
        """Top-1 option and its probability of the ``side`` ("edge"/"cloud") answer of ``row``.

        :func:`jointbench.confidence.top1` of the whole table, computed once (row by row
        it gives the same values).
        """
        if side not in self._top1:
            idx, conf, _ = top1(self.data.edge_probs if side == "edge" else self.data.cloud_probs)
            self._top1[side] = (idx.tolist(), conf.tolist())
        idx_list, conf_list = self._top1[side]
        return idx_list[row], conf_list[row]

    def _edge_table(self, edge_set: str, sigma: float | str) -> tuple[list[list[list[int]]], list[list[float]],
                                                                       list[list[bool]], float | None]:
        """Edge set, alignment and satisfaction of every (trial, position), one pass per set kind."""
        tkey = (edge_set, sigma if edge_set == "lcp" else "auto")
        if tkey not in self._edge_tables:
            ctx = self.context(sigma=tkey[1])
            start = self._eval_column(0)
            test = ctx.trials.test
            masks = ctx.edge_masks(edge_set)[:, start:start + test.shape[1]]
            align = alignment_score(masks, ctx.prepared.cloud_ref[test])
            sat = ctx.satisfied(edge_set)[:, start:start + test.shape[1]]
            sets = [[[k for k, inside in enumerate(m) if inside] for m in per_trial] for per_trial in masks.tolist()]
            self._edge_tables[tkey] = (sets, align.tolist(), sat.tolist(), ctx.sigma)
        return self._edge_tables[tkey]

    def edge_set(self, trial: int, position: int, edge_set: str, sigma: float | str = "auto") -> dict[str, Any]:
        """The edge prediction set of one test input, calibrated on its trial's split.

        Returns
        -------
        dict
            ``edge_set`` (option indices), ``ref_alignment`` (cloud mass inside it,
            C*(x)), ``ref_satisfied`` (C*(x) >= 1 - alpha) and, for LCP, ``sigma_value``.
        """
        sets, align, sat, sigma_value = self._edge_table(edge_set, sigma)
        out = {
            "edge_set": list(sets[trial][position]),
            "ref_alignment": align[trial][position],
            "ref_satisfied": sat[trial][position],
        }
        if edge_set == "lcp":
            out["sigma_value"] = sigma_value
        return out

    # -- batch decisions -----------------------------------------------------------------
    def serve(self, arm: Arm) -> np.ndarray:
        """Edge-serve mask of every trial's batch for ``arm``, shape (T, m), cached."""
        if arm.edge_set != "lcp" and arm.sigma != "auto":
            arm = replace(arm, sigma="auto")  # the bandwidth only matters for LCP sets
        if arm not in self._serve:
            ctx = self.context(arm.features, arm.sigma, arm.cbd_rule)
            tie_rng = trial_streams(self.design.seed)["tie"]  # a fresh stream, as in run_trials
            self._serve[arm] = serve_mask(ctx, arm.method, arm.edge_set, arm.delta, arm.predictor,
                                          ctx.options.tie_break, tie_rng)
        return self._serve[arm]

    def is_hard(self, arm: Arm, trial: int, position: int) -> bool:
        """Whether ``arm`` sends this sample to the cloud (its trial's batch decision)."""
        return not bool(self.serve(arm)[trial, position])


_SESSIONS: OrderedDict[str, CabSession] = OrderedDict()


def design_from_test_set(questions: Iterable[Mapping[str, Any]], *, data_file: str | None = None,
                         n_options: int = 4, alpha: float = 0.2, mode: str = "faithful",
                         n_trials: int = 50, seed: int = 0, splits: Sequence[int] = DEFAULT_SPLITS,
                         pool_size: int | str = "mode", zero_cloud_rows: str = "drop",
                         cbd_rule: str | None = None) -> tuple[TrialDesign, dict[int, int]]:
    """A design from the test set's question dicts (``row`` and ``index`` keys).

    Returns
    -------
    design : TrialDesign
    line_of_row : dict of int to int
        Test-file line of each listed row.
    """
    overrides: dict[str, Any] = {"zero_cloud_rows": zero_cloud_rows}
    if pool_size != "mode":
        overrides["pool_size"] = None if pool_size in ("all", None) else int(pool_size)
    if cbd_rule is not None:
        overrides["cbd_rule"] = cbd_rule
    options = CabOptions.from_mode(mode, **overrides)  # type: ignore[arg-type]
    line_of_row: dict[int, int] = {}
    for i, q in enumerate(questions):
        if not isinstance(q, Mapping) or "row" not in q:
            raise TypeError(f"test-set question {i} has no 'row' key; write the test set with "
                            f"jointbench.datasets.teleqna.write_jsonl (got {type(q).__name__})")
        line_of_row[int(q["row"])] = int(q.get("index", i))
    path = str(Path(data_file).resolve()) if data_file else str(teleqna_path(n_options))
    if len(splits) != 4:
        raise ValueError(f"splits must be (calibration, training, val, test) sizes, got {list(splits)}")
    design = TrialDesign(path, float(alpha), options, int(n_trials), tuple(int(s) for s in splits),  # type: ignore[arg-type]
                         int(seed), tuple(sorted(line_of_row)))
    return design, line_of_row


def _load(path: str) -> CascadeData:
    try:
        return load_cascade_data(path=path, embeddings=True)
    except FileNotFoundError:
        log.info("no MiniLM embeddings for %s: edge_set='lcp' is unavailable", path)
        return load_cascade_data(path=path)


def open_session(design: TrialDesign, line_of_row: Mapping[int, int]) -> CabSession:
    """The session of ``design``, created on first use (kept for later test cases)."""
    key = design.key()
    if key in _SESSIONS:
        _SESSIONS.move_to_end(key)
        return _SESSIONS[key]
    session = CabSession(design, _load(design.data_file), line_of_row)
    _SESSIONS[key] = session
    while len(_SESSIONS) > MAX_SESSIONS:
        _SESSIONS.popitem(last=False)
    log.info("CAb session %s: %d trials x %d questions from a pool of %d (%d zero cloud rows dropped)",
             key, design.n_trials, design.splits[3], session.n_pool, session.n_dropped_zero_cloud)
    return session


def get_session(source: Mapping[str, Any]) -> CabSession:
    """The session named by a sample dict or a record's ``extras``.

    Raises
    ------
    LookupError
        If the sample carries no session id or the session is gone; the message says
        which module must run first.
    """
    key = source.get(SESSION_FIELD) if isinstance(source, Mapping) else None
    if key is None or key not in _SESSIONS:
        raise LookupError(
            f"no CAb session {key!r}: the samples must come from the CAbTrialProcessor "
            "dataset_processor (add it to the algorithm's modules), which groups the test set "
            "into trials")
    return _SESSIONS[key]
