"""Ianvs HEM of the speculative-decoding leaderboard: required by Ianvs, never called in self-design."""

from __future__ import annotations

from typing import Any

from jointbench.registry import ClassFactory, ClassType

__all__ = ["SDNoMining"]


@ClassFactory.register(ClassType.HEM, alias="SDNoMining")
class SDNoMining:
    """Never hard: the edge module serves every query (it schedules the cloud itself)."""

    def __init__(self) -> None:
        """Takes no hyperparameters (Python itself names any that a YAML passes)."""

    def __call__(self, *args: Any, **kwargs: Any) -> bool:
        """Return False (easy) for any input."""
        return False
