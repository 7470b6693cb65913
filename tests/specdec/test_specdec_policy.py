"""Draft-length policies: fixed K and transformers' heuristic schedule."""

from __future__ import annotations

import pytest

from jointbench.registry import UnknownAliasError
from jointbench.specdec import FixedK, HeuristicK
from jointbench.specdec.policy import (
    HF_DEFAULT_NUM_ASSISTANT_TOKENS,
    CycleOutcome,
    DraftLengthPolicy,
    DraftState,
    clip_k,
    make_policy,
)


def _out(drafted: int, accepted: int) -> CycleOutcome:
    return CycleOutcome(k=drafted, drafted=drafted, accepted=accepted)

STATE = DraftState(cycle=0, generated=0, remaining=100)


def test_fixed_k_is_constant_and_a_policy():
    policy = FixedK(3)
    assert isinstance(policy, DraftLengthPolicy)
    for accepted in (0, 3, 1):
        policy.update(_out(3, accepted))
        assert policy.next_k(STATE) == 3
    with pytest.raises(ValueError):
        FixedK(-1)


def test_heuristic_schedule_plus_two_minus_one_floor_one():
    policy = HeuristicK(start=3)
    assert isinstance(policy, DraftLengthPolicy)
    seen = []
    for drafted, accepted in [(3, 3), (5, 5), (7, 2), (6, 0), (5, 4), (4, 0), (3, 0), (2, 0), (1, 0), (1, 1)]:
        seen.append(policy.next_k(STATE))
        policy.update(_out(drafted, accepted))
    assert seen == [3, 5, 7, 6, 5, 4, 3, 2, 1, 1]
    assert policy.next_k(STATE) == 3


def test_heuristic_full_accept_counts_drafted_not_requested():
    # transformers compares num_matches with the candidate length actually drafted
    policy = HeuristicK(start=10)
    policy.update(CycleOutcome(k=10, drafted=2, accepted=2))
    assert policy.next_k(STATE) == 12


def test_heuristic_default_start_is_transformers_default():
    assert HeuristicK().next_k(STATE) == HF_DEFAULT_NUM_ASSISTANT_TOKENS == 20


def test_heuristic_transient_vs_persistent_and_cap():
    transient, persistent = HeuristicK(start=4), HeuristicK(start=4, transient=False)
    for policy in (transient, persistent):
        policy.update(_out(4, 4))
        policy.reset()
    assert transient.next_k(STATE) == 4
    assert persistent.next_k(STATE) == 6
    capped = HeuristicK(start=4, max_k=5)
    capped.update(_out(4, 4))
    assert capped.next_k(STATE) == 5


def test_clip_k_never_overshoots_the_budget():
    assert clip_k(5, remaining=3) == 2
    assert clip_k(5, remaining=1) == 0
    assert clip_k(2, remaining=10) == 2
    assert clip_k(-3, remaining=10) == 0


def test_policies_are_looked_up_by_name():
    assert repr(make_policy("fixed", 4)) == "FixedK(4)"
    assert make_policy("heuristic", 7, k_max=9, transient=True).max_k == 9
    with pytest.raises(UnknownAliasError, match="Unknown specdec policy 'fixd'. Available: fixed, heuristic"):
        make_policy("fixd", 3)
    with pytest.raises(TypeError, match="policy_params"):
        make_policy("fixed", 3, params={"alpha": 1})
    with pytest.raises(ValueError, match="k: must be an integer >= 0"):
        make_policy("fixed", -1)
