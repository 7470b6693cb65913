"""Replay-composed strategies against live engine runs, and determinism, on the tiny random pair."""

from __future__ import annotations

import pytest

from jointbench.netsim import HardwareProfile, Link
from jointbench.specdec.calibrate import Calibration
from jointbench.specdec.compute import ComputeModel
from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec import FixedK, HeuristicK
from jointbench.specdec.loop import run_query
from jointbench.specdec.sources import TraceSource
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.tiny import tiny_random_pair
from jointbench.specdec.tracestore import QueryTrace, record_query

PROMPT = [3, 17, 42, 99, 7, 128, 55]


@pytest.fixture(scope="module")
def pair():
    return tiny_random_pair(draft_noise=0.02)


@pytest.fixture(scope="module")
def trace(pair) -> QueryTrace:
    return record_query(pair, PROMPT, 24, horizon=16)


@pytest.mark.parametrize("policy", [FixedK(1), FixedK(3), FixedK(5), HeuristicK(start=4)])
def test_replayed_cycles_equal_live_engine(pair, trace, policy):
    live = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token").speculative(
        PROMPT, 24, policy)
    comp = ComputeModel(Calibration({8: 1.0}, {8: 1.0}, 1.0, {0: 1.0}, 0, 1, 1),
                        HardwareProfile("e"), HardwareProfile("c"))
    strategy = Strategy.build("edge_cloud", policy)
    out = run_query(strategy, TraceSource(trace.greedy, strategy.codec, 24), comp, Link(), 24)
    assert [(c.k, c.drafted, c.accepted, tuple(c.tokens)) for c in live.cycles] == [
        (c.k, c.drafted, c.accepted, c.tokens) for c in out.cycles]
    assert out.tokens == live.tokens == trace.target_tokens


def test_edge_only_tokens_are_the_drafts_own(pair, trace):
    live = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids).edge_only(PROMPT, 24)
    assert trace.edge_tokens == live.tokens


def test_trace_round_trips_through_json(trace):
    again = QueryTrace.from_dict(trace.to_dict())
    assert again.to_dict() == trace.to_dict()


def _session_records(tmp_path, monkeypatch, seed):
    from jointbench.specdec.session import SpecDecSession

    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    s = SpecDecSession("edge_cloud", pair="tiny-random", policy="heuristic", k=3, max_new_tokens=12,
                       network={"network_profile": "oscillating", "network_seed": seed}, keep_exchanges=True)
    return [s.predict({"prompt": f"question {i}", "index": i}) for i in range(3)]


def test_same_seed_same_records(tmp_path, monkeypatch):
    a = _session_records(tmp_path, monkeypatch, 3)
    b = _session_records(tmp_path, monkeypatch, 3)
    c = _session_records(tmp_path, monkeypatch, 4)
    assert a == b
    assert [r["latency_ms"] for r in a] != [r["latency_ms"] for r in c]
    assert all(r["extras"]["agrees_with_cloud"] for r in a)
