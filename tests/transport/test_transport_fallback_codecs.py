"""Over tcp as in process: a policy's edge-only fallback steps, and the bit-coded SQS codecs at T > 0."""

from __future__ import annotations

from typing import Any

import pytest

from jointbench.specdec.session import SpecDecSession
from jointbench.specdec.strategy import Strategy

from prochelpers import process_gone
from scripted_policy import ScriptedFallback

PROMPTS = ["alpha beta gamma delta", "one two three four five"]
NET = {"network_rtt_ms": 20, "network_uplink_bandwidth_mbps": 10, "network_seed": 1}


def _run(transport: str, policy: Any = None, strategy: str = "edge_cloud", **kw: Any) -> list[dict]:
    s = SpecDecSession(strategy, pair="tiny-random", policy="fixed", k=3, max_new_tokens=14, chat=False,
                       keep_exchanges=True, network=dict(NET), transport=transport, **kw)
    if policy is not None:
        s.strategy = Strategy(s.strategy.placement, policy, s.strategy.codec)
    try:
        return [s.predict({"prompt": p, "index": i}) for i, p in enumerate(PROMPTS)]
    finally:
        pid = s.remote.service.pid if s.remote is not None and s.remote.service is not None else None
        s.close()
        assert pid is None or process_gone(pid)


def _same_cycles(real: list[dict], virtual: list[dict]) -> None:
    for r, v in zip(real, virtual):
        assert r["extras"]["tokens"] == v["extras"]["tokens"]
        for key in ("k_per_cycle", "accepted_per_cycle", "committed_per_cycle", "fallback_per_cycle", "lossy"):
            assert r["extras"][key] == v["extras"][key], key
        assert [e["kind"] for e in r["exchanges"]] == [e["kind"] for e in v["exchanges"]]
        assert [e["payload_bytes"] for e in r["exchanges"]] == [e["payload_bytes"] for e in v["exchanges"]]
        assert r["bytes_up"] == v["bytes_up"] and r["bytes_down"] == v["bytes_down"]


def test_edge_only_fallback_steps_run_over_tcp_as_in_process(monkeypatch) -> None:
    virtual = _run("inprocess", ScriptedFallback())
    real = _run("tcp", ScriptedFallback())
    _same_cycles(real, virtual)
    for r in real:
        assert r["extras"]["lossy"] and any(r["extras"]["fallback_per_cycle"])
        assert not r["extras"]["agrees_with_cloud"]  # the draft's own tokens were committed
        # the VERIFY after a fallback step carried its two tokens (4 bytes each) ahead of the draft block
        drafts = [e["payload_bytes"] for e in r["exchanges"] if e["kind"] == "draft"]
        assert drafts[:2] == [8 + 4 * 3, 4 * 4 + 8 + 4 * 2]  # K=3; then 2 + 2 pending ids, the header, K=2
    # control: a cloud that never hears of the fallback tokens verifies the wrong context
    import jointbench.specdec.transport.edge as edge

    monkeypatch.setattr(edge, "encode_pending", lambda pending, block: (bytes(block), 0))
    wrong = _run("tcp", ScriptedFallback())
    assert [r["extras"]["tokens"] for r in wrong] != [v["extras"]["tokens"] for v in virtual]


def test_cloud_only_fallback_steps_stream_over_tcp_as_in_process(monkeypatch) -> None:
    policy = lambda: ScriptedFallback((2, 0, 0, 0, 3, 0), "cloud_only")  # noqa: E731
    virtual = _run("inprocess", policy())
    real = _run("tcp", policy())
    reference = _run("tcp", strategy="cloud_only")
    for r, v, ref in zip(real, virtual, reference):
        assert r["extras"]["tokens"] == v["extras"]["tokens"] == ref["extras"]["tokens"]  # lossless
        for key in ("k_per_cycle", "accepted_per_cycle", "committed_per_cycle", "fallback_per_cycle"):
            assert r["extras"][key] == v["extras"][key], key
        assert any(r["extras"]["fallback_per_cycle"]) and not r["extras"]["lossy"]
        kinds = [e["kind"] for e in r["exchanges"]]
        assert kinds.count("fallback") == [e["kind"] for e in v["exchanges"]].count("fallback") >= 1
        assert r["bytes_up"] == v["bytes_up"]
        # the cloud streamed on until the next VERIFY reached it: those tokens crossed the link, unused
        streamed = sum(n for n, f in zip(r["extras"]["committed_per_cycle"], r["extras"]["fallback_per_cycle"]) if f)
        stale = kinds.count("token") - streamed
        [per_token] = {e["bytes"] for e in v["exchanges"] if e["kind"] == "token"}  # wire bytes, framing included
        assert stale >= 0 and r["bytes_down"] - v["bytes_down"] == stale * per_token
    # control: a cloud not told how many streamed tokens the edge kept verifies the wrong context
    import jointbench.specdec.transport.edge as edge

    original = edge.RemoteSpeculativeSource._end_stream  # cuts the stream, but says it kept nothing
    monkeypatch.setattr(edge.RemoteSpeculativeSource, "_end_stream", lambda self: (original(self), 0)[1])
    wrong = _run("tcp", policy())
    assert [r["extras"]["tokens"] for r in wrong] != [v["extras"]["tokens"] for v in virtual]


