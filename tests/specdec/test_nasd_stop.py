"""NASD's draft stop: the confidence map, the stopping rule's math, the trace's recorded probabilities,
and on the loop: lossless at T=0, logs that add up, a refused source; each with a control that must fail."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from jointbench.cache import JsonCache
from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.loop import run_query
from jointbench.specdec.nasd_stop import ConfidenceMap, DraftStop, nondecreasing_fit, stop_length, trace_samples
from jointbench.specdec.policies.nasd_policy import NasdPolicy
from jointbench.specdec.prefixstore import PrefixStore
from jointbench.specdec.sources import RecordedSource, TraceSource
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.tiny import tiny_random_pair
from jointbench.specdec.trace import GreedyTrace, record_trace
from jointbench.specdec.tracestore import record_query

from jointbench.netsim import Link, LinkConfig
from jointbench.specdec import FixedK
from jointbench.specdec.placement import Cycle

from nasd_testparts import N, PROMPT, NoModels, small_compute, synthetic_table


def _map(accept=(0.2, 0.6, 0.9, 1.0), upper=(0.25, 0.5, 0.75, 1.0), mean=0.7) -> ConfidenceMap:
    return ConfidenceMap("tiny-random", tuple(upper), tuple(accept), (10,) * len(upper), mean)


# -- the map ----------------------------------------------------------------------------------------

def test_fit_recovers_a_monotone_acceptance_curve() -> None:
    rng = np.random.default_rng(0)
    c = rng.random(20000)
    matched = rng.random(20000) < 0.3 + 0.7 * c  # P(accept | c) = 0.3 + 0.7 c
    cmap = ConfidenceMap.fit("p", c, matched, bins=10)
    assert len(cmap.upper) == 10 and cmap.upper[-1] == 1.0 and sum(cmap.counts) == 20000
    mids = np.array([0.05 + 0.1 * i for i in range(10)])
    assert np.max(np.abs(np.array(cmap.accept) - (0.3 + 0.7 * mids))) < 0.04
    assert cmap.mean == pytest.approx(matched.mean())


def test_fit_makes_a_noisy_curve_non_decreasing_and_pav_is_a_weighted_mean() -> None:
    assert nondecreasing_fit([0.5, 0.3, 0.9], [1, 3, 1]) == pytest.approx([0.35, 0.35, 0.9])
    rng = np.random.default_rng(1)
    c = rng.random(60)
    cmap = ConfidenceMap.fit("p", c, rng.random(60) < 0.5, bins=10)
    assert all(b >= a for a, b in zip(cmap.accept, cmap.accept[1:]))


def test_map_lookup_bins_and_unknown_probability() -> None:
    m = _map()
    assert [m.accept_prob(x) for x in (0.0, 0.25, 0.26, 0.74, 0.99, 1.0)] == [0.2, 0.2, 0.6, 0.9, 1.0, 1.0]
    assert m.accept_prob(math.nan) == 0.7


def test_map_file_round_trips_and_refuses_edits_and_other_pairs(tmp_path) -> None:
    m = _map()
    path = m.save(tmp_path / "m.json")
    assert ConfidenceMap.load(path, "tiny-random") == m
    with pytest.raises(ValueError, match="fitted for pair 'tiny-random'.*uses pair 'other'"):
        ConfidenceMap.load(path, "other")
    data = json.loads(path.read_text())
    data["accept"][0] = 0.3
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="not hand-edited"):
        ConfidenceMap.load(path)
    with pytest.raises(FileNotFoundError, match="--confidence-only"):
        ConfidenceMap.load(tmp_path / "missing.json")


def test_map_refuses_a_decreasing_curve() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        _map(accept=(0.9, 0.5, 0.9, 1.0))


# -- the rule ---------------------------------------------------------------------------------------

def _expected_tokens(confs: list[float], truth: ConfidenceMap, n: int) -> float:
    """E[committed tokens] of a cycle drafting ``n`` tokens of this window (independent acceptances, P = truth)."""
    p, e = 1.0, 1.0
    for c in confs[:n]:
        p *= truth.accept_prob(c)
        e += p
    return e


def test_rule_matches_the_hand_computed_condition() -> None:
    m = _map(mean=0.5)
    cost = [10.0 * k + 100.0 for k in range(6)]  # 10 ms per token, linear
    # after token 1 (f = 0.9): best extension gain 0.9 * 0.5 - R * 10 > 0  iff  R < 0.045
    assert stop_length([0.7, 0.7, 0.7], m, cost, 0.044) > 1
    assert stop_length([0.7, 0.7, 0.7], m, cost, 0.046) == 1
    assert stop_length([], m, cost, 1.0) == 0
    assert stop_length([0.1], m, cost, 1e9) == 1  # the first token is always drafted


def test_rule_drafts_longer_at_a_lower_rate() -> None:
    m = _map()
    cost = [10.0 * k + 100.0 for k in range(13)]
    confs = [0.9, 0.6, 0.8, 0.4, 0.9, 0.9, 0.3, 0.9, 0.9, 0.9, 0.9, 0.9]
    lengths = [stop_length(confs, m, cost, r) for r in (0.05, 0.02, 0.01, 0.002)]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]


def test_rule_looks_past_a_costly_next_token() -> None:
    # t_verify(2) > t_verify(3): one more token costs 30 ms, two more cost 5 ms in all
    m = _map(mean=0.9)
    cost = [100.0, 110.0, 140.0, 115.0]
    assert stop_length([1.0, 1.0, 1.0], m, cost, 0.05) == 3


def test_control_without_the_cheap_longer_draft_it_stops_at_once() -> None:
    m = _map(mean=0.9)
    assert stop_length([1.0, 1.0, 1.0], m, [100.0, 110.0, 140.0, 150.0], 0.05) == 1


def test_stopping_raises_the_expected_rate_over_every_fixed_length() -> None:
    # windows drawn from the map itself: the rule's drafts beat every fixed K in expectation
    rng = np.random.default_rng(3)
    m = _map(accept=(0.3, 0.6, 0.9, 0.99), mean=0.7)
    cost = [40.0 + 8.0 * k for k in range(13)]
    windows = [list(rng.random(12)) for _ in range(4000)]

    def rate(lengths):
        return sum(_expected_tokens(w, m, n) for w, n in zip(windows, lengths)) / sum(cost[n] for n in lengths)

    best = max(rate([k] * len(windows)) for k in range(1, 13))
    stopped = rate([stop_length(w, m, cost, best) for w in windows])
    assert stopped > 1.02 * best
    # control: a map that says nothing (every bin = the mean) cannot beat the best fixed K
    flat = _map(accept=(0.7,) * 4, mean=0.7)
    assert rate([stop_length(w, flat, cost, best) for w in windows]) <= best + 1e-12


# -- the trace's probabilities --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pair():
    return tiny_random_pair(draft_noise=0.6)


def test_recorded_probabilities_are_the_drafts_softmax(pair) -> None:
    torch.set_num_threads(1)
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token")
    tr = record_trace(dec, PROMPT, 16)
    assert tr.has_confidence
    a = tr.anchor[0]
    ids = PROMPT + tr.target_tokens[:a] + tr.proposals[a][:1]
    with torch.no_grad():
        probs = torch.softmax(pair.draft(input_ids=torch.tensor([ids[:-1]])).logits[0, -1].float(), -1)
    assert tr.confidence[a][0] == pytest.approx(float(probs[tr.proposals[a][0]]), abs=2e-5)
    back = GreedyTrace.from_dict(json.loads(json.dumps(tr.to_dict())))
    assert back.confidence == tr.confidence and back.has_confidence
    conf, matched = trace_samples(back)
    assert len(conf) == len(tr.target_tokens) and sum(matched) == sum(
        1 for j in range(len(tr.target_tokens)) if j - tr.anchor[j] < tr.match_len[tr.anchor[j]])


def test_a_trace_recorded_before_probabilities_were_kept_says_so(pair) -> None:
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token")
    data = record_trace(dec, PROMPT, 8).to_dict()
    del data["confidence"]
    old = GreedyTrace.from_dict(data)
    assert not old.has_confidence
    with pytest.raises(ValueError, match="record it again"):
        trace_samples(old)


# -- on the loop ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trace(pair):
    return record_query(pair, PROMPT, N)


@pytest.fixture(scope="module")
def table():
    return synthetic_table()


_NoModels, _compute = NoModels, small_compute


def _run(policy, trace, tmp_path, rtt=50.0):
    store = PrefixStore("tiny-random", loader=_NoModels(), cache=JsonCache("p", 1, root=tmp_path))
    strategy = Strategy.build("edge_cloud", policy)
    source = TraceSource(trace.greedy, strategy.codec, N, store)
    out = run_query(strategy, source, _compute(), Link(LinkConfig(rtt_ms=rtt)), N)
    assert source.on_trace and store.model_calls == 0
    return out


def _cycles(out):
    return [(c.k, c.drafted, c.accepted, c.tokens) for c in out.cycles]


@pytest.mark.parametrize("rtt", [0.0, 50.0, 500.0])
def test_stop_is_lossless_model_free_and_its_logs_add_up(trace, table, tmp_path, rtt) -> None:
    policy = NasdPolicy({"cutoff": False, "draft_stop": True}, table=table, confidence_map=_map())
    out = _run(policy, trace, tmp_path, rtt)
    assert out.tokens == trace.target_tokens
    assert sum(len(c.tokens) for c in out.cycles) == len(out.tokens)
    assert [c["drafted"] for c in out.policy_log] == [c.drafted for c in out.cycles]
    assert [c["accepted"] for c in out.policy_log] == [c.accepted for c in out.cycles]
    assert all(c.drafted <= c.k <= table.k_max for c in out.cycles)


def test_stop_ends_drafts_early_and_control_a_sure_map_drafts_the_whole_cap(trace, table, tmp_path) -> None:
    low = _map(accept=(0.05, 0.1, 0.2, 0.3), mean=0.2)
    stopped = _run(NasdPolicy({"cutoff": False, "draft_stop": True}, table=table, confidence_map=low),
                   trace, tmp_path)
    assert any(c.drafted < c.k for c in stopped.cycles)
    sure = _map(accept=(1.0,) * 4, mean=1.0)
    full = _run(NasdPolicy({"cutoff": False, "draft_stop": True}, table=table, confidence_map=sure),
                trace, tmp_path)
    assert _cycles(full) == _cycles(_run(FixedK(table.k_max), trace, tmp_path))
    assert _cycles(stopped) != _cycles(full)


def test_stop_on_a_source_without_probabilities_is_refused(table) -> None:
    policy = NasdPolicy({"cutoff": False, "draft_stop": True}, table=table, confidence_map=_map())
    strategy = Strategy.build("edge_cloud", policy)
    source = RecordedSource(3, [Cycle(12, 12, 2, (1, 2, 3))])
    with pytest.raises(ValueError, match="draft_stop.*RecordedSource"):
        run_query(strategy, source, _compute(), Link(LinkConfig(rtt_ms=10.0)), N)


def test_policy_without_a_map_file_names_the_command(table, tmp_path, monkeypatch) -> None:
    import jointbench.specdec.policies.nasd_policy as mod

    monkeypatch.setattr(mod, "confidence_path", lambda pair: tmp_path / f"{pair}.json")
    with pytest.raises(FileNotFoundError, match="nasd_calibrate --confidence-only"):
        NasdPolicy({"draft_stop": True}, table=table)
    assert NasdPolicy({}, table=table).draft_stop is None  # off by default: no map needed


def test_draft_stop_object_is_the_rule() -> None:
    rule = DraftStop(_map(), tuple(10.0 * k + 50 for k in range(8)), 0.01)
    assert rule.length([0.9, 0.2, 0.9]) == stop_length([0.9, 0.2, 0.9], _map(), rule.cycle_ms, 0.01)


def test_shipped_maps_load_for_their_pair() -> None:
    from jointbench.netsim.configfiles import config_dir

    paths = sorted((config_dir() / "nasd" / "confidence").glob("*.json"))
    assert paths, "configs/nasd/confidence/ ships the root pair's map"
    for path in paths:
        cmap = ConfidenceMap.load(path, path.stem)
        assert sum(cmap.counts) == cmap.meta["samples"] and cmap.meta["prompts"]


@pytest.mark.parametrize("accept, mean", [((0.2, 0.6, 0.9, 1.0), 0.7), ((0.05, 0.1, 0.2, 0.3), 0.2)])
def test_a_live_run_with_the_stop_equals_its_replay(pair, table, accept, mean) -> None:
    # the engine drafts token by token and asks DraftStop.continues; the replay applies the rule to the
    # recorded probabilities: the same cycles (draft_feed="token", the chunking traces replay)
    from jointbench.specdec.trace import replay

    torch.set_num_threads(1)
    cmap = _map(accept=accept, mean=mean)
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token")
    live = dec.speculative(PROMPT, N, NasdPolicy({"cutoff": False, "draft_stop": True}, table=table,
                                                 confidence_map=cmap))
    tr = record_trace(SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token"), PROMPT, N)
    detached = GreedyTrace.from_dict(tr.to_dict())
    detached.decoder = tr.decoder
    replayed = replay(detached, NasdPolicy({"cutoff": False, "draft_stop": True}, table=table, confidence_map=cmap))
    assert [(c.k, c.drafted, c.accepted, tuple(c.tokens)) for c in live.cycles] == \
        [(c.k, c.drafted, c.accepted, c.tokens) for c in replayed]
    assert any(c.drafted < c.k for c in replayed)  # the stop did end drafts early here


def test_control_a_live_run_without_the_stop_differs(pair, table) -> None:
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token")
    low = _map(accept=(0.05, 0.1, 0.2, 0.3), mean=0.2)
    stopped = dec.speculative(PROMPT, N, NasdPolicy({"cutoff": False, "draft_stop": True}, table=table,
                                                    confidence_map=low))
    full = dec.speculative(PROMPT, N, NasdPolicy({"cutoff": False, "stop_k_max": 12}, table=table))
    assert [c.drafted for c in stopped.cycles] != [c.drafted for c in full.cycles]
    assert stopped.tokens == full.tokens  # lossless either way


def test_the_stop_refuses_sampled_drafts(pair) -> None:
    from jointbench.specdec.codec import make_codec
    from jointbench.specdec.drafting import draft_block
    from jointbench.specdec.lm import CachedLM

    rule = DraftStop(_map(), tuple(10.0 * k for k in range(8)), 0.01)
    with pytest.raises(ValueError, match="temperature 0 only"):
        draft_block(CachedLM(pair.draft), PROMPT, 3, "token", len(PROMPT), 1.0, make_codec("dense_fp32"),
                    torch.Generator().manual_seed(0), set(), rule)


def test_k_per_cycle_plot_draws_stopped_drafts_and_reads_old_logs(tmp_path) -> None:
    from jointbench.specdec.nasd_plots import plot_k_per_cycle

    log = [{"t_ms": 100.0 * i, "k": 16, "drafted": 3 + i % 4, "rtt_seen_ms": 10.0, "cutoff": False} for i in range(8)]
    old = [{k: v for k, v in c.items() if k != "drafted"} for c in log]  # a log written before the stop
    for name, cycles in (("stop", log), ("old", old)):
        path = plot_k_per_cycle({name: [{"extras": {"cycle_log": cycles}}]}, str(tmp_path / f"{name}.png"))
        assert (tmp_path / f"{name}.png").stat().st_size > 1000 and path.endswith(f"{name}.png")
