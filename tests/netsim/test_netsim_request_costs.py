"""Request costs of a cascade, the one cost-attaching helper and the one network-key guard."""

from __future__ import annotations

import pytest

from jointbench.netsim import EdgeCost, attach_costs, cloud_cost_from_hyperparameters, hardware_profile
from jointbench.netsim import network_kwargs
from jointbench.records import SampleRecord


def test_guard_passes_network_keys_and_names_the_owner_and_the_bad_key() -> None:
    ok = {"network_profile": "4g", "network_seed": 3}
    assert network_kwargs("M", ok) == ok
    with pytest.raises(TypeError, match=r"M: unknown hyperparameter\(s\) \['netwrk_rtt_ms'\]"):
        network_kwargs("M", {"netwrk_rtt_ms": 5})
    with pytest.raises(ValueError, match="unknown network key 'network_rtt'; valid keys: network_profile"):
        network_kwargs("M", {"network_rtt": 5})


@pytest.mark.parametrize("shim", ["cab_teleqna.cab_cloud_model:CAbCachedCloudModel",
                                  "teleqna_cascade.tqc_cloud_model:TeleQnACachedCloudModel"])
def test_cloud_shims_use_the_guard(shim: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys
    from pathlib import Path

    folder, cls = shim.split(":")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "testalgorithms" / folder.split(".")[0]))
    name = folder.split(".")[1]
    module = sys.modules.get(name) or importlib.import_module(name)
    with pytest.raises(TypeError, match=f"{getattr(module, cls).__name__}: unknown hyperparameter"):
        getattr(module, cls)(netwrk_profile="4g")


def test_attach_costs_sets_every_field_and_edge_cost_has_no_network() -> None:
    record = SampleRecord(sample_id="q", prediction="A")
    fields = EdgeCost(hardware_profile("edge-orin-qwen2-1.5b")).record_fields("What is 5G?")
    assert attach_costs(record, fields) is record
    assert record.latency_ms == fields["latency_ms"] > 0 and record.network_ms == 0.0
    cloud = cloud_cost_from_hyperparameters({"network_profile": "4g"}, "cloud-gpu-7b", 4, 1000.0)
    f2 = cloud.record_fields("What is 5G?", 0)
    attach_costs(record, f2)
    assert record.bytes_up == f2["bytes_up"] > 0 and record.latency_ms == f2["latency_ms"]


def test_cloud_cost_prices_a_repeated_prompt_as_a_fresh_one() -> None:
    """The per-prompt memo of CloudCost gives the fields a fresh computation gives; the key covers
    the prompt, the answer tokens and the hardware profile (control: changing each changes the price)."""
    hp = {"network_profile": "4g", "network_seed": 0}
    prompts = ["What is 5G?", "What is LTE? " * 5, "What is 5G?", "What is 5G?"]
    memo = cloud_cost_from_hyperparameters(hp, "cloud-gpu-7b", 4, 1000.0)
    got = [memo.record_fields(p, i) for i, p in enumerate(prompts)]
    for i, p in enumerate(prompts):
        fresh = cloud_cost_from_hyperparameters(hp, "cloud-gpu-7b", 4, 1000.0)
        for j in range(i):  # advance a fresh link to the same message
            fresh.record_fields(prompts[j], j)
        assert fresh.record_fields(p, i) == got[i]
    assert got[0]["cloud_compute_ms"] != got[1]["cloud_compute_ms"]  # another prompt, another price
    before = memo.record_fields("What is 5G?", 9)["cloud_compute_ms"]
    memo.answer_tokens = 40
    assert memo.record_fields("What is 5G?", 10)["cloud_compute_ms"] > before
    memo.profile = hardware_profile("edge-orin-qwen2-1.5b")
    assert memo.record_fields("What is 5G?", 11)["cloud_compute_ms"] != before
