"""Draft-length policies: fixed K and transformers' heuristic schedule."""

from __future__ import annotations

import pytest

from jointbench.specdec.policy import (
    HF_DEFAULT_NUM_ASSISTANT_TOKENS,
    DraftLengthPolicy,
    DraftState,
    FixedK,
    HeuristicK,
    clip_k,
)

STATE = DraftState(cycle=0, generated=0, remaining=100)


def test_fixed_k_is_constant_and_a_policy():
    policy = FixedK(3)
    assert isinstance(policy, DraftLengthPolicy)
    for accepted in (0, 3, 1):
        policy.update(3, accepted)
        assert policy.next_k(STATE) == 3
    with pytest.raises(ValueError):
        FixedK(-1)


def test_heuristic_schedule_plus_two_minus_one_floor_one():
    policy = HeuristicK(start=3)
    assert isinstance(policy, DraftLengthPolicy)
    seen = []
    for drafted, accepted in [(3, 3), (5, 5), (7, 2), (6, 0), (5, 4), (4, 0), (3, 0), (2, 0), (1, 0), (1, 1)]:
        seen.append(policy.next_k(STATE))
        policy.update(drafted, accepted)
    assert seen == [3, 5, 7, 6, 5, 4, 3, 2, 1, 1]
    assert policy.next_k(STATE) == 3


def test_heuristic_full_accept_counts_drafted_not_requested():
    # transformers compares num_matches with the candidate length actually drafted
    policy = HeuristicK(start=10)
    policy.update(num_drafted=2, num_accepted=2)
    assert policy.next_k(STATE) == 12


def test_heuristic_default_start_is_transformers_default():
    assert HeuristicK().next_k(STATE) == HF_DEFAULT_NUM_ASSISTANT_TOKENS == 20


def test_heuristic_transient_vs_persistent_and_cap():
    transient, persistent = HeuristicK(start=4), HeuristicK(start=4, transient=False)
    for policy in (transient, persistent):
        policy.update(4, 4)
        policy.reset()
    assert transient.next_k(STATE) == 4
    assert persistent.next_k(STATE) == 6
    capped = HeuristicK(start=4, max_k=5)
    capped.update(4, 4)
    assert capped.next_k(STATE) == 5


def test_clip_k_never_overshoots_the_budget():
    assert clip_k(5, remaining=3) == 2
    assert clip_k(5, remaining=1) == 0
    assert clip_k(2, remaining=10) == 2
    assert clip_k(-3, remaining=10) == 0
