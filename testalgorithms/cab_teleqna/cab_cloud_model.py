"""Ianvs cloud model of the CAb cascade: replays Qwen2-7B and returns its highest-mass set."""

from __future__ import annotations

from typing import Any

from jointbench.cab.ianvs_records import cloud_record, record_dict
from jointbench.cab.ianvs_session import get_session
from jointbench.netsim import attach_costs, cloud_cost_from_hyperparameters, network_kwargs
from jointbench.params import check_float, check_int
from jointbench.registry import ClassFactory, ClassType

__all__ = ["CAbCachedCloudModel"]


@ClassFactory.register(ClassType.GENERAL, alias="CAbCachedCloudModel")
class CAbCachedCloudModel:
    """Cloud side; called only for deferred samples.

    Parameters
    ----------
    cloud_hardware : str
        Hardware profile pricing the cloud's prefill and decode.
    answer_tokens : int
        Tokens the cloud generates and sends back.
    query_interval_ms : float
        Virtual time between sample arrivals (sample k of the run arrives at k x interval).
    **network
        ``network_profile`` and any ``network_*`` key of ``configs/network_profiles.yaml``.
    """

    def __init__(self, cloud_hardware: str = "cloud-gpu-7b", answer_tokens: int = 4,
                 query_interval_ms: float = 1000.0, **network: Any) -> None:
        network = network_kwargs("CAbCachedCloudModel", network)
        self.cost = cloud_cost_from_hyperparameters(network, cloud_hardware,
                                                    check_int("answer_tokens", answer_tokens, 1),
                                                    check_float("query_interval_ms", query_interval_ms, 0.0))

    def inference(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Answer one deferred sample with the cloud top-1 and set, plus its round trip."""
        record = cloud_record(get_session(data), data)
        arrival = int(data["trial"]) * int(data["batch_size"]) + int(data["position"])
        attach_costs(record, self.cost.record_fields(str(data["prompt"]), arrival))
        return record_dict(record)
