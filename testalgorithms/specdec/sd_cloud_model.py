"""Ianvs cloud model of the speculative-decoding leaderboard: the declared target service.

Ianvs 2026-01 requires a cloud model in every joint-inference algorithm (contract,
fact 10). In self-design mode it is never called: the edge module's session prices
the target's prefill, decode and verify passes from the recorded traces.
"""

from __future__ import annotations

from typing import Any

from jointbench.registry import ClassFactory, ClassType
from jointbench.specdec.models import PAIRS

__all__ = ["SDTargetService"]


@ClassFactory.register(ClassType.GENERAL, alias="SDTargetService")
class SDTargetService:
    """Placeholder for the cloud target model (never called in self-design mode).

    Parameters
    ----------
    pair : str
        The deployed pair (documentation; must be defined in ``configs/models.yaml``).
    """

    def __init__(self, pair: str = "smollm2-135m-int8") -> None:
        if not isinstance(pair, str) or pair not in PAIRS:
            raise ValueError(f"pair: unknown model pair {pair!r}. Available: {', '.join(sorted(PAIRS))}")
        self.pair = pair

    def load(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to load."""

    def inference(self, data: Any, **kwargs: Any) -> Any:
        """Not used in self-design mode."""
        raise RuntimeError("SDTargetService is only declared; run the job in self-design mode")
