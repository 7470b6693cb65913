"""NASD and the bandit on the per-cycle loop: fallback steps, losslessness, off-trace prefixes (tiny pair)."""

from __future__ import annotations

import pytest

from jointbench.cache import JsonCache
from jointbench.netsim import Link, LinkConfig
from jointbench.specdec import FixedK
from jointbench.specdec.loop import run_query
from jointbench.specdec.policies.nasd_policy import NasdPolicy
from jointbench.specdec.prefixstore import PrefixStore
from jointbench.specdec.sources import TraceSource
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.tiny import tiny_random_pair
from jointbench.specdec.trace import TraceIncompleteError
from jointbench.specdec.tracestore import record_query

from nasd_testparts import N, PROMPT, NoModels, small_compute, synthetic_table


@pytest.fixture(scope="module")
def pair():
    # A noisy draft: it disagrees with the target every few tokens (so edge-only output differs).
    return tiny_random_pair(draft_noise=0.6)


@pytest.fixture(scope="module")
def trace(pair):
    return record_query(pair, PROMPT, N)


@pytest.fixture(scope="module")
def table():
    # Draft 15 ms/token: edge-only 66.7 tokens/s, faster than any predicted SD rate here.
    return synthetic_table()


_compute = small_compute


def _store(tmp_path, pair) -> PrefixStore:
    return PrefixStore("tiny-random", loader=lambda: pair, cache=JsonCache("prefix-test", 1, root=tmp_path))


_NoModels = NoModels


def _run(policy, trace, store, rtt=50.0):
    strategy = Strategy.build("edge_cloud", policy)
    source = TraceSource(trace.greedy, strategy.codec, N, store)
    return run_query(strategy, source, _compute(), Link(LinkConfig(rtt_ms=rtt)), N), source


@pytest.mark.parametrize("params", [{"cutoff": False}, {"cutoff_margin": 1e-6},
                                    {"cutoff": False, "acceptance": "online", "prior_strength": 2.0},
                                    {"cutoff": False, "acceptance": "shift", "shift_strength": 0.5},
                                    {"cutoff_margin": 1e-6, "acceptance": "shift", "horizon": True}])
def test_nasd_without_cutoff_outputs_the_cloud_only_tokens_model_free(trace, table, tmp_path, params):
    store = PrefixStore("tiny-random", loader=_NoModels(), cache=JsonCache("p", 1, root=tmp_path))
    policy = NasdPolicy(params, table=table)
    out, source = _run(policy, trace, store)
    assert not any(c["cutoff"] for c in out.policy_log)
    assert out.tokens == trace.target_tokens
    assert not out.lossy and source.on_trace and store.model_calls == 0


def test_control_edge_only_cutoff_changes_the_output(pair, trace, table, tmp_path):
    assert trace.edge_tokens != trace.target_tokens  # the fixture's draft really differs
    policy = NasdPolicy({"cutoff_margin": 1.0, "fallback_tokens": 8}, table=table)
    out, source = _run(policy, trace, _store(tmp_path, pair))
    assert any(c["cutoff"] for c in out.policy_log)
    assert out.lossy and not source.on_trace
    assert out.tokens != trace.target_tokens
    # Every fallback step's tokens are the draft's own greedy continuation of the committed prefix.
    assert any(c.fallback == "edge_only" for c in out.cycles)


def test_off_trace_cycles_equal_a_live_computation(pair, trace, table, tmp_path):
    from jointbench.specdec.engine import SpecDecoder

    policy = NasdPolicy({"cutoff_margin": 1.0, "fallback_tokens": 5, "probe_interval_ms": 8.0}, table=table)
    out, _ = _run(policy, trace, _store(tmp_path, pair))
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids)
    committed = list(PROMPT)
    for c in out.cycles:  # recompute each cycle from its prefix with fresh models
        if c.fallback == "edge_only":
            want = dec.edge_only(committed, len(c.tokens)).tokens
            assert list(c.tokens) == want[: len(c.tokens)]
        committed += list(c.tokens)
    assert any(c.fallback is None and c.k > 0 for c in out.cycles[1:])  # probes ran off the trace too
    # A second run reaching the same prefixes reuses the disk cache: no model call.
    again = PrefixStore("tiny-random", loader=_NoModels(), cache=JsonCache("prefix-test", 1, root=tmp_path))
    out2, _ = _run(NasdPolicy({"cutoff_margin": 1.0, "fallback_tokens": 5, "probe_interval_ms": 8.0},
                              table=table), trace, again)
    assert out2.tokens == out.tokens and again.model_calls == 0


def test_off_trace_without_a_store_is_refused(trace, table):
    with pytest.raises(TraceIncompleteError, match="PrefixStore"):
        _run(NasdPolicy({"cutoff_margin": 1.0}, table=table), trace, None)


