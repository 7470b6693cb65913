"""The ``transport: inprocess | tcp`` switch: the same strategy on the virtual clock and across two processes."""

from __future__ import annotations

import pytest

from jointbench.specdec.session import SpecDecSession

from prochelpers import process_gone

PROMPTS = ["alpha beta gamma delta", "one two three four five"]
NET = {"network_rtt_ms": 20, "network_uplink_bandwidth_mbps": 10, "network_seed": 1}


def _run(strategy: str, transport: str, **kw) -> tuple[SpecDecSession, list[dict]]:
    s = SpecDecSession(strategy, pair="tiny-random", policy=kw.pop("policy", "fixed"), k=3, max_new_tokens=12,
                       chat=False, keep_exchanges=True, network=dict(NET), transport=transport, **kw)
    try:
        return s, [s.predict({"prompt": p, "index": i}) for i, p in enumerate(PROMPTS)]
    finally:
        pid = s.remote.service.pid if s.remote is not None and s.remote.service is not None else None
        s.close()
        assert pid is None or process_gone(pid)


@pytest.mark.parametrize(("strategy", "policy"), [("edge_cloud", "fixed"), ("edge_cloud", "heuristic"),
                                                  ("cloud_only", "fixed"), ("edge_only", "fixed")])
def test_tcp_serves_the_same_tokens_and_cycles_as_in_process(strategy, policy) -> None:
    _, virtual = _run(strategy, "inprocess", policy=policy)
    session, real = _run(strategy, "tcp", policy=policy)
    assert session.provenance()["transport"] == "tcp"
    for v, r in zip(virtual, real):
        assert r["extras"]["tokens"] == v["extras"]["tokens"]
        assert r["extras"]["agrees_with_cloud"] == v["extras"]["agrees_with_cloud"] == (strategy != "edge_only")
        assert r["route"] == v["route"] and r["tokens_out"] == v["tokens_out"]
        if policy == "fixed":  # the heuristic reads the clock, which differs (its tokens may not)
            assert r["extras"]["accepted_per_cycle"] == v["extras"]["accepted_per_cycle"]
        assert [e["kind"] for e in r["exchanges"]] == [e["kind"] for e in v["exchanges"]]
        assert r["bytes_up"] == v["bytes_up"] and r["bytes_down"] == v["bytes_down"]
        if strategy != "edge_only":  # real time: each round trip took at least the link's RTT (20 ms)
            assert r["latency_ms"] >= 20.0 * max(1, r["cycles"] or 0) - 1e-6
            assert r["network_ms"] > 0 and r["cloud_compute_ms"] > 0
    # control: a virtual clock is not the wall clock (the real run's timings differ from it)
    assert [r["latency_ms"] for r in real] != [v["latency_ms"] for v in virtual]


def test_transport_is_checked_with_the_rest_of_the_case() -> None:
    with pytest.raises(ValueError, match="unknown transport 'udp'. Available: inprocess, tcp"):
        SpecDecSession("edge_cloud", pair="tiny-random", transport="udp")
    with pytest.raises(ValueError, match="strategy 'colocated' has no edge<->cloud exchange"):
        SpecDecSession("colocated", pair="tiny-random", transport="tcp")
    with pytest.raises(ValueError, match="edge_hardware: transport 'tcp' measures real compute"):
        SpecDecSession("edge_cloud", pair="tiny-random", transport="tcp", edge_hardware="jetson-orin-nano")
    assert SpecDecSession("edge_cloud", pair="tiny-random", transport="tcp").remote is not None  # control


def test_the_shim_declares_and_types_the_switch() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "testalgorithms" / "specdec" / "sd_edge_model.py"
    spec = importlib.util.spec_from_file_location("sd_edge_model", path)  # the runner's name: re-registering it is allowed
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(TypeError, match="transport: expected str"):
        module.SDSessionEdgeModel(pair="tiny-random", transport=1)
    with pytest.raises(ValueError, match="Available: inprocess, tcp"):
        module.SDSessionEdgeModel(pair="tiny-random", transport="TCP")
    edge = module.SDSessionEdgeModel(pair="tiny-random", strategy="edge_cloud", transport="tcp")
    assert edge.session.transport == "tcp"
    edge.cleanup()  # nothing started yet: a no-op
