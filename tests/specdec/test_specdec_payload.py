"""Wire format: messages round-trip and their sizes are what the docs say."""

from __future__ import annotations

import torch

from jointbench.specdec import payload


def test_draft_ids_only_roundtrip_and_size():
    data = payload.encode_draft([5, 0, 49151])
    assert len(data) == 8 + 4 * 3
    assert payload.decode_draft(data) == ([5, 0, 49151], None)


def test_draft_with_distribution_roundtrip_is_exact():
    q = torch.softmax(torch.randn(3, 11, generator=torch.Generator().manual_seed(0)), -1)
    data = payload.encode_draft([1, 2, 3], q)
    assert len(data) == 8 + 4 * 3 + 4 * 3 * 11
    ids, q_back = payload.decode_draft(data)
    assert ids == [1, 2, 3]
    assert q_back is not None and torch.equal(q_back, q)


def test_empty_draft_prompt_and_verdict():
    assert payload.decode_draft(payload.encode_draft([])) == ([], None)
    assert payload.decode_prompt(payload.encode_prompt([7, 8, 9])) == [7, 8, 9]
    assert len(payload.encode_prompt([7, 8, 9])) == 4 + 12
    assert payload.decode_verdict(payload.encode_verdict(4, 123)) == (4, 123)
    assert len(payload.encode_verdict(4, 123)) == 8
