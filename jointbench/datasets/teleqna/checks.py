"""Check that an Ianvs test set fits a TeleQnA module before the first sample (INTERFACES A.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def check_questions(x: Sequence[Any], n_options: int) -> None:
    """Every question must be a TeleQnA question dict of the ``n_options``-option subset.

    Parameters
    ----------
    x : sequence
        The test set's ``question`` values (dicts with ``row`` and ``n_options``).
    n_options : int
        What the module was configured for.

    Raises
    ------
    ValueError
        Naming the first mismatching question and the fix.
    """
    for i, q in enumerate(x):
        if not isinstance(q, Mapping) or "row" not in q:
            raise ValueError(f"test-set question {i} is not a TeleQnA question dict with a 'row' key (got "
                             f"{type(q).__name__}); write the test set with jointbench.datasets.teleqna")
        if "n_options" in q and int(q["n_options"]) != n_options:
            raise ValueError(f"n_options: {n_options}, but the test set's questions have {q['n_options']} "
                             f"options (question {i}); set n_options: {q['n_options']} or use the "
                             f"{n_options}-option test file")
