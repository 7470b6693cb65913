"""Ianvs cloud model of the speculative-decoding leaderboard: the declared target service.

Ianvs 2026-01 requires a cloud model in every joint-inference algorithm (contract,
fact 10). In self-design mode it is never called: the edge module's session prices
the target's prefill, decode and verify passes from the recorded traces.
"""

from __future__ import annotations

from typing import Any

from jointbench.registry import ClassFactory, ClassType

__all__ = ["SDTargetService"]


@ClassFactory.register(ClassType.GENERAL, alias="SDTargetService")
class SDTargetService:
    """Placeholder for the cloud target model (never called in self-design mode).

    Parameters
    ----------
    **hyperparameters : Any
        Accepted and ignored (documentation of the deployment, e.g. ``pair``).
    """

    def __init__(self, **hyperparameters: Any) -> None:
        self.hyperparameters = dict(hyperparameters)

    def load(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to load."""

    def inference(self, data: Any, **kwargs: Any) -> Any:
        """Not used in self-design mode."""
        raise RuntimeError("SDTargetService is only declared; run the job in self-design mode")
