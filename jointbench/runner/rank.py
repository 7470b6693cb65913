"""Ianvs's leaderboard files, written after every finished test case.

``<workspace>/<job>/rank/all_rank.csv`` and ``selected_rank.csv`` with Ianvs's
columns ``rank, algorithm, <metrics>, paradigm, <module types>, <type-hp>, time, url``
(contract C24). ``all_rank.csv`` accumulates across runs, as in Ianvs. Unlike Ianvs:
the metric columns keep the testenv's order (Ianvs's follow string hashing and may
differ between its two files); sorting is stable; and ``selected_rank.csv`` really
de-duplicates reruns (Ianvs compares its new ``str()`` hyperparameters with the
numbers read back from the old CSV, so a rerun of the same grid is never a duplicate).
Checked against Ianvs 2026-01-31 + sedna 0.6.0.1 on the TeleQnA cascade example: same
rows, same metric values as strings, same columns, same ``url`` pattern.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jointbench.runner.spec import RankSpec, TestCaseSpec


@dataclass
class RankRow:
    """One finished test case: its spec, metric values, finish time and url."""

    case: TestCaseSpec
    metrics: dict[str, Any]
    time: str
    url: str


@dataclass
class RankWriter:
    """Accumulates finished test cases of one run and rewrites the rank CSVs."""

    rank: RankSpec
    job_dir: str
    metric_names: list[str]
    rows: list[RankRow] = field(default_factory=list)
    min_interval_s: float = 2.0
    _history: pd.DataFrame | None = None
    _last_save: float = float("-inf")

    def __post_init__(self) -> None:
        self.rank_dir = os.path.join(self.job_dir, "rank")
        self.all_file = os.path.join(self.rank_dir, "all_rank.csv")
        self.selected_file = os.path.join(self.rank_dir, "selected_rank.csv")
        if os.path.isfile(self.all_file):
            self._history = pd.read_csv(self.all_file, index_col=0)

    def _module_types(self) -> list[str]:
        types: list[str] = []
        for row in self.rows:
            for t in row.case.modules:
                if t not in types:
                    types.append(t)
        return types

    def _hp_names(self) -> list[str]:
        names: list[str] = []
        for row in self.rows:
            for n in row.case.hyperparameter_columns():
                if n not in names:
                    names.append(n)
        return names

    def _new_frame(self) -> pd.DataFrame:
        header = ["algorithm", *self.metric_names, "paradigm", *self._module_types(), *self._hp_names(),
                  "time", "url"]
        records = []
        for row in self.rows:
            rec: dict[str, Any] = {"algorithm": row.case.algorithm, "paradigm": row.case.paradigm_type,
                                   "time": row.time, "url": row.url}
            rec.update(row.metrics)
            rec.update({t: m.name for t, m in row.case.modules.items()})
            rec.update(row.case.hyperparameter_columns())
            records.append(rec)
        return pd.DataFrame(records, columns=header)

    def all_frame(self) -> pd.DataFrame:
        """History plus this run's rows, sorted by ``rank.sort_by``."""
        # Round-trip through CSV so this run's rows have the types rows read back from
        # history have (Ianvs compares "0.5" with 0.5 and keeps duplicates).
        frame = pd.read_csv(io.StringIO(self._new_frame().to_csv(index=False)))
        if self._history is not None and len(self._history):
            frame = pd.concat([self._history, frame], ignore_index=True)
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
            must then call :meth:`save` at the end.

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
        """Write the CSVs per ``save_mode``; return the selected frame."""
        os.makedirs(self.rank_dir, exist_ok=True)
        all_df = self.all_frame()
        selected = self.selected_frame(all_df)
        if self.rank.save_mode != "selected_only":
            all_df.to_csv(self.all_file, index_label="rank", encoding="utf-8")
        selected.to_csv(self.selected_file, index_label="rank", encoding="utf-8")
        self._last_save = time.monotonic()
        return selected
