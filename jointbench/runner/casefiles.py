"""A finished test case's folder ``<workspace>/<job>/<algorithm>/<uuid>/``, written atomically.

The folder is built under a hidden temporary name and renamed into place in one step,
so a case folder either holds all of its files or does not exist (a failed case holds
``error.txt`` only):

- ``records.jsonl``: one line per sample. Compact by default: ``index``,
  ``is_hard_example`` and the served ``result`` without its per-message ``exchanges``
  and without empty fields. With full records (``jointbench run --full-records`` or
  ``JOINTBENCH_FULL_RECORDS=1``) every line holds Ianvs's four slots
  (``result``, ``edge_result``, ``cloud_result``) complete.
- ``metrics.json``: the metric values (NaN as null).
- ``env.json``: machine, software, seeds, hyperparameters, the modules' ``provenance``.
- ``case.json``: the rank row this case contributes (what ``jointbench rank`` rebuilds from).
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from jointbench.cache import atomic_dir, atomic_write_text
from jointbench.runner.history import CASE_FILE, CASE_FORMAT
from jointbench.runner.plaincopy import PLAIN_ATOMS
from jointbench.runner.serialize import dumps, to_jsonable

FULL_RECORDS_ENV = "JOINTBENCH_FULL_RECORDS"


def full_records_requested() -> bool:
    """True when ``$JOINTBENCH_FULL_RECORDS`` asks for full per-sample records."""
    return os.environ.get(FULL_RECORDS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _compact(record: Any) -> Any:
    if not isinstance(record, dict):
        return record
    return {k: v for k, v in record.items()
            if k != "exchanges" and v is not None and (type(v) in PLAIN_ATOMS or (v != {} and v != []))}


def record_lines(y_pred: list[Any], full: bool) -> str:
    """The ``records.jsonl`` text of one test case.

    Parameters
    ----------
    y_pred : list
        Ianvs's ``[is_hard_example, result, edge_result, cloud_result]`` per sample.
    full : bool
        Keep all four slots complete instead of the compact served result.
    """
    lines = []
    for i, (is_hard, result, edge, cloud) in enumerate(y_pred):
        if full:
            rec = {"index": i, "is_hard_example": is_hard, "result": result, "edge_result": edge,
                   "cloud_result": cloud}
        else:
            rec = {"index": i, "is_hard_example": is_hard, "result": _compact(result)}
        lines.append(dumps(rec))
    return "\n".join(lines) + ("\n" if lines else "")


def case_record(row: Any, metric_names: list[str], rank: Any) -> dict[str, Any]:
    """The ``case.json`` content: the rank row plus the job's rank settings."""
    return {"format": CASE_FORMAT, "algorithm": row.algorithm, "paradigm": row.paradigm,
            "modules": row.modules, "hyperparameters": row.hyperparameters,
            "metrics": to_jsonable(row.metrics), "metric_names": list(metric_names), "time": row.time,
            "finished_ns": time.time_ns(), "url": row.url,
            "rank": {"sort_by": [list(s) for s in rank.sort_by], "selected": rank.selected,
                     "save_mode": rank.save_mode}}


def write_case(url: str, y_pred: list[Any], metrics: dict[str, Any], env: dict[str, Any],
               record: dict[str, Any], full: bool = False) -> None:
    """Write a finished case's folder at ``url`` in one atomic step.

    Raises
    ------
    OSError
        If the workspace cannot be written (full disk, read-only); nothing is left at ``url``.
    """
    with atomic_dir(url) as tmp:
        (tmp / "records.jsonl").write_text(record_lines(y_pred, full), encoding="utf-8")
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}
        (tmp / "metrics.json").write_text(json.dumps(to_jsonable(clean), indent=2), encoding="utf-8")
        (tmp / "env.json").write_text(json.dumps(to_jsonable(env), indent=2, ensure_ascii=False),
                                      encoding="utf-8")
        (tmp / CASE_FILE).write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        for f in tmp.iterdir():  # on disk before the rename makes the folder visible
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())


def write_error(url: str, text: str) -> None:
    """A failed case's folder: ``error.txt`` with the traceback, written atomically."""
    atomic_write_text(os.path.join(url, "error.txt"), text)
