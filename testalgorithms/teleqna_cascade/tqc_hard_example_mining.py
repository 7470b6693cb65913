"""Ianvs HEM of the TeleQnA cascade: defer when the edge's top probability is below a threshold."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from jointbench.cascade.deferral import defer_to_cloud
from jointbench.params import check_float
from jointbench.registry import ClassFactory, ClassType

__all__ = ["TeleQnAConfidenceDeferral"]


@ClassFactory.register(ClassType.HEM, alias="TeleQnAConfidenceDeferral")
class TeleQnAConfidenceDeferral:
    """Hard (sent to the cloud) iff the edge's confidence < ``threshold``.

    Used in ``inference-then-mining`` mode, so it receives the edge record. A record
    without a confidence (the edge did not run) is always hard.

    Parameters
    ----------
    threshold : float
        Edge serves iff ``max_prob >= threshold``, compared in float32 like the data.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = check_float("threshold", threshold, 0.0, 1.0)

    def __call__(self, edge_result: Mapping[str, Any]) -> bool:
        conf = (edge_result.get("extras") or {}).get("confidence")
        if conf is None:
            return True
        return bool(defer_to_cloud(np.float32(conf), self.threshold))
