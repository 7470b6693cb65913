"""Ianvs HEM of the uncertainty-token collaboration: UTS-1 sample selection."""

from __future__ import annotations

from typing import Any, Mapping

from jointbench.registry import ClassFactory, ClassType
from jointbench.params import check_float
from jointbench.uncertainty.selection import select_samples

__all__ = ["UTSSampleSelection"]


@ClassFactory.register(ClassType.HEM, alias="UTSSampleSelection")
class UTSSampleSelection:
    """Hard (uploaded) iff the edge's confidence < ``tau`` (CD-CCA: 0.5).

    Parameters
    ----------
    tau : float
        In [0, 1]; 0 keeps everything on the edge, 1 uploads every uncertain sample.
    """

    def __init__(self, tau: float = 0.4) -> None:
        self.tau = check_float("tau", tau, 0, 1)

    def __call__(self, edge_result: Mapping[str, Any]) -> bool:
        conf = (edge_result.get("extras") or {}).get("confidence")
        return True if conf is None else bool(select_samples([conf], self.tau)[0])
