"""``fixed``: always draft ``k`` tokens (transformers' ``"constant"`` schedule)."""

from __future__ import annotations

from typing import Any, Mapping

from jointbench.specdec.parts import POLICY, register
from jointbench.specdec.policy import CycleOutcome, DraftState, reject_params


@register(POLICY, "fixed")
class FixedK:
    """Always draft ``k`` tokens.

    Parameters
    ----------
    k : int
        Draft length, ``>= 0`` (0 degenerates to target-only decoding).
    """

    reads_link = False

    def __init__(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"k: must be an integer >= 0, got {k!r}")
        self.k = k

    @classmethod
    def build(cls, k: int, k_max: int | None, transient: bool, params: Mapping[str, Any]) -> FixedK:
        """From the session's hyperparameters (``k``; ``k_max`` and ``transient`` unused)."""
        reject_params("fixed", params)
        return cls(k)

    def label(self) -> str:
        """Short label for tables and plots."""
        return f"K={self.k}"

    def reset(self) -> None:
        """Nothing to reset."""

    def next_k(self, state: DraftState) -> int:
        """Return ``k``."""
        return self.k

    def update(self, outcome: CycleOutcome) -> None:
        """Ignore the outcome."""

    def __repr__(self) -> str:
        return f"FixedK({self.k})"
