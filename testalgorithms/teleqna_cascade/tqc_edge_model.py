"""Ianvs edge model of the TeleQnA cascade: replays Qwen2-1.5B's cached answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jointbench.cascade.replay import CachedAnswerModel
from jointbench.datasets.teleqna import data_file
from jointbench.datasets.teleqna.checks import check_questions
from jointbench.ianvs_compat import prepare_edge_environment
from jointbench.netsim import EdgeCost, attach_costs, hardware_profile
from jointbench.params import check_bool, check_choice, check_file, check_int
from jointbench.registry import ClassFactory, ClassType

__all__ = ["TeleQnACachedEdgeModel"]


@ClassFactory.register(ClassType.GENERAL, alias="TeleQnACachedEdgeModel")
class TeleQnACachedEdgeModel:
    """Edge side of the cascade.

    Parameters
    ----------
    n_options : int
        4 or 5 (which TeleQnA subset the test set was built from).
    run_edge : bool
        False makes a cloud-only system: the edge computes nothing and the HEM defers.
    edge_hardware : str
        Hardware profile pricing the edge's prefill and decode (``configs/hardware_profiles.yaml``).
    answer_tokens : int
        Tokens generated per answer.
    data_file_path : str, optional
        A regenerated ``.npz`` instead of the shipped tensors.
    """

    def __init__(self, n_options: int = 4, run_edge: bool = True, edge_hardware: str = "edge-orin-qwen2-1.5b",
                 answer_tokens: int = 4, data_file_path: str | None = None) -> None:
        self.n_options = int(check_choice("n_options", n_options, (4, 5)))
        data_file_path = check_file("data_file_path", data_file_path)
        self.model = CachedAnswerModel("edge", self.n_options, data_file_path)
        self.run_edge = check_bool("run_edge", run_edge)
        self.cost = EdgeCost(hardware_profile(edge_hardware), check_int("answer_tokens", answer_tokens, 1))
        prepare_edge_environment(data_file_path or data_file(self.n_options))

    def check_dataset(self, x: Sequence[Any], y: Sequence[Any]) -> None:
        """Refuse a test set built from the other TeleQnA subset (runner hook, INTERFACES A.2)."""
        check_questions(x, self.n_options)

    def load(self, model_url: str | None = None, **kwargs: Any) -> None:
        """Called by sedna with ``model_path``; the table is already loaded."""

    def predict(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Answer one question; returns a :class:`jointbench.records.SampleRecord` dict."""
        record = self.model.answer(data)
        if not self.run_edge:
            record.prediction = None
            record.extras = {"confidence": None, "skipped": True}
            record.latency_ms = record.edge_compute_ms = 0.0
            return record.to_dict()
        attach_costs(record, self.cost.record_fields(str(data["prompt"])))
        return record.to_dict()
