"""NASD's answer end: the draft stop weighs each drafted token by the chance the target does not end the
answer there (a Kaplan-Meier length survival of the calibration answers). Each guarantee with a control
that must fail."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.nasd import Nasd
from jointbench.specdec.nasd_stop import ConfidenceMap, DraftStop, stop_length
from jointbench.specdec.nasd_survival import continuation, length_survival
from jointbench.specdec.policies.nasd_policy import NasdPolicy
from jointbench.specdec.tiny import tiny_random_pair
from jointbench.specdec.trace import GreedyTrace, record_trace, replay

from nasd_testparts import N, PROMPT, synthetic_table

COST = tuple(40.0 + 8.0 * k for k in range(17))  # c(K): a 40 ms verify plus 8 ms per drafted token


def _map(survival: tuple[float, ...] = ()) -> ConfidenceMap:
    return ConfidenceMap("tiny-random", (0.25, 0.5, 0.75, 1.0), (0.2, 0.6, 0.9, 1.0), (10,) * 4, 0.7,
                         survival=survival)


def _ends_at(x: int, n: int = 64) -> tuple[float, ...]:
    """Every answer is exactly ``x`` tokens long: S(y) = 1 for y < x, 0 from x on."""
    return tuple(1.0 if y < x else 0.0 for y in range(n + 1))


# -- the survival -----------------------------------------------------------------------------------------

def test_kaplan_meier_matches_the_hand_computation_and_censors_cut_answers() -> None:
    # answers of 2 and 3 tokens ended; a 3-token answer and a 5-token one were cut by max_new_tokens=5
    s = length_survival([2, 3, 3, 5], [True, True, False, False], 5)
    assert s == pytest.approx((1.0, 1.0, 0.75, 0.5, 0.5, 0.5))
    # control: counting the cut answers as ended is a different (wrong) curve, reaching 0
    wrong = length_survival([2, 3, 3, 5], [True, True, True, True], 5)
    assert wrong[-1] == 0.0 and wrong != pytest.approx(s)


def test_survival_refuses_bad_lengths() -> None:
    with pytest.raises(ValueError, match="lengths must be in 1..4"):
        length_survival([5], [True], 4)
    with pytest.raises(ValueError, match="matching non-empty"):
        length_survival([2, 3], [True], 4)


def test_continuation_is_the_conditional_survival() -> None:
    s = length_survival([2, 3, 3, 5], [True, True, False, False], 5)
    c = continuation(s, 1, 6)
    # token l drafted after 1 generated sits at position 1 + l - 1; it is kept only if S(1 + l) / S(l)
    assert c[1:5] == pytest.approx([0.75, 0.5 / 0.75, 1.0, 1.0])
    assert c[5] == 1.0 and c[6] == 1.0  # past the survival's end: no information
    assert (continuation(_ends_at(3), 5, 4) == 1.0).all()  # S = 0 there: no information, not 0/0


# -- the rule -------------------------------------------------------------------------------------------

def test_the_rule_stops_where_answers_end_and_control_without_it_drafts_on() -> None:
    sure = [0.99] * 12  # a confident draft: without the answer end the rule drafts all of it
    assert stop_length(sure, _map(), COST, 0.01, 12) == 12
    # every calibration answer is 6 tokens, its EOS the 6th; 4 are generated: the 1st drafted token is the last
    # the target keeps (its EOS comes as the verify's bonus token), so the rule drafts exactly one
    alive = continuation(_ends_at(6), 4, 12)
    assert stop_length(sure, _map(), COST, 0.01, 12, alive) == 1
    rule = DraftStop(_map(_ends_at(6)), COST, 0.01, _ends_at(6), 4)
    assert rule.length(sure, 12) == 1
    assert DraftStop(_map(_ends_at(6)), COST, 0.01, _ends_at(6), 2).length(sure, 12) == 3
    assert DraftStop(_map(_ends_at(6)), COST, 0.01, _ends_at(6), 40).length(sure, 12) == 12  # past the end


def test_a_survival_of_no_ends_is_the_plain_rule() -> None:
    rng = np.random.default_rng(3)
    never = tuple([1.0] * 65)
    for _ in range(300):
        n = int(rng.integers(1, 13))
        conf = rng.random(n).round(4).tolist()
        rate = float(rng.uniform(0.001, 0.05))
        g = int(rng.integers(0, 60))
        assert stop_length(conf, _map(), COST, rate, 12, continuation(never, g, 12)) == \
            stop_length(conf, _map(), COST, rate, 12)


def test_live_question_agrees_with_the_replayed_length() -> None:
    # a live drafter asks DraftStop.continues after each token; a replay calls length on the window
    rng = np.random.default_rng(4)
    s = length_survival(rng.integers(3, 30, 40).tolist(), [True] * 40, 64)
    stopped_early = 0
    for _ in range(300):
        conf = rng.uniform(0.3, 1.0, 12).round(4).tolist()
        rule = DraftStop(_map(s), COST, float(rng.uniform(0.002, 0.03)), s, int(rng.integers(0, 40)))
        n = 1
        while rule.continues(conf[:n], 12):
            n += 1
        assert n == rule.length(conf, 12)
        stopped_early += n < DraftStop(_map(s), COST, rule.rate_per_ms).length(conf, 12)
    assert stopped_early > 0  # the survival did change lengths here


# -- the map and the controller ------------------------------------------------------------------------------

def test_map_with_survival_round_trips_and_a_map_without_hashes_as_before(tmp_path) -> None:
    plain = _map()
    assert "survival" not in plain.model_dict()  # maps written before the field keep their hash
    with_s = _map(_ends_at(6))
    path = with_s.save(tmp_path / "m.json")
    back = ConfidenceMap.load(path, "tiny-random")
    assert back.survival == with_s.survival and back.map_hash == with_s.map_hash != plain.map_hash
    data = json.loads(path.read_text())
    data["survival"][6] = 0.5  # control: an edited (still valid) survival is refused by the hash
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="does not match"):
        ConfidenceMap.load(path)


def test_map_refuses_an_increasing_survival() -> None:
    with pytest.raises(ValueError, match="survival must start at 1.0"):
        _map((1.0, 0.5, 0.6))


def test_the_controller_refuses_answer_end_without_a_stop_or_a_survival() -> None:
    table = synthetic_table()
    with pytest.raises(ValueError, match="needs the draft stop"):
        Nasd(table, answer_end=True)
    with pytest.raises(ValueError, match="no answer-length survival.*--confidence-only"):
        Nasd(table, stop=_map(), answer_end=True)
    with pytest.raises(TypeError, match="policy_params.answer_end: expected bool"):
        NasdPolicy({"draft_stop": True, "answer_end": "yes"}, table=table, confidence_map=_map(_ends_at(6)))
    assert Nasd(table, stop=_map(_ends_at(6)), answer_end=True).answer_end


def test_shipped_map_has_a_survival_of_its_calibration_answers() -> None:
    from jointbench.netsim.configfiles import config_dir

    cmap = ConfidenceMap.load(config_dir() / "nasd" / "confidence" / "smollm2-135m-int8.json", "smollm2-135m-int8")
    s = cmap.survival
    assert len(s) == cmap.meta["max_new_tokens"] + 1 and s[0] == 1.0
    assert all(b <= a for a, b in zip(s, s[1:])) and 0.0 < s[-1] < 1.0  # short answers end; long ones are cut


# -- on the loop -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pair():
    return tiny_random_pair(draft_noise=0.6)


def _policy(cmap: ConfidenceMap, answer_end: bool) -> NasdPolicy:
    return NasdPolicy({"cutoff": False, "draft_stop": True, "answer_end": answer_end}, table=synthetic_table(),
                      confidence_map=cmap)


def test_a_live_run_with_the_answer_end_equals_its_replay_and_stays_lossless(pair) -> None:
    torch.set_num_threads(1)
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token")
    cmap = dataclasses.replace(_map(), accept=(0.9, 0.95, 0.99, 1.0), mean=0.95,
                               survival=length_survival([3, 5, 7, 9, 11], [True] * 5, 64))
    live = dec.speculative(PROMPT, N, _policy(cmap, True))
    tr = record_trace(SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token"), PROMPT, N)
    detached = GreedyTrace.from_dict(tr.to_dict())
    detached.decoder = tr.decoder
    replayed = replay(detached, _policy(cmap, True))
    assert [(c.k, c.drafted, c.accepted, tuple(c.tokens)) for c in live.cycles] == \
        [(c.k, c.drafted, c.accepted, c.tokens) for c in replayed]
    assert live.tokens == tr.target_tokens  # lossless: the stop changes lengths, never tokens
    # control: the same map without the answer end drafts other lengths
    plain = replay(detached, _policy(cmap, False))
    assert [c.drafted for c in plain] != [c.drafted for c in replayed]


# -- one survival per prompt kind ------------------------------------------------------------------------------

def _kind_map() -> ConfidenceMap:
    never = tuple([1.0] * 65)
    return dataclasses.replace(_map(), accept=(0.9, 0.95, 0.99, 1.0), mean=0.95, survival=never,
                               survival_by_kind={"short": _ends_at(6)})


def test_the_map_picks_the_survival_of_the_query_kind_else_the_pooled_one(tmp_path) -> None:
    m = _kind_map()
    assert m.survival_for("short") == _ends_at(6)
    assert m.survival_for("other") == m.survival_for(None) == m.survival
    back = ConfidenceMap.load(m.save(tmp_path / "k.json"), "tiny-random")
    assert back.survival_by_kind == m.survival_by_kind and back.map_hash == m.map_hash
    with pytest.raises(ValueError, match=r"survival_by_kind\['short'\] must start at 1.0"):
        dataclasses.replace(m, survival_by_kind={"short": (1.0, 0.5, 0.7)})
    with pytest.raises(ValueError, match="needs the pooled survival"):
        dataclasses.replace(m, survival=())


def test_calibration_survivals_are_fitted_per_kind() -> None:
    from types import SimpleNamespace

    from jointbench.specdec.nasd_calibrate import answer_survivals

    def tr(n, eos):
        return SimpleNamespace(greedy=SimpleNamespace(target_tokens=[0] * n, stop="eos" if eos else "length"))

    prompts = [{"kind": "a"}, {"kind": "a"}, {"kind": "b"}]
    pooled, by_kind = answer_survivals(prompts, [tr(2, True), tr(3, True), tr(4, False)], 4)
    assert by_kind["a"] == length_survival([2, 3], [True, True], 4) == (1.0, 1.0, 0.5, 0.0, 0.0)
    assert by_kind["b"] == (1.0,) * 5 and pooled == length_survival([2, 3, 4], [True, True, False], 4)


def test_the_query_kind_decides_the_answer_end_and_control_another_kind_is_pooled(pair) -> None:
    tr = record_trace(SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token"), PROMPT, N)
    detached = GreedyTrace.from_dict(tr.to_dict())
    detached.decoder = tr.decoder

    def drafted(kind):
        policy = _policy(_kind_map(), True)
        policy.set_query_kind(kind)
        return [c.drafted for c in replay(detached, policy)]

    short, pooled = drafted("short"), drafted(None)
    assert sum(short) < sum(pooled)  # the short kind's answers end at 6 tokens: its drafts stop there
    assert drafted("other") == pooled  # control: a kind the map does not know reads the pooled survival


def test_the_session_tells_the_policy_each_query_kind(monkeypatch, tmp_path) -> None:
    from jointbench.specdec.session import SpecDecSession

    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    s = SpecDecSession("edge_cloud", pair="tiny-random", policy="fixed", k=2, max_new_tokens=6)
    seen: list = []
    monkeypatch.setattr(s.strategy.policy, "set_query_kind", seen.append, raising=False)
    s.predict({"prompt": "question 0", "index": 0, "kind": "gsm8k"})
    s.predict("question 1", 1)
    assert seen == ["gsm8k", None]
