"""Test-set formats: jsonl (dict and string questions), metadata.json, txt index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jointbench.runner.datasource import load_test_set
from jointbench.runner.errors import RunnerError


def test_jsonl_dict_questions_become_object_array(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text('{"question": {"a": 1}, "answer": "X", "extra": 0}\n{"question": {"a": 2}, "answer": "Y"}\n')
    ds = load_test_set(str(f), "jsonl")
    assert ds.x.dtype == object and ds.x[1] == {"a": 2}
    assert list(ds.y) == ["X", "Y"]


def test_jsonl_string_questions_are_numpy_str(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text('{"question": "hi", "answer": "A"}\n')
    ds = load_test_set(str(f), "jsonl")
    assert isinstance(ds.x[0], np.str_) and ds.x.dtype.kind == "U"


def test_jsonl_row_without_answer_names_line(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text('{"question": "q", "answer": "A"}\n{"question": "q"}\n')
    with pytest.raises(RunnerError, match=r"t\.jsonl:2: .*'answer'"):
        load_test_set(str(f), "jsonl")


def test_metadata_json_prepends_prompt(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps(
        {"dataset": "d", "description": "x", "level_1_dim": "a", "level_2_dim": "b"}))
    rows = [{"prompt": "P: ", "query": "q1", "response": "r1", "level_3_dim": "", "level_4_dim": ""},
            {"query": "q2", "response": "r2", "level_3_dim": "", "level_4_dim": ""}]
    (tmp_path / "data.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ds = load_test_set(str(tmp_path / "metadata.json"), "metadata")
    assert list(ds.x) == ["P: q1", "q2"] and list(ds.y) == ["r1", "r2"]


def test_txt_index_rewrites_every_token_into_a_path(tmp_path):
    (tmp_path / "index.txt").write_text("img/a.png 3\n")
    ds = load_test_set(str(tmp_path / "index.txt"), "index")
    assert ds.x[0] == str(tmp_path / "img" / "a.png")
    assert ds.y[0] == str(tmp_path / "3")  # Ianvs turns the label into a path too (contract C11)
