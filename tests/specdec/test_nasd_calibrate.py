"""NASD calibration: per-position acceptance from traces, a disjoint prompt split, shipped tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jointbench.netsim.configfiles import config_dir
from jointbench.specdec.nasd_calibrate import (
    DEFAULT_TEST_SET,
    acceptance_from_match_lengths,
    calibration_prompts,
    table_path,
)
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
