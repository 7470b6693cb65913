"""A draft-length policy that follows a script, shared by the fallback tests (a unique module name)."""

from __future__ import annotations

from typing import Any, Sequence


class ScriptedFallback:
    """``K`` per cycle from ``script`` (cycling); 0 asks a ``fallback`` step of ``tokens`` tokens, as NASD's cutoff.

    Parameters
    ----------
    script : sequence of int
    fallback : {"edge_only", "cloud_only"}
    tokens : int
        Tokens per fallback step (``fallback_tokens``).
    """

    reads_link = False
    draft_stop = None

    def __init__(self, script: Sequence[int] = (3, 0, 0, 2, 0, 3), fallback: str = "edge_only",
                 tokens: int = 2) -> None:
        self.script, self.fallback, self.fallback_tokens = tuple(script), fallback, tokens

    def reset(self) -> None:
        """Nothing learnt."""

    def next_k(self, state: Any) -> int:
        return self.script[state.cycle % len(self.script)]

    def update(self, outcome: Any) -> None:
        """Nothing learnt."""
