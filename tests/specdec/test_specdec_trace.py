"""Record once at T=0, replay any policy: replay equals a live engine run."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

pytest.importorskip("transformers")

from jointbench.specdec.engine import SpecDecoder  # noqa: E402
from jointbench.specdec.tiny import tiny_random_pair  # noqa: E402
from jointbench.specdec import FixedK, HeuristicK  # noqa: E402
from jointbench.specdec.trace import (  # noqa: E402
    GreedyTrace,
    TraceIncompleteError,
    record_trace,
    replay,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _live(dec: SpecDecoder, prompt: list[int], n: int, policy, separate_prefill: bool = True) -> list[tuple]:
    res = dec.speculative(prompt, n, policy, separate_prefill=separate_prefill)
    return [(c.k, c.drafted, c.accepted, tuple(c.tokens)) for c in res.cycles]


def _replayed(trace: GreedyTrace, policy, n: int | None = None) -> list[tuple]:
    return [(c.k, c.drafted, c.accepted, c.tokens) for c in replay(trace, policy, n)]


# vocab 8 with noticeable noise makes EOS (id 0) frequent, also mid-draft
@pytest.mark.parametrize(
    "vocab, noise, seed, feed",
    [(256, 0.02, 0, "token"), (256, 0.02, 0, "chunk"), (8, 0.1, 2, "token"), (8, 0.1, 0, "chunk")],
)
def test_replay_equals_live_run(vocab, noise, seed, feed):
    pair = tiny_random_pair(vocab_size=vocab, seed=seed, draft_noise=noise)
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed=feed)
    early_eos = 0
    for p in range(3):
        prompt = torch.randint(1, vocab, (5,), generator=torch.Generator().manual_seed(p)).tolist()
        trace = record_trace(dec, prompt, 32)
        assert trace.target_tokens == dec.cloud_only(prompt, 32).tokens
        for policy in [FixedK(1), FixedK(3), FixedK(5), HeuristicK(start=3), HeuristicK()]:
            live = _live(dec, prompt, 32, policy)
            assert _replayed(trace, policy) == live, (p, policy)
            early_eos += any(d < k and a < d for k, d, a, _ in live)
    if vocab == 8:
        assert early_eos > 0  # a draft that stops at its own EOS is covered
    if feed == "token":  # canonical chunking does not depend on how the prompt is prefilled
        assert _replayed(trace, FixedK(3)) == _live(dec, prompt, 32, FixedK(3), separate_prefill=False)


def test_replay_with_a_smaller_budget_equals_live_run():
    pair = tiny_random_pair(vocab_size=256, seed=1)
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids)
    prompt = [3, 14, 15, 92, 65]
    trace = record_trace(dec, prompt, 40)
    for n in (1, 7, 23):
        assert _replayed(trace, FixedK(4), n) == _live(dec, prompt, n, FixedK(4))
    with pytest.raises(ValueError):
        replay(trace, FixedK(4), 41)


def test_detached_trace_roundtrips_through_json():
    pair = tiny_random_pair(vocab_size=8, seed=2, draft_noise=0.1)
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids)
    prompt = [1, 2, 3, 4]
    trace = record_trace(dec, prompt, 32, horizon=6)
    expected = {k: _live(dec, prompt, 32, FixedK(k)) for k in (2, 6)}
    loaded = GreedyTrace.from_dict(json.loads(json.dumps(trace.to_dict())))
    assert loaded.decoder is None
    for k, live in expected.items():
        assert _replayed(loaded, FixedK(k)) == live
    lazy = GreedyTrace.from_dict(record_trace(dec, prompt, 32).to_dict())
    with pytest.raises(TraceIncompleteError):
        replay(lazy, FixedK(30))


def test_recording_costs_about_one_draft_pass():
    """Shifted reuse: far fewer draft steps than re-drafting from every position."""
    pair = tiny_random_pair(vocab_size=256, seed=0, draft_noise=0.0)  # draft == target
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids)
    trace = record_trace(dec, [5, 6, 7], 30)
    assert trace.match_len[0] == len(trace.target_tokens)
    assert trace.draft_forwards == len(trace.target_tokens)
