"""Ianvs dataset_processor of the CAb cascade: the question pool becomes seeded trial batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from jointbench.cab.ianvs_session import design_from_test_set, open_session
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
        self.kw = {"alpha": alpha, "mode": mode, "n_trials": n_trials, "seed": seed,
                   "splits": splits or [500, 200, 500, 100], "pool_size": pool_size,
                   "zero_cloud_rows": zero_cloud_rows, "data_file": data_file_path}
        self.n_options = n_options

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
