"""``heuristic``: transformers' schedule, +2 after a fully accepted draft, else -1."""

from __future__ import annotations

from typing import Any, Mapping

from jointbench.specdec.parts import POLICY, register
from jointbench.specdec.policy import HF_DEFAULT_NUM_ASSISTANT_TOKENS, CycleOutcome, DraftState, reject_params


@register(POLICY, "heuristic")
class HeuristicK:
    """transformers' ``"heuristic"`` schedule.

    ``K`` starts at ``start`` and never goes below 1 (transformers 5.23,
    ``AssistedCandidateGenerator.update_candidate_strategy``: "all candidates matched"
    means ``num_matches == candidate_length``).

    Parameters
    ----------
    start : int
        Initial draft length; transformers' default ``num_assistant_tokens`` is 20.
    transient : bool
        True resets ``K`` to ``start`` at every query (transformers'
        ``"heuristic_transient"``); False carries it over between queries, as
        transformers' ``"heuristic"`` does with the same assistant model.
    max_k : int or None
        Optional upper bound (transformers has none).
    """

    reads_link = False

    def __init__(self, start: int = HF_DEFAULT_NUM_ASSISTANT_TOKENS, transient: bool = True,
                 max_k: int | None = None) -> None:
        if isinstance(start, bool) or not isinstance(start, int) or start < 1:
            raise ValueError(f"k: the heuristic's start must be an integer >= 1, got {start!r}")
        if max_k is not None and (isinstance(max_k, bool) or not isinstance(max_k, int) or max_k < 1):
            raise ValueError(f"k_max: must be an integer >= 1 or null, got {max_k!r}")
        self.start = start
        self.transient = bool(transient)
        self.max_k = max_k
        self.k = start

    @classmethod
    def build(cls, k: int, k_max: int | None, transient: bool, params: Mapping[str, Any]) -> HeuristicK:
        """From the session's hyperparameters (``k`` is the start)."""
        reject_params("heuristic", params)
        return cls(start=k, transient=transient, max_k=k_max)

    def label(self) -> str:
        """Short label for tables and plots."""
        return "HF-heuristic"

    def reset(self) -> None:
        """Restore ``start`` if transient."""
        if self.transient:
            self.k = self.start

    def next_k(self, state: DraftState) -> int:
        """Return the current ``K``."""
        return self.k

    def update(self, outcome: CycleOutcome) -> None:
        """+2 if every drafted token was accepted, else -1 (floor 1)."""
        if outcome.accepted == outcome.drafted:
            self.k += 2
            if self.max_k is not None:
                self.k = min(self.k, self.max_k)
        else:
            self.k = max(1, self.k - 1)

    def __repr__(self) -> str:
        return f"HeuristicK(start={self.start}, transient={self.transient}, max_k={self.max_k})"
