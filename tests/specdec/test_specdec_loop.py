"""The per-cycle loop: message sizes come from the codec, and policies see the link."""

from __future__ import annotations

from typing import Any, Mapping

import pytest

from jointbench.registry import Registry
from jointbench.specdec import sampled, tracestore
from jointbench.specdec.codec import make_codec
from jointbench.specdec.parts import POLICY, register
from jointbench.specdec.payload import TOKEN_BYTES, VERDICT_BYTES, prompt_bytes
from jointbench.specdec.policy import CycleOutcome, DraftState, reject_params
from jointbench.specdec.session import SpecDecSession

PROMPTS = ["alpha beta gamma delta", "one two three four five", "red green blue"]


@pytest.fixture
def cold(tmp_path, monkeypatch):
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(sampled, "_RUNS", {})
    monkeypatch.setattr(tracestore, "_TRACES", {})
    return tmp_path


def _records(strategy: str, temperature: float = 0.0, codec: str | None = None, policy: str = "fixed",
             network: Mapping[str, Any] | None = None, k: int = 3) -> tuple[SpecDecSession, list[dict]]:
    s = SpecDecSession(strategy, pair="tiny-random", policy=policy, k=k, max_new_tokens=16, chat=False,
                       temperature=temperature, codec=codec, keep_exchanges=True,
                       network=dict(network or {"network_rtt_ms": 20, "network_uplink_bandwidth_mbps": 10}))
    return s, [s.predict({"prompt": p, "index": i}) for i, p in enumerate(PROMPTS)]


CASES = [("cloud_only", 0.0, None), ("edge_only", 0.0, None), ("colocated", 0.0, None), ("edge_cloud", 0.0, None),
         ("cloud_only", 1.0, None), ("colocated", 1.0, "dense_fp32"), ("edge_cloud", 1.0, "dense_fp32"),
         ("edge_cloud", 1.0, "dense_fp16")]


@pytest.mark.parametrize(("strategy", "temperature", "codec"), CASES)
def test_message_sizes_on_the_timeline_are_encoded_lengths(cold, strategy, temperature, codec):
    session, records = _records(strategy, temperature, codec)
    c = session.strategy.codec
    vocab = int(tracestore.get_pair("tiny-random").target.config.vocab_size)
    for rec in records:
        ex = rec["exchanges"]
        if strategy == "edge_only":
            assert ex == [] and rec["bytes_up"] == rec["bytes_down"] == 0
            continue
        assert ex[0]["kind"] == "prompt" and ex[0]["payload_bytes"] == prompt_bytes(rec["extras"]["prompt_tokens"])
        drafts = [e["payload_bytes"] for e in ex if e["kind"] == "draft"]
        if strategy == "edge_cloud":
            drafted = rec["extras"]["drafted_per_cycle"]
            v = vocab if c.sends_distribution else 0
            assert drafts == rec["extras"]["draft_bytes_per_cycle"] == [c.encoded_len(d, v) for d in drafted]
            assert all(e["payload_bytes"] == VERDICT_BYTES for e in ex if e["kind"] == "verdict")
            if c.sends_distribution:  # the distribution travels: about b·V bytes per drafted token
                assert sum(drafts) > (c.encoded_len(1, vocab) - 12) * sum(drafted)
        else:
            assert drafts == []
        down = [e["payload_bytes"] for e in ex if e["kind"] in ("token", "tokens")]
        assert sum(down) == (TOKEN_BYTES * len(rec["extras"]["tokens"]) if strategy != "edge_cloud" else 0)


def test_dense_codec_control_ids_only_size_would_be_wrong(cold):
    """Control: at T>0 the draft messages are far larger than an ids-only pricing (main's bug)."""
    _, records = _records("edge_cloud", 1.0, "dense_fp32")
    ids_only = make_codec("ids_only")
    drafted = [d for r in records for d in r["extras"]["drafted_per_cycle"]]
    sizes = [b for r in records for b in r["extras"]["draft_bytes_per_cycle"]]
    assert sizes != [ids_only.encoded_len(d, 0) for d in drafted]


class RttAware:
    """Test policy: drafts long when the last measured RTT was high, short otherwise."""

    reads_link = True

    def __init__(self) -> None:
        self.seen: list[DraftState] = []
        self.ks: list[int] = []

    @classmethod
    def build(cls, k: int, k_max: int | None, transient: bool, params: Mapping[str, Any]) -> RttAware:
        reject_params("test_rtt_aware", params)
        return cls()

    def reset(self) -> None:
        pass

    def next_k(self, state: DraftState) -> int:
        self.seen.append(state)
        k = 6 if state.last is not None and state.last.rtt_ms is not None and state.last.rtt_ms > 100 else 1
        self.ks.append(k)
        return k

    def update(self, outcome: CycleOutcome) -> None:
        pass


@pytest.fixture
def rtt_policy():
    register(POLICY, "test_rtt_aware")(RttAware)
    yield
    Registry.unregister(POLICY, "test_rtt_aware")


STEP = {"network_rtt_ms": 10, "network_trace": {"type": "step", "steps": [{"at_ms": 150, "rtt_ms": 300}]}}
FLAT = {"network_rtt_ms": 10}


def test_network_aware_policy_sees_rtt_step_and_models_run_once(cold, rtt_policy, monkeypatch):
    recorded = []
    real = tracestore.record_query
    monkeypatch.setattr(tracestore, "record_query", lambda *a, **kw: recorded.append(1) or real(*a, **kw))
    step, step_recs = _records("edge_cloud", policy="test_rtt_aware", network=STEP)
    n_recorded = len(recorded)
    flat, flat_recs = _records("edge_cloud", policy="test_rtt_aware", network=FLAT)
    assert n_recorded == len(PROMPTS) and len(recorded) == n_recorded  # T=0: the models ran once
    pol_step, pol_flat = step.strategy.policy, flat.strategy.policy
    rtts = [s.last.rtt_ms for s in pol_step.seen if s.last is not None]
    assert rtts[0] == pytest.approx(10.0) and rtts[-1] == pytest.approx(300.0)
    assert all(s.now_ms >= 0 for s in pol_step.seen) and pol_step.seen[-1].now_ms > 150
    assert any(s.history for s in pol_step.seen) and pol_step.seen[-1].bandwidth_mbps is not None
    assert pol_step.ks != pol_flat.ks and max(pol_flat.ks) == 1 and max(pol_step.ks) == 6
    assert [r["extras"]["tokens"] for r in step_recs] == [r["extras"]["tokens"] for r in flat_recs]  # lossless


def test_sampled_cache_key_includes_the_network_when_the_policy_reads_it(cold, rtt_policy):
    _, a = _records("edge_cloud", 1.0, "dense_fp16", policy="test_rtt_aware", network=STEP)
    _, b = _records("edge_cloud", 1.0, "dense_fp16", policy="test_rtt_aware", network=FLAT)
    assert [r["extras"]["k_per_cycle"] for r in a] != [r["extras"]["k_per_cycle"] for r in b]
    # control: a link-blind policy shares one generation across both profiles
    _, c = _records("edge_cloud", 1.0, "dense_fp16", network=STEP)
    _, d = _records("edge_cloud", 1.0, "dense_fp16", network=FLAT)
    assert [r["extras"]["tokens"] for r in c] == [r["extras"]["tokens"] for r in d]
