"""Ianvs's leaderboard files, written atomically after finished test cases.

``<workspace>/<job>/rank/all_rank.csv`` and ``selected_rank.csv`` with Ianvs's
columns ``rank, algorithm, <metrics>, paradigm, <module types>, <type-hp>, time, url``
(contract C24). ``all_rank.csv`` accumulates across runs, as in Ianvs. Unlike Ianvs:
the metric columns keep the testenv's order (Ianvs's follow string hashing and may
differ between its two files); sorting is stable; ``selected_rank.csv`` really
de-duplicates reruns (Ianvs compares its new ``str()`` hyperparameters with the
numbers read back from the old CSV, so a rerun of the same grid is never a duplicate);
both files are replaced atomically (temp file + rename), so a killed run leaves the old
or the new file, never a truncated one; an unreadable history is set aside
(:mod:`jointbench.runner.history`) and finished cases missing from it are added back
from their case folders.
Checked against Ianvs 2026-01-31 + sedna 0.6.0.1 on the TeleQnA cascade example: same
rows, same metric values as strings, same columns, same ``url`` pattern.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import pandas as pd

from jointbench.cache import atomic_write_text
from jointbench.runner.errors import RunnerError
from jointbench.runner.history import case_id, read_case_records, read_history, remove_stale_temporaries
from jointbench.runner.lock import job_lock
from jointbench.runner.spec import RankSpec, TestCaseSpec

RANK_DIR, ALL_FILE, SELECTED_FILE = "rank", "all_rank.csv", "selected_rank.csv"
_FIXED_COLUMNS = ("rank", "algorithm", "paradigm", "time", "url")


@dataclass
class RankRow:
    """One finished test case as a rank row.

    Attributes
    ----------
    algorithm, paradigm : str
    modules : dict of str to str
        Module type to registered name, in YAML order.
    hyperparameters : dict of str to str
        ``<moduletype>-<hp>`` to ``str(value)``, as Ianvs writes them.
    metrics : dict
        Metric name to value.
    time, url : str
        Finish time and the case folder.
    """

    algorithm: str
    paradigm: str
    modules: dict[str, str]
    hyperparameters: dict[str, str]
    metrics: dict[str, Any]
    time: str
    url: str

    @classmethod
    def from_case(cls, case: TestCaseSpec, metrics: dict[str, Any], time: str, url: str) -> RankRow:
        """The row of a test case that just finished."""
        return cls(case.algorithm, case.paradigm_type, {t: m.name for t, m in case.modules.items()},
                   case.hyperparameter_columns(), metrics, time, url)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> RankRow:
        """The row stored in a case folder's ``case.json``."""
        metrics = {k: (float("nan") if v is None else v) for k, v in rec["metrics"].items()}
        return cls(rec["algorithm"], rec["paradigm"], dict(rec["modules"]), dict(rec["hyperparameters"]),
                   metrics, rec["time"], rec["url"])


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


