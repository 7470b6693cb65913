"""A recorded query with fallback steps replays on the virtual clock to the same timeline (RecordedSource)."""

from __future__ import annotations

import pytest

from jointbench.netsim import Link
from jointbench.specdec.loop import run_query
from jointbench.specdec.session import SpecDecSession
from jointbench.specdec.sources import RecordedSource
from jointbench.specdec.strategy import Strategy

from scripted_policy import ScriptedFallback


@pytest.mark.parametrize("kind", ["cloud_only", "edge_only"])
def test_fallback_steps_replay_to_the_same_timeline(kind) -> None:
    s = SpecDecSession("edge_cloud", pair="tiny-random", policy="fixed", k=3, max_new_tokens=14, chat=False,
                       network={"network_rtt_ms": 30, "network_uplink_bandwidth_mbps": 5})
    s.strategy = Strategy(s.strategy.placement, ScriptedFallback([3, 0, 0, 2], kind), s.strategy.codec)
    rec = s.predict({"prompt": "alpha beta gamma", "index": 0})
    out = s.last_outcome
    assert any(c.fallback == kind for c in out.cycles)
    replay = ScriptedFallback([c.k for c in out.cycles], kind, max(len(c.tokens) for c in out.cycles))
    again = run_query(Strategy(s.strategy.placement, replay, s.strategy.codec),
                      RecordedSource(rec["extras"]["prompt_tokens"], out.cycles), s.compute, Link(s.link.config), 14)
    assert again.tokens == out.tokens
    assert again.timeline.latency_ms == pytest.approx(out.timeline.latency_ms)
    assert again.timeline.ttft_ms == pytest.approx(out.timeline.ttft_ms)
    # control: the recorded steps are of one kind; asking the other is refused, not silently replayed
    other = "edge_only" if kind == "cloud_only" else "cloud_only"
    with pytest.raises(RuntimeError, match=f"asks a {other} fallback step"):
        run_query(Strategy(s.strategy.placement, ScriptedFallback(replay.script, other), s.strategy.codec),
                  RecordedSource(rec["extras"]["prompt_tokens"], out.cycles), s.compute, Link(s.link.config), 14)
