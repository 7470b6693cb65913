"""Ianvs cloud model of the uncertainty-token collaboration: answers uploads, fine-tunes and compresses updates."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jointbench.netsim import Link, hardware_profile, link_config_from_hyperparameters
from jointbench.registry import ClassFactory, ClassType
from jointbench.uncertainty.cloud import ANSWER_RULES, REPLAY, make_cloud
from jointbench.uncertainty.codec import CODECS, make_codec
from jointbench.uncertainty.endpoint import edge_endpoint
from jointbench.params import check_choice, check_float, check_int, check_str
from jointbench.uncertainty.update import LOSSES, SUBSETS, FinetuneConfig

__all__ = ["UTSCloudUpdater"]


@ClassFactory.register(ClassType.GENERAL, alias="UTSCloudUpdater")
class UTSCloudUpdater:
    """Cloud side: replayed Qwen2-7B answers, pseudo-labels, AKD fine-tuning, DWC downlink.

    Parameters
    ----------
    answer_rule : {"replace", "fusion"}
        Served answer / pseudo-label: the cloud's, or token-level fusion with the edge's.
    fusion_weight : float
        Cloud weight in the fusion, [0, 1].
    update_every : int
        Pseudo-labels per update round.
    subset : {"lora", "norms"}
        The edge's trainable tensors.
    lora_rank : int
    loss : {"ce", "ce+mse", "ce+mse+wavelet"}
    epochs : int
    lr : float
    codec : {"topk-quant", "dense-fp16"}
    rho : float
        Fraction of each update tensor sent, (0, 1].
    bits : int
        Bits per sent value, 2..16.
    cloud_hardware : str
        Profile pricing the cloud's prefill/decode.
    query_interval_ms : float
        Virtual time between queries.
    network_profile : str
        Preset of ``configs/network_profiles.yaml``.
    network_seed : int
    session : str
        Name shared with the edge module.
    cloud_model : str
        ``"qwen2-7b-replay"`` (the cached Qwen2-7B answers, default) or a model the cloud runs live:
        ``"gemma3-270m"`` (needs its PyPI package), ``"smollm2-135m"``, ``"tiny-random"``, a local folder.
    """

    def __init__(self, answer_rule: str = "replace", fusion_weight: float = 0.7, update_every: int = 8,
                 subset: str = "lora", lora_rank: int = 4, loss: str = "ce+mse+wavelet", epochs: int = 2,
                 lr: float = 2e-3, codec: str = "topk-quant", rho: float = 0.1, bits: int = 4,
                 cloud_hardware: str = "cloud-gpu-7b", query_interval_ms: float = 1000.0,
                 network_profile: str = "4g", network_seed: int = 0, session: str = "uts",
                 cloud_model: str = REPLAY) -> None:
        codec = check_choice("codec", codec, CODECS)
        self.fields = {
            "answer_rule": check_choice("answer_rule", answer_rule, ANSWER_RULES),
            "fusion_weight": check_float("fusion_weight", fusion_weight, 0, 1),
            "update_every": check_int("update_every", update_every, lo=1),
            "subset": check_choice("subset", subset, SUBSETS),
            "lora_rank": check_int("lora_rank", lora_rank, lo=1),
            "codec": codec,
            "rho": check_float("rho", rho, 0, 1, lo_open=True),
            "bits": check_int("bits", bits, 2, 16),
            "cloud_hardware": check_str("cloud_hardware", cloud_hardware),
            "query_interval_ms": check_float("query_interval_ms", query_interval_ms, lo=0),
        }
        self.finetune = FinetuneConfig(
            loss=check_choice("loss", loss, LOSSES),
            epochs=check_int("epochs", epochs, lo=1),
            lr=check_float("lr", lr, 0, 1, lo_open=True, hi_open=True))
        make_codec(codec, self.fields["rho"], self.fields["bits"])
        hardware_profile(cloud_hardware)
        self.network = {"network_profile": check_str("network_profile", network_profile),
                        "network_seed": check_int("network_seed", network_seed, lo=0)}
        link_config_from_hyperparameters(self.network)  # unknown profile: fails now, listing the presets
        self.session_name = check_str("session", session)
        self.cloud_model = check_str("cloud_model", cloud_model)

    def inference(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Serve one uploaded sample (the edge answered it just before); may run an update round."""
        endpoint = edge_endpoint(self.session_name)
        session = endpoint.session
        if not endpoint.cloud_configured:
            cfg = replace(session.cfg, **self.fields,
                          finetune=replace(self.finetune, seed=session.cfg.seed))
            session.reconfigure(cfg, Link(link_config_from_hyperparameters(self.network)))
            if self.cloud_model != REPLAY:  # the model loads once, at the first uploaded sample
                session.cloud = make_cloud(self.cloud_model, session.cloud.data)
            endpoint.cloud_configured = True
        if endpoint.last is None or endpoint.last[0].index != int(data.get("index", -1)):
            raise RuntimeError("UTSCloudUpdater: the edge has not answered this sample; the testenv must use "
                               "hard_example_mining_mode: inference-then-mining")
        q, ans, edge_record = endpoint.last
        endpoint.last = None
        record = session.cloud_step(q, ans, edge_record)
        record["extras"]["uploaded"] = True
        return record
