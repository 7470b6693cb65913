"""Draft-length policies: how many tokens the edge drafts in the next cycle.

The interface follows vLLM's ``DraftLengthPolicy`` and the candidate-generator
contract of Hugging Face transformers (``get_candidates`` /
``update_candidate_strategy(num_matches)``): the engine asks :meth:`next_k` before
each cycle and reports the outcome with :meth:`update`. Adaptive controllers (NASD,
DSD-AWC, ...) implement the same Protocol; one that needs the network state keeps a
reference to it (e.g. the virtual clock) instead of widening this interface.

The engine, not the policy, clips ``K`` to ``[0, remaining - 1]`` (as transformers
does with ``max_length - cur_len - 1``), so one cycle never overshoots
``max_new_tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# transformers 5.23 GenerationConfig default (generation/configuration_utils.py,
# ``_get_default_generation_params``): num_assistant_tokens=20.
HF_DEFAULT_NUM_ASSISTANT_TOKENS = 20


@dataclass(frozen=True)
class DraftState:
    """What a policy may look at before a cycle.

    Attributes
    ----------
    cycle : int
        Cycles already run for this query (0 before the first).
    generated : int
        Tokens committed so far for this query.
    remaining : int
        Tokens left before ``max_new_tokens``.
    """

    cycle: int
    generated: int
    remaining: int


@runtime_checkable
class DraftLengthPolicy(Protocol):
    """Chooses the draft length ``K`` cycle by cycle."""

    def reset(self) -> None:
        """Called by the engine at the start of every query."""

    def next_k(self, state: DraftState) -> int:
        """Draft length for the next cycle (``>= 0``; the engine clips it)."""

    def update(self, num_drafted: int, num_accepted: int) -> None:
        """Outcome of the cycle just verified.

        Parameters
        ----------
        num_drafted : int
            Tokens actually drafted (after clipping; fewer if the draft emitted EOS).
        num_accepted : int
            Leading drafted tokens the target accepted (``0 .. num_drafted``).
        """


class FixedK:
    """Always draft ``k`` tokens (transformers' ``"constant"`` schedule).

    Parameters
    ----------
    k : int
        Draft length, ``>= 0`` (0 degenerates to target-only decoding).
    """

    def __init__(self, k: int) -> None:
        if k < 0:
            raise ValueError("k must be >= 0")
        self.k = k

    def reset(self) -> None:
        """Nothing to reset."""

    def next_k(self, state: DraftState) -> int:
        """Return ``k``."""
        return self.k

    def update(self, num_drafted: int, num_accepted: int) -> None:
        """Ignore the outcome."""

    def __repr__(self) -> str:
        return f"FixedK({self.k})"


class HeuristicK:
    """transformers' ``"heuristic"`` schedule: +2 after a fully accepted draft, else -1.

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

    def __init__(
        self,
        start: int = HF_DEFAULT_NUM_ASSISTANT_TOKENS,
        transient: bool = True,
        max_k: int | None = None,
    ) -> None:
        if start < 1:
            raise ValueError("start must be >= 1")
        self.start = start
        self.transient = transient
        self.max_k = max_k
        self.k = start

    def reset(self) -> None:
        """Restore ``start`` if transient."""
        if self.transient:
            self.k = self.start

    def next_k(self, state: DraftState) -> int:
        """Return the current ``K``."""
        return self.k

    def update(self, num_drafted: int, num_accepted: int) -> None:
        """+2 if every drafted token was accepted, else -1 (floor 1)."""
        if num_accepted == num_drafted:
            self.k += 2
            if self.max_k is not None:
                self.k = min(self.k, self.max_k)
        else:
            self.k = max(1, self.k - 1)

    def __repr__(self) -> str:
        return f"HeuristicK(start={self.start}, transient={self.transient}, max_k={self.max_k})"


def clip_k(k: int, remaining: int) -> int:
    """Clip a requested draft length to ``[0, remaining - 1]``."""
    return max(0, min(int(k), remaining - 1))
