"""Ianvs cloud model of the TeleQnA cascade: replays Qwen2-7B's cached answers over a simulated link."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jointbench.cascade.replay import CachedAnswerModel
from jointbench.datasets.teleqna.checks import check_questions
from jointbench.netsim import attach_costs, cloud_cost_from_hyperparameters, network_kwargs
from jointbench.params import check_choice, check_file, check_float, check_int
from jointbench.registry import ClassFactory, ClassType

__all__ = ["TeleQnACachedCloudModel"]


@ClassFactory.register(ClassType.GENERAL, alias="TeleQnACachedCloudModel")
class TeleQnACachedCloudModel:
    """Cloud side of the cascade; called only for deferred questions.

    Parameters
    ----------
    n_options : int
        4 or 5.
    cloud_hardware : str
        Hardware profile pricing the cloud's prefill and decode.
    answer_tokens : int
        Tokens the cloud generates and sends back.
    query_interval_ms : float
        Virtual time between query arrivals (matters for time-varying network traces).
    data_file_path : str, optional
        A regenerated ``.npz`` instead of the shipped tensors.
    **network
        ``network_profile`` and any ``network_*`` key of ``configs/network_profiles.yaml``.
    """

    def __init__(self, n_options: int = 4, cloud_hardware: str = "cloud-gpu-7b", answer_tokens: int = 4,
                 query_interval_ms: float = 1000.0, data_file_path: str | None = None, **network: Any) -> None:
        network = network_kwargs("TeleQnACachedCloudModel", network)
        self.n_options = int(check_choice("n_options", n_options, (4, 5)))
        self.model = CachedAnswerModel("cloud", self.n_options, check_file("data_file_path", data_file_path))
        self.cost = cloud_cost_from_hyperparameters(network, cloud_hardware,
                                                    check_int("answer_tokens", answer_tokens, 1),
                                                    check_float("query_interval_ms", query_interval_ms, 0.0))

    def check_dataset(self, x: Sequence[Any], y: Sequence[Any]) -> None:
        """Refuse a test set built from the other TeleQnA subset (runner hook, INTERFACES A.2)."""
        check_questions(x, self.n_options)

    def inference(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Answer one deferred question; returns a record dict with its network accounting."""
        record = self.model.answer(data)
        attach_costs(record, self.cost.record_fields(str(data["prompt"]), int(data.get("index", 0))))
        return record.to_dict()
