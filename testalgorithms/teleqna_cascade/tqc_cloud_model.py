"""Ianvs cloud model of the TeleQnA cascade: replays Qwen2-7B's cached answers over a simulated link."""

from __future__ import annotations

from typing import Any

from jointbench.cascade.replay import CachedAnswerModel
from jointbench.netsim import attach_costs, cloud_cost_from_hyperparameters, network_kwargs
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
        self.model = CachedAnswerModel("cloud", n_options, data_file_path)
        self.cost = cloud_cost_from_hyperparameters(network, cloud_hardware, answer_tokens, query_interval_ms)

    def inference(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Answer one deferred question; returns a record dict with its network accounting."""
        record = self.model.answer(data)
        attach_costs(record, self.cost.record_fields(str(data["prompt"]), int(data.get("index", 0))))
        return record.to_dict()
