"""Highest-mass sets (split CP and RLCP: tests/conformal/test_conformal_sets.py)."""

from __future__ import annotations

import numpy as np
from jointbench.cab.sets import hms_mask


def test_hms_is_smallest_prefix_reaching_mass() -> None:
    probs = np.array([[0.1, 0.6, 0.3, 0.0], [0.25, 0.25, 0.25, 0.25], [0.9, 0.05, 0.05, 0.0]])
    mask = hms_mask(probs, alpha=0.2)
    assert mask.tolist() == [
        [False, True, True, False],
        [True, True, True, True],
        [True, False, False, False],
    ]


def test_hms_ties_keep_lower_index_and_float_grid_counts() -> None:
    # 0.7 + 0.1 in float32 is just below 0.8; the tolerance must still accept it.
    probs = np.array([[0.1, 0.7, 0.1, 0.1]], dtype=np.float32)
    assert hms_mask(probs, alpha=0.2).tolist() == [[True, True, False, False]]


def test_hms_fallback_for_rows_without_enough_mass() -> None:
    probs = np.array([[0.3, 0.2, 0.0], [0.0, 0.0, 0.0]])
    assert hms_mask(probs, 0.2, fallback="top1").tolist() == [
        [True, False, False],
        [True, False, False],
    ]
    assert hms_mask(probs, 0.2, fallback="full").all()
