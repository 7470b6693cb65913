"""Reading back what earlier runs left in a job folder: the rank history and the case folders.

A rank CSV that cannot be trusted (empty, cut mid-row, rows with the wrong number of
fields, missing Ianvs's columns) is never merged and never fatal: it is renamed to
``<name>.corrupt-<time>``, the rename is announced, and the finished cases it held are
recovered from their case folders (each holds ``case.json``, the row it ranks as).
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import json
import os
import shutil
import time
from typing import Any, TextIO

import pandas as pd

#: The file in each finished case folder that holds its rank row (see ``casefiles``).
CASE_FILE = "case.json"
CASE_FORMAT = 1
REQUIRED_COLUMNS = ("rank", "algorithm", "paradigm", "time", "url")


class CorruptHistory(ValueError):
    """The rank CSV cannot be trusted; the message says why."""


def case_id(url: str) -> str:
    """The identity of a case folder: its last path component (a uuid1)."""
    return os.path.basename(os.path.normpath(str(url)))


def _check_csv_text(text: str) -> None:
    if not text.strip():
        raise CorruptHistory("the file is empty")
    if not text.endswith("\n"):
        raise CorruptHistory("the last row is cut off (no final newline)")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CorruptHistory(f"the header lacks Ianvs's column(s) {', '.join(missing)}")
    for lineno, row in enumerate(rows[1:], 2):
        if row and len(row) != len(header):
            raise CorruptHistory(f"line {lineno} has {len(row)} fields, the header {len(header)}")


def set_aside(path: str, reason: str, out: TextIO | None) -> str:
    """Rename an untrusted file to ``<path>.corrupt-<time>`` and say so; return the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = f"{path}.corrupt-{stamp}"
    n = 1
    while os.path.exists(target):
        n += 1
        target = f"{path}.corrupt-{stamp}-{n}"
    os.replace(path, target)
    if out is not None:
        print(f"[jointbench] warning: {path} is unreadable ({reason}); set aside as {target}. Its finished "
              f"cases are recovered from their case folders; `jointbench rank {os.path.dirname(os.path.dirname(path))}`"
              f" rebuilds the rank from them at any time.", file=out)
    return target


def read_history(path: str, out: TextIO | None = None) -> pd.DataFrame | None:
    """The rank rows an earlier run wrote, or None if there is none or it was set aside.

    Parameters
    ----------
    path : str
        ``all_rank.csv``.
    out : file-like, optional
        Where the set-aside warning goes.

    Returns
    -------
    pandas.DataFrame or None
        Indexed by the old rank; ``None`` when the file is absent or untrusted (then it has
        been renamed to ``<path>.corrupt-<time>``).
    """
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        _check_csv_text(text)
        return pd.read_csv(io.StringIO(text), index_col=0)
    except (CorruptHistory, UnicodeDecodeError, csv.Error, pd.errors.ParserError,
            pd.errors.EmptyDataError) as err:
        set_aside(path, str(err), out)
        return None


def remove_stale_temporaries(job_dir: str) -> int:
    """Delete half-written files and folders a killed run left (hidden ``.*.tmp`` names).

    Call only while holding the job folder's lock: then no other process is writing them.

    Returns
    -------
    int
        How many were removed.
    """
    n = 0
    for pattern in (os.path.join(glob.escape(job_dir), "*", ".*.tmp"),):
        for path in glob.glob(pattern):
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            n += 1
    return n


def read_case_records(job_dir: str) -> list[dict[str, Any]]:
    """The ``case.json`` of every finished case folder ``<job_dir>/<algorithm>/<id>/``, by finish time.

    Folders being built (hidden temp names) and failed cases (no ``case.json``) are skipped;
    so is a ``case.json`` of another format version.
    """
    records = []
    for path in glob.glob(os.path.join(glob.escape(job_dir), "*", "*", CASE_FILE)):
        try:
            with open(path, encoding="utf-8") as fh:
                rec = json.load(fh)
        except (OSError, ValueError):
            continue  # written atomically, so only a foreign file can be unreadable
        if isinstance(rec, dict) and rec.get("format") == CASE_FORMAT:
            records.append(rec)
    records.sort(key=lambda r: (int(r.get("finished_ns", 0)), str(r.get("url", ""))))
    return records