@pytest.mark.parametrize(("codec", "params"), [("k_sqs", {"k": 3}), ("c_sqs", {"alpha": 0.1, "k_max": 16})])
def test_bit_coded_sqs_codecs_run_over_tcp_as_in_process(codec, params) -> None:
    kw = dict(temperature=1.0, codec=codec, codec_params=params)
    virtual = _run("inprocess", **kw)
    real = _run("tcp", **kw)
    _same_cycles(real, virtual)
    for r, v in zip(real, virtual):
        rs, vs = r["extras"]["codec_stats"], v["extras"]["codec_stats"]
        assert len(rs) == len(vs) == r["cycles"]
        assert any(c["bits"] for c in rs) and (codec == "k_sqs" or any(c["beta"] for c in rs))  # really coded
        for a, b in zip(rs, vs):  # what the edge coded; TV(p, q_hat) needs the cloud's p (in process only)
            assert {k: a[k] for k in ("bits", "support_size", "message_bits")} == \
                   {k: b[k] for k in ("bits", "support_size", "message_bits")}
            for key in ("dropped_mass", "beta"):  # float32 draft rows: equal to rounding
                assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-7)
            assert a["tv"] == [] and len(b["tv"]) == len(b["bits"])
    # control: a service decoding with other parameters than the edge's does not verify the same drafts
    s = SpecDecSession("edge_cloud", pair="tiny-random", policy="fixed", k=3, max_new_tokens=14, chat=False,
                       network=dict(NET), transport="tcp", **kw)
    s.remote.codec_params = {"k": 8} if codec == "k_sqs" else {"alpha": 0.1, "k_max": 2}
    try:
        got = [s.predict({"prompt": p, "index": i})["extras"]["tokens"] for i, p in enumerate(PROMPTS)]
    except RuntimeError as err:  # or it cannot even decode the block
        assert "transport tcp: the cloud service failed a request" in str(err)
        got = None
    finally:
        s.close()
    assert got != [r["extras"]["tokens"] for r in real]


@pytest.mark.parametrize("fallback", [{"cutoff_margin": 1.0}, {"fallback": "cloud_only", "cutoff_margin": 50.0}])
def test_nasd_with_its_cutoff_runs_over_tcp(tmp_path, fallback) -> None:
    """The registered NASD, cutoff on (edge-only fallback, the seed's; or cloud-only), across two processes."""
    from jointbench.specdec.nasd_model import AcceptanceProfile
    from jointbench.specdec.nasd_sim import synthetic_costs
    from jointbench.specdec.nasd_table import build_table

    table = build_table(AcceptanceProfile.geometric(0.7, 8), synthetic_costs(k_max=8), pair="tiny-random",
                        edge_hardware="this-cpu", cloud_hardware="this-cpu", rtt_grid_ms=(0.0, 600.0, 1.0))
    params = {"table": str(table.save(tmp_path / "t.json")), "costs": "table", "fallback_tokens": 4, **fallback}
    s = SpecDecSession("edge_cloud", pair="tiny-random", policy="nasd", k=3, max_new_tokens=12, chat=False,
                       policy_params=params, network={"network_rtt_ms": 80}, transport="tcp")
    try:
        recs = [s.predict({"prompt": f"question {i}", "index": i}) for i in range(3)]
    finally:
        s.close()
    fell_back = 0
    for rec in recs:
        log, ex = rec["extras"]["cycle_log"], rec["extras"]
        assert sum(c["committed"] for c in log) == rec["tokens_out"] == len(ex["tokens"])
        assert [c["committed"] for c in log] == ex["committed_per_cycle"]
        fell_back += sum(n for n, f in zip(ex["committed_per_cycle"], ex["fallback_per_cycle"]) if f)
        assert ex["lossy"] == (any(ex["fallback_per_cycle"]) and "fallback" not in fallback)
        assert ex["agrees_with_cloud"] or ex["lossy"]
    assert fell_back > 0  # the cutoff fired on the real link (80 ms) as it does on the virtual one
