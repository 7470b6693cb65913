"""NASD calibration: per-position acceptance from traces, a disjoint prompt split, shipped tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jointbench.netsim.configfiles import config_dir
from types import SimpleNamespace

import numpy as np

from jointbench.specdec.nasd_calibrate import (
    DEFAULT_TEST_SET,
    acceptance_from_match_lengths,
    acceptance_from_replays,
    calibration_prompts,
    decreasing_fit,
    table_path,
)
from jointbench.specdec.trace import GreedyTrace
from jointbench.specdec.nasd_table import NasdTable, TablePairMismatchError

REPO = Path(__file__).resolve().parents[2]


def test_acceptance_counts_only_positions_with_enough_tokens_left() -> None:
    # positions 0..4; match_len capped at the end (position 4 can match at most 1)
    prof = acceptance_from_match_lengths([[2, 1, 0, 2, 1]], k_max=3)
    # a_1: positions with > 1 token left: 0..3 -> matches >= 1 at 0, 1, 3 -> 3/4
    # a_2: positions with > 2 left: 0..2 -> matches >= 2 at 0 -> 1/3
    # a_3: positions with > 3 left: 0..1 -> none -> 0
    assert prof.a == pytest.approx((0.75, 1 / 3, 0.0)) and prof.n_positions == 4
    # a running minimum keeps it a probability of "the first j all accepted"
    assert acceptance_from_match_lengths([[0, 5, 4, 3, 2, 1, 0, 0]], 3).a[1] <= \
        acceptance_from_match_lengths([[0, 5, 4, 3, 2, 1, 0, 0]], 3).a[0]
    with pytest.raises(ValueError, match="no position"):
        acceptance_from_match_lengths([[0]], 2)


def _synthetic_trace(match_len: list[int]) -> SimpleNamespace:
    n = len(match_len)
    greedy = GreedyTrace([1], list(range(10, 10 + n)), "length", n, list(match_len), list(range(n)),
                         {j: [99] * 40 for j in range(n)}, [0])
    return SimpleNamespace(greedy=greedy)


def _tokens_per_cycle(match_lens: list[list[int]], k: int) -> float:
    """Replay semantics written out: accept min(K, match), commit accepted + 1 (or the rest)."""
    sizes = []
    for ml in match_lens:
        j, n = 0, len(ml)
        while j < n:
            acc = min(k, ml[j], n - j, n - j - 1)
            step = n - j if acc == n - j - 1 and ml[j] >= n - j else acc + 1
            sizes.append(step)
            j += step
    return float(np.mean(sizes))


def test_pool_adjacent_violators() -> None:
    assert decreasing_fit([0.9, 0.5, 0.6, 0.2]) == pytest.approx([0.9, 0.55, 0.55, 0.2])
    assert decreasing_fit([1.2, -0.1]) == [1.0, 0.0]


def test_replay_estimator_reproduces_replayed_tokens_per_cycle() -> None:
    rng = np.random.default_rng(4)
    lens = []
    for _ in range(6):
        n = 60
        ml, j = [0] * n, 0
        while j < n:  # runs of agreement: the draft matches m tokens, then disagrees
            m = int(min(rng.geometric(0.25) - 1, n - j))
            for i in range(min(m + 1, n - j)):
                ml[j + i] = m - i
            j += m + 1
        lens.append(ml)
    traces = [_synthetic_trace(ml) for ml in lens]
    prof = acceptance_from_replays(traces, 8, 60)
    # exact where the increments were already non-increasing; within the isotonic fit elsewhere
    assert prof.expected_tokens(1) == pytest.approx(_tokens_per_cycle(lens, 1))
    for k in range(1, 9):
        assert prof.expected_tokens(k) == pytest.approx(_tokens_per_cycle(lens, k), rel=0.03), k
    # control: the all-positions estimator is a different (here larger) number at long drafts
    positions = acceptance_from_match_lengths(lens, 8)
    assert positions.expected_tokens(8) != pytest.approx(prof.expected_tokens(8), rel=0.03)


def test_calibration_prompts_are_disjoint_from_the_test_set(tmp_path: Path) -> None:
    test_file = REPO / DEFAULT_TEST_SET
    rows = calibration_prompts(12, 0, str(test_file))
    test = [json.loads(line)["question"] for line in test_file.read_text().splitlines() if line.strip()]
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12
    assert not {r["id"] for r in rows} & {q["id"] for q in test}
    assert not {r["prompt"] for r in rows} & {q["prompt"] for q in test}
    # control: a "test set" holding a calibration prompt is refused or avoided, never used
    clash = tmp_path / "clash.jsonl"
    clash.write_text(json.dumps({"question": {"id": rows[0]["id"], "prompt": "x"}, "answer": "A"}) + "\n")
    again = calibration_prompts(12, 0, str(clash))
    assert rows[0]["id"] not in {r["id"] for r in again} and len(again) == 12


def test_shipped_tables_load_with_their_tags_and_refuse_other_pairs() -> None:
    paths = sorted((config_dir() / "nasd").glob("*.json"))
    if not paths:
        pytest.skip("no table under configs/nasd/ (build one with python -m jointbench.specdec.nasd_calibrate)")
    for path in paths:
        table = NasdTable.load(path)
        assert table_path(table.pair, table.edge_hardware, table.cloud_hardware, table.formula) == path
        NasdTable.load(path, table.pair, table.edge_hardware, table.cloud_hardware)
        with pytest.raises(TablePairMismatchError, match=table.pair):
            NasdTable.load(path, "qwen2.5-1.5b-7b", table.edge_hardware, "cloud-gpu-7b")
        prompts = set(table.meta["prompts"])
        test = {json.loads(line)["question"]["id"] for line in (REPO / DEFAULT_TEST_SET).read_text().splitlines()
                if line.strip()}
        assert not prompts & test
