"""Ianvs edge model of the CAb cascade: replays Qwen2-1.5B and builds its prediction set."""

from __future__ import annotations

from typing import Any

from jointbench.cab.ianvs_records import edge_record, record_dict
from jointbench.cab.ianvs_session import get_session
from jointbench.datasets.teleqna import data_file
from jointbench.ianvs_compat import prepare_edge_environment
from jointbench.netsim import EdgeCost, attach_costs, hardware_profile
from jointbench.params import check_bool, check_choice, check_float, check_int
from jointbench.registry import ClassFactory, ClassType

__all__ = ["CAbCachedEdgeModel"]

#: Edge cost fields per (hardware profile, answer tokens, prompt), shared by the test cases.
_COSTS: dict[tuple[Any, int, str], dict[str, Any]] = {}


@ClassFactory.register(ClassType.GENERAL, alias="CAbCachedEdgeModel")
class CAbCachedEdgeModel:
    """Edge side: top-1 answer plus an HMS / split-CP / localized-CP set.

    The set's threshold is calibrated on the calibration split of the sample's trial.
    The replayed table is the one the ``CAbTrialProcessor`` chose; sedna's ``model_path``
    only needs an existing file, so it points at the shipped 4-option table.

    Parameters
    ----------
    edge_set : {"hms", "cp", "lcp"}
    sigma : float, "auto" or "paper"
        RLCP bandwidth for ``edge_set="lcp"`` (embedding units; "auto" = 0.4 x median distance).
    run_edge : bool
        False makes a cloud-only system (no edge answer, the HEM defers).
    edge_hardware : str
        Hardware profile pricing prefill and decode (``configs/hardware_profiles.yaml``).
    answer_tokens : int
        Tokens generated per answer.
    """

    def __init__(self, edge_set: str = "cp", sigma: float | str = "auto", run_edge: bool = True,
                 edge_hardware: str = "edge-orin-qwen2-1.5b", answer_tokens: int = 4) -> None:
        self.edge_set = check_choice("edge_set", edge_set, ("hms", "cp", "lcp"))
        if not isinstance(sigma, str):
            sigma = check_float("sigma", sigma, 0.0, lo_open=True)
        self.sigma = check_choice("sigma", sigma, ("auto", "paper")) if isinstance(sigma, str) else sigma
        self.run_edge = check_bool("run_edge", run_edge)
        self.cost = EdgeCost(hardware_profile(edge_hardware), check_int("answer_tokens", answer_tokens, 1))
        prepare_edge_environment(data_file(4))

    def load(self, model_url: str | None = None, **kwargs: Any) -> None:
        """Called by sedna with ``model_path``; the table is loaded by the session."""

    def predict(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Answer one (trial, question) sample; returns a ``SampleRecord`` dict."""
        record = edge_record(get_session(data), data, self.edge_set, self.sigma, self.run_edge)
        if self.run_edge:
            prompt = str(data["prompt"])
            key = (self.cost.profile, self.cost.answer_tokens, prompt)
            fields = _COSTS.get(key)
            if fields is None:  # the cost depends on these only; every trial reuses the pool's prompts
                fields = _COSTS[key] = self.cost.record_fields(prompt)
            attach_costs(record, fields)
        else:
            record.latency_ms = record.edge_compute_ms = 0.0
        return record_dict(record)
