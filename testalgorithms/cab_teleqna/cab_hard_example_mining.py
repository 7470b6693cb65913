"""Ianvs HEMs of the CAb cascade: batch-level conformal selection, and confidence deferral."""

from __future__ import annotations

from typing import Any, Mapping

from jointbench.cab.ianvs_session import Arm, get_session
from jointbench.cab.selection import PREDICTORS
from jointbench.params import check_choice, check_float
from jointbench.registry import ClassFactory, ClassType

__all__ = ["CAbSelection", "CAbConfidenceDeferral"]


def _arm(edge_result: Mapping[str, Any], method: str, **kw: Any) -> tuple[Arm, Mapping[str, Any]]:
    extras = edge_result.get("extras") or {}
    return Arm(method, extras["edge_set_kind"], extras.get("sigma", "auto"), **kw), extras


@ClassFactory.register(ClassType.HEM, alias="CAbSelection")
class CAbSelection:
    """CAb: serve at the edge the inputs BH selects over the sample's trial batch.

    Used in ``inference-then-mining`` mode: it receives the edge record, finds the trial
    batch the sample belongs to, and returns that batch's decision for the sample
    (conformal p-values against the trial's val split, BH at level ``delta``, computed
    once and cached). The edge set family is the edge model's.

    Parameters
    ----------
    delta : float
        Target: E[satisfaction rate of edge-served inputs] >= 1 - delta.
    predictor : {"logistic", "hgb", "rf", "xgbrf"}
        Satisfaction predictor.
    features : {"maxprob", "sorted"}
        Its input.
    """

    def __init__(self, delta: float = 0.25, predictor: str = "logistic", features: str = "maxprob") -> None:
        self.kw = {"delta": check_float("delta", delta, 0.0, 1.0, lo_open=True, hi_open=True),
                   "predictor": check_choice("predictor", predictor, PREDICTORS),
                   "features": check_choice("features", features, ("maxprob", "sorted"))}

    def __call__(self, edge_result: Mapping[str, Any]) -> bool:
        arm, extras = _arm(edge_result, "cab", **self.kw)
        return get_session(extras).is_hard(arm, int(extras["trial"]), int(extras["position"]))


@ClassFactory.register(ClassType.HEM, alias="CAbConfidenceDeferral")
class CAbConfidenceDeferral:
    """Confidence-based deferral: the edge serves when max-prob >= 1 - delta.

    Parameters
    ----------
    delta : float
        The authors' threshold gamma = 1 - delta.
    rule : {"one_minus_delta", "val_tuned"}
        "val_tuned" instead takes the smallest threshold whose satisfaction rate on the
        trial's val split is >= 1 - delta (a stronger baseline, no guarantee).
    """

    def __init__(self, delta: float = 0.25, rule: str = "one_minus_delta") -> None:
        self.kw = {"delta": check_float("delta", delta, 0.0, 1.0, hi_open=True),
                   "cbd_rule": check_choice("rule", rule, ("one_minus_delta", "val_tuned"))}

    def __call__(self, edge_result: Mapping[str, Any]) -> bool:
        arm, extras = _arm(edge_result, "cbd", **self.kw)
        return get_session(extras).is_hard(arm, int(extras["trial"]), int(extras["position"]))