def test_cloud_only_fallback_is_lossless_and_model_free(trace, table, tmp_path):
    store = PrefixStore("tiny-random", loader=_NoModels(), cache=JsonCache("p", 1, root=tmp_path))
    out, source = _run(NasdPolicy({"fallback": "cloud_only", "cutoff_margin": 50.0}, table=table), trace, store)
    assert any(c.fallback == "cloud_only" for c in out.cycles)
    assert out.tokens == trace.target_tokens and not out.lossy and source.on_trace


def test_fixed_k0_is_still_a_target_only_cycle(trace, tmp_path):
    out, _ = _run(FixedK(0), trace, None)
    assert all(c.fallback is None and c.k == 0 and len(c.tokens) == 1 for c in out.cycles)
    assert out.tokens == trace.target_tokens


def test_fallback_steps_are_on_the_clock(trace, table):
    """A cloud-only step reports no RTT; one request starts the stream, later steps continue it."""
    cloud, _ = _run(NasdPolicy({"fallback": "cloud_only", "cutoff_margin": 50.0, "probe_interval_ms": 1e9},
                               table=table), trace, None, rtt=100.0)
    steps = [(c, o) for c, o in zip(cloud.cycles, cloud.outcomes) if c.fallback]
    assert steps and all(o.rtt_ms is None for _, o in steps)
    # The first fallback step pays the request's one-way delay; later ones continue the stream.
    first, later = steps[0][1], [o for _, o in steps[1:]]
    assert first.bytes_up > 0 and all(o.bytes_up == 0 for o in later)
    assert all(o.committed == len(c.tokens) for c, o in steps)


def test_edge_steps_cost_draft_steps_and_the_cloud_catches_up(pair, trace, table, tmp_path):
    comp = _compute()
    policy = NasdPolicy({"cutoff_margin": 1.0, "fallback_tokens": 4, "probe_interval_ms": 6.0}, table=table)
    out, _ = _run(policy, trace, _store(tmp_path, pair))
    pending = 0
    for c, o in zip(out.cycles, out.outcomes):
        if c.fallback == "edge_only":
            assert o.rtt_ms is None and o.bytes_up == o.bytes_down == 0
            assert o.cycle_ms == pytest.approx(len(c.tokens) * comp.draft_ms())
            pending += len(c.tokens)
        else:  # the draft message also carries the edge-only tokens the cloud has not seen
            assert o.bytes_up == c.bytes_up + 4 * pending
            pending = 0
    assert any(c.fallback is None for c in out.cycles[1:]) and any(c.fallback for c in out.cycles)


@pytest.mark.parametrize("backoff", [1.0, 2.0])
def test_probe_interval_backs_off_while_the_link_stays_bad(table, backoff):
    """Under a stable bad link every probe fails: intervals double with backoff 2, stay fixed with 1 (control)."""
    from jointbench.specdec.nasd import Nasd
    from jointbench.specdec.nasd_types import CycleOutcome as LinkOutcome, LinkAwareState

    ctrl = Nasd(table, cutoff_margin=1.0, probe_interval_ms=100.0, probe_backoff=backoff,
                probe_interval_max_ms=1000.0)
    t, probes = 0.0, []
    while t < 5000.0:
        k = ctrl.next_k(LinkAwareState(t, 300.0))
        ms = 400.0 if k else 10.0
        ctrl.update(LinkOutcome(k, 0, 1 if k else 1, ms, 300.0 if k else None))
        if k:
            probes.append(t)
        t += ms
    gaps = [b - a for a, b in zip(probes, probes[1:])]
    assert ctrl.in_cutoff and len(gaps) >= 3
    if backoff == 1.0:
        assert max(gaps) < 600.0  # probe (400 ms) + interval (100 ms) + one fallback step
    else:
        assert gaps[2] > gaps[1] > gaps[0] and max(gaps) <= 400.0 + 1000.0 + 10.0


def test_cloud_fallback_steps_report_the_streams_round_trip(trace, table, tmp_path):
    # a cutoff from the first decision: every step is a cloud fallback step streaming down a 50 ms link
    store = PrefixStore("tiny-random", loader=NoModels(), cache=JsonCache("p", 1, root=tmp_path))
    policy = NasdPolicy({"fallback": "cloud_only", "cutoff_margin": 1e6}, table=table)
    out, _ = _run(policy, trace, store, rtt=50.0)
    steps = [o for o in out.outcomes if o.fallback == "cloud_only"]
    assert steps and all(o.stream_rtt_ms == pytest.approx(50.0) and o.rtt_ms is None for o in steps)
    # control: verify cycles carry their own RTT and no stream sample
    fixed, _ = _run(FixedK(3), trace, store, rtt=50.0)
    assert all(o.stream_rtt_ms is None and o.rtt_ms == pytest.approx(50.0) for o in fixed.outcomes)
