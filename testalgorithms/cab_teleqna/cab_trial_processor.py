"""Ianvs dataset_processor of the CAb cascade: the question pool becomes seeded trial batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from jointbench.cab.ianvs_session import design_from_test_set, open_session
from jointbench.datasets.teleqna.checks import check_questions
from jointbench.params import check_choice, check_file, check_float, check_int
from jointbench.registry import ClassFactory, ClassType

__all__ = ["CAbTrialProcessor"]


@ClassFactory.register(ClassType.GENERAL, alias="CAbTrialProcessor")
class CAbTrialProcessor:
    """Replace the test set by ``n_trials x batch`` samples, one per (trial, question).

    Each trial draws disjoint calibration / training / val / test-batch splits from the
    questions the test set lists, and fresh reference labels (see
    :mod:`jointbench.cab.ianvs_session`). Every sample carries its session id, trial and
    position, so the HEM can find its whole batch.

    Parameters
    ----------
    alpha : float
        Miscoverage level shared by edge sets, cloud sets and the satisfaction requirement.
    mode : {"faithful", "clean"}
        Treatment of the authors' quirks (``jointbench.cab.options``).
    n_trials : int
    seed : int
    splits : list of 4 int
        Calibration, training, selection-calibration (val) and test-batch sizes.
    pool_size : int, "all" or "mode"
        Use only the first rows of the table ("mode": 1720 in faithful mode, as the authors).
    zero_cloud_rows : {"drop", "unsatisfiable"}
        What to do with all-zero cloud rows (one in the 5-option set).
    n_options : int or None
        Which shipped table (4 or 5); None reads it from the test set.
    data_file_path : str, optional
        A regenerated table (``python -m jointbench.cab.live``) instead of the shipped one.
    """

    def __init__(self, alpha: float = 0.2, mode: str = "faithful", n_trials: int = 50, seed: int = 0,
                 splits: list[int] | None = None, pool_size: int | str = "mode", zero_cloud_rows: str = "drop",
                 n_options: int | None = None, data_file_path: str | None = None) -> None:
        splits = [500, 200, 500, 100] if splits is None else splits
        if not isinstance(splits, (list, tuple)) or len(splits) != 4:
            raise ValueError(f"splits: must be a list of 4 sizes [calibration, training, val, test batch], "
                             f"got {splits!r}")
        if pool_size not in ("all", "mode"):
            pool_size = check_int("pool_size", pool_size, 1)
        self.kw = {"alpha": check_float("alpha", alpha, 0.0, 1.0, lo_open=True, hi_open=True),
                   "mode": check_choice("mode", mode, ("faithful", "clean")),
                   "n_trials": check_int("n_trials", n_trials, 1), "seed": check_int("seed", seed, 0),
                   "splits": [check_int(f"splits[{i}]", s, 1) for i, s in enumerate(splits)],
                   "pool_size": pool_size,
                   "zero_cloud_rows": check_choice("zero_cloud_rows", zero_cloud_rows, ("drop", "unsatisfiable")),
                   "data_file": check_file("data_file_path", data_file_path)}
        self.n_options = None if n_options is None else int(check_choice("n_options", n_options, (4, 5)))

    def check_dataset(self, x: Sequence[Any], y: Sequence[Any]) -> None:
        """Refuse a test set of the other TeleQnA subset, or too small for the splits (INTERFACES A.2)."""
        if self.n_options is not None:
            check_questions(x, self.n_options)
        need = sum(self.kw["splits"])
        if len(x) < need:
            raise ValueError(f"splits: {self.kw['splits']} need {need} questions per trial, but the test set "
                             f"lists {len(x)}")

    def __call__(self, dataset: Any) -> Any:
        """Return ``dataset`` with ``x`` = the trial samples and ``y`` = their answer letters."""
        questions = list(dataset.x)
        n_options = self.n_options or (int(questions[0].get("n_options", 4)) if questions else 4)
        design, lines = design_from_test_set(questions, n_options=n_options, **self.kw)
        session = open_session(design, lines)
        prompts = {int(q["row"]): str(q.get("prompt", "")) for q in questions}
        samples = session.samples(prompts)
        answers = np.asarray(dataset.y)
        x = np.empty(len(samples), dtype=object)
        x[:] = samples
        dataset.x = x
        dataset.y = np.array([answers[s["index"]] if s["index"] is not None else "" for s in samples])
        return dataset
