"""T > 0: each query is generated once per (strategy, policy, seed) and replayed across profiles."""

from __future__ import annotations

import pytest

from jointbench.specdec import sampled, tracestore
from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec import FixedK
from jointbench.specdec.session import SpecDecSession
from jointbench.specdec.tracestore import encode_prompt, get_pair

PROMPTS = ["alpha beta gamma", "one two three four"]


@pytest.fixture
def cold(tmp_path, monkeypatch):
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(sampled, "_RUNS", {})
    return tmp_path


def _session(**kw):
    return SpecDecSession(pair="tiny-random", max_new_tokens=12, temperature=1.0, chat=False, **kw)


def test_sampled_cycles_equal_a_live_seeded_run(cold):
    session = _session(strategy="edge_cloud", policy="fixed", k=3, sample_seed=7, network={"network_rtt_ms": 20})
    rec = session.predict({"prompt": PROMPTS[0], "index": 0})
    pair = get_pair("tiny-random")
    live = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, temperature=1.0, draft_feed="token").speculative(
        encode_prompt(pair, PROMPTS[0], chat=False), 12, FixedK(3), seed=7)
    assert rec["extras"]["tokens"] == list(live.tokens)
    assert rec["extras"]["accepted_per_cycle"] == [c.accepted for c in live.cycles]
    assert rec["extras"]["agrees_with_cloud"] is None  # lossless in distribution, not per query


def test_profiles_replay_without_rerunning_models(cold, monkeypatch):
    calls = []
    real = SpecDecoder.start

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SpecDecoder, "start", counting)
    records = {}
    for rtt in (0, 50, 200):
        session = _session(strategy="edge_cloud", policy="fixed", k=2, sample_seed=3, network={"network_rtt_ms": rtt})
        records[rtt] = [session.predict({"prompt": p, "index": i}) for i, p in enumerate(PROMPTS)]
    assert len(calls) == len(PROMPTS)  # once per query, not once per profile
    tokens = {rtt: [r["extras"]["tokens"] for r in recs] for rtt, recs in records.items()}
    assert tokens[0] == tokens[50] == tokens[200]
    lat = {rtt: sum(r["latency_ms"] for r in recs) for rtt, recs in records.items()}
    assert lat[0] < lat[50] < lat[200]


def test_seed_changes_the_draws_and_disk_cache_reproduces(cold):
    a = _session(strategy="cloud_only", sample_seed=0).predict({"prompt": PROMPTS[1], "index": 0})
    b = _session(strategy="cloud_only", sample_seed=1).predict({"prompt": PROMPTS[1], "index": 0})
    assert a["extras"]["tokens"] != b["extras"]["tokens"]
    sampled._RUNS.clear()  # force a read from the JSON cache
    again = _session(strategy="cloud_only", sample_seed=0).predict({"prompt": PROMPTS[1], "index": 0})
    assert again["extras"]["tokens"] == a["extras"]["tokens"]
    assert list((cold / "specdec-sampled").glob("*.json"))
    assert tracestore.RECORDING_S["record_s"] > 0