@dataclass
class RankWriter:
    """History plus this run's finished cases; rewrites the rank CSVs.

    Parameters
    ----------
    rank : RankSpec
        Sorting and selection.
    job_dir : str
        ``<workspace>/<job>``.
    metric_names : list of str
        In testenv order.
    out : file-like, optional
        Where to say that a history was set aside or that cases were added back.
    reconcile : bool
        Add finished case folders that the history lacks (a run killed before its save)
        and delete the half-written temporaries a killed run left; the caller must hold
        the job folder's lock.
    """

    rank: RankSpec
    job_dir: str
    metric_names: list[str]
    out: TextIO | None = None
    reconcile: bool = True
    rows: list[RankRow] = field(default_factory=list)
    min_interval_s: float = 2.0
    _history: pd.DataFrame | None = None
    _last_save: float = float("-inf")

    def __post_init__(self) -> None:
        self.rank_dir = os.path.join(self.job_dir, RANK_DIR)
        self.all_file = os.path.join(self.rank_dir, ALL_FILE)
        self.selected_file = os.path.join(self.rank_dir, SELECTED_FILE)
        self._history = read_history(self.all_file, self.out)
        self.n_added_back = 0
        if self.reconcile:
            remove_stale_temporaries(self.job_dir)  # the caller holds the job lock
        if self._history is not None:
            dup = self._history["url"].astype(str).map(case_id).duplicated()
            if dup.any():
                self._history = self._history.loc[~dup.to_numpy()]
                if self.out is not None:
                    print(f"[jointbench] {int(dup.sum())} duplicate row(s) of the same case folder dropped "
                          f"from {self.all_file}", file=self.out)
        if self.reconcile:
            ranked = set() if self._history is None else {case_id(u) for u in self._history["url"].astype(str)}
            for rec in read_case_records(self.job_dir):
                if case_id(rec["url"]) not in ranked:
                    ranked.add(case_id(rec["url"]))
                    self.rows.append(RankRow.from_record(rec))
                    self.n_added_back += 1
            if self.n_added_back and self.out is not None:
                print(f"[jointbench] {self.n_added_back} finished test case(s) found in {self.job_dir} but "
                      f"missing from the rank (an earlier run was stopped before saving); they are ranked now",
                      file=self.out)

    def _history_columns(self, with_dash: bool) -> list[str]:
        if self._history is None:
            return []
        return [c for c in self._history.columns
                if c not in _FIXED_COLUMNS and c not in self.metric_names and ("-" in c) == with_dash
                and not str(c).startswith("Unnamed")]

    def _module_types(self) -> list[str]:
        if not self.rows:
            return self._history_columns(False)
        return _unique([t for row in self.rows for t in row.modules])

    def _hp_names(self) -> list[str]:
        if not self.rows:
            return self._history_columns(True)
        return _unique([n for row in self.rows for n in row.hyperparameters])

    def _new_frame(self) -> pd.DataFrame:
        header = ["algorithm", *self.metric_names, "paradigm", *self._module_types(), *self._hp_names(),
                  "time", "url"]
        records = []
        for row in self.rows:
            rec: dict[str, Any] = {"algorithm": row.algorithm, "paradigm": row.paradigm,
                                   "time": row.time, "url": row.url}
            rec.update(row.metrics)
            rec.update(row.modules)
            rec.update(row.hyperparameters)
            records.append(rec)
        return pd.DataFrame(records, columns=header)

    def all_frame(self) -> pd.DataFrame:
        """History plus this run's rows, sorted by ``rank.sort_by``."""
        frame = None
        if self.rows:
            # Round-trip through CSV so this run's rows have the types rows read back from
            # history have (Ianvs compares "0.5" with 0.5 and keeps duplicates).
            frame = pd.read_csv(io.StringIO(self._new_frame().to_csv(index=False)))
        if self._history is not None and len(self._history):
            frame = self._history if frame is None else pd.concat([self._history, frame], ignore_index=True)
        if frame is None:
            frame = self._new_frame()
        keys = [m for m, _ in self.rank.sort_by if m in frame.columns]
        if keys:
            ascending = [asc for m, asc in self.rank.sort_by if m in frame.columns]
            frame = frame.sort_values(by=keys, ascending=ascending, kind="stable", na_position="last")
        frame.index = np.arange(1, len(frame) + 1)
        return frame

    def selected_frame(self, all_df: pd.DataFrame) -> pd.DataFrame:
        """Ianvs's ``selected_rank``: chosen columns, de-duplicated on all but time/url."""
        sel = self.rank.selected
        modules = self._module_types() if sel["modules"] == ["all"] else sel["modules"]
        hps = self._hp_names() if sel["hyperparameters"] == ["all"] else sel["hyperparameters"]
        metrics = self.metric_names if sel["metrics"] == ["all"] else sel["metrics"]
        header = ["algorithm", *metrics, "paradigm", *modules, *hps, "time", "url"]
        frame = pd.DataFrame(all_df, columns=header).drop_duplicates(header[:-2])
        if sel["paradigms"] != ["all"]:
            frame = frame.loc[frame["paradigm"].isin(sel["paradigms"])]
        frame.index = np.arange(1, len(frame) + 1)
        return frame

    def add(self, row: RankRow, *, force: bool = True) -> pd.DataFrame | None:
        """Record a finished test case and rewrite the CSVs.

        Parameters
        ----------
        row : RankRow
            The finished case.
        force : bool
            Rewrite now. With False the CSVs are rewritten only if ``min_interval_s``
            has passed since the last write (a sweep of hundreds of small cases would
            otherwise spend most of its time rewriting a growing table); the caller
            must then call :meth:`save` at the end. A case not yet in the CSVs is not
            lost if the run is killed: its folder holds ``case.json``, and the next run
            or ``jointbench rank`` adds it.

        Returns
        -------
        pandas.DataFrame or None
            The selected frame when the CSVs were written.
        """
        self.rows.append(row)
        if force or time.monotonic() - self._last_save >= self.min_interval_s:
            return self.save()
        return None

    def save(self) -> pd.DataFrame:
        """Write the CSVs per ``save_mode`` (each atomically); return the selected frame."""
        all_df = self.all_frame()
        selected = self.selected_frame(all_df)
        if self.rank.save_mode != "selected_only":
            atomic_write_text(self.all_file, all_df.to_csv(index_label="rank"))
        atomic_write_text(self.selected_file, selected.to_csv(index_label="rank"))
        self._last_save = time.monotonic()
        return selected


def rebuild_rank(job_dir: str, out: TextIO | None = None) -> RankWriter:
    """Rewrite ``<job_dir>/rank/*.csv`` from the finished case folders (``jointbench rank``).

    Readable history rows are kept once each (rows without a case folder too, e.g. from
    real Ianvs); every finished case folder missing from them is added; an unreadable
    history is set aside first. The sorting and selection are those the latest finished
    case was run with. Holds the job folder's lock.

    Returns
    -------
    RankWriter
        With the rows it added back (``n_added_back``).

    Raises
    ------
    RunnerError
        If no finished case folder exists under ``job_dir``, or another run holds it.
    """
    records = read_case_records(job_dir)
    if not records:
        raise RunnerError(f"no finished test case under {job_dir} (expected <algorithm>/<id>/case.json folders "
                          f"written by `jointbench run`); pass the job folder <workspace>/<job name>")
    latest = records[-1]["rank"]
    spec = RankSpec([(str(m), bool(a)) for m, a in latest["sort_by"]], dict(latest["selected"]),
                    str(latest["save_mode"]))
    with job_lock(job_dir):
        writer = RankWriter(spec, job_dir, list(records[-1]["metric_names"]), out=out)
        writer.save()
    return writer
