"""The speculative-decoding loop on tiny random-init Llama pairs (no weights needed)."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

pytest.importorskip("transformers")

from jointbench.records import SampleRecord  # noqa: E402
from jointbench.specdec.codec import make_codec  # noqa: E402
from jointbench.specdec.engine import SpecDecoder  # noqa: E402
from jointbench.specdec.lm import CachedLM  # noqa: E402
from jointbench.specdec.tiny import tiny_random_lm, tiny_random_pair  # noqa: E402
from jointbench.specdec import FixedK, HeuristicK  # noqa: E402

POLICIES = [FixedK(1), FixedK(3), FixedK(5), HeuristicK(start=2), HeuristicK()]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _prompt(vocab: int, seed: int, length: int = 5) -> list[int]:
    return torch.randint(1, vocab, (length,), generator=torch.Generator().manual_seed(seed)).tolist()


@pytest.mark.parametrize("vocab, noise", [(256, 0.02), (12, 0.05)])
def test_greedy_speculative_equals_cloud_only(vocab, noise):
    """T=0: every speculative policy commits exactly the target's greedy tokens."""
    pair = tiny_random_pair(vocab_size=vocab, seed=0, draft_noise=noise)
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids)
    stops = set()
    partial = 0
    for seed in range(3):
        prompt = _prompt(vocab, seed)
        ref = dec.cloud_only(prompt, 40)
        stops.add(ref.stop)
        for policy in POLICIES:
            res = dec.speculative(prompt, 40, policy)
            assert res.tokens == ref.tokens, (vocab, seed, policy)
            assert res.stop == ref.stop
            assert sum(len(c.tokens) for c in res.cycles) == len(res.tokens)
            assert all(0 <= c.accepted <= c.drafted <= c.k for c in res.cycles)
            partial += 0 < res.accepted < res.drafted
        folded = dec.speculative(prompt, 40, FixedK(3), separate_prefill=False)
        assert folded.tokens == ref.tokens and folded.cloud_prefill_ms == folded.edge_prefill_ms == 0.0
    assert partial > 0  # drafts are neither always right nor always wrong
    if vocab == 12:
        assert "eos" in stops  # the EOS path is exercised


def test_edge_only_is_the_draft_alone():
    pair = tiny_random_pair(vocab_size=256, seed=0, draft_noise=0.05)
    prompt = _prompt(256, 0)
    edge = SpecDecoder(pair.target, pair.draft).edge_only(prompt, 24)
    as_cloud = SpecDecoder(pair.draft, None).cloud_only(prompt, 24)
    cloud = SpecDecoder(pair.target, None).cloud_only(prompt, 24)
    assert edge.tokens == as_cloud.tokens
    assert edge.tokens != cloud.tokens  # lossy: the draft is a different model
    assert edge.prompt_bytes == 0 and all(c.bytes_up == c.bytes_down == 0 for c in edge.cycles)


def _assert_same_kv(lm: CachedLM, model, tokens: list[int]) -> None:
    fresh = CachedLM(model)
    fresh.prefill(tokens)
    assert lm.tokens == tokens
    for (k1, v1), (k2, v2) in zip(lm.key_values(), fresh.key_values()):
        assert k1.shape == k2.shape
        assert torch.allclose(k1, k2, atol=1e-5) and torch.allclose(v1, v2, atol=1e-5)


@pytest.mark.parametrize("temperature, separate_prefill", [(0.0, True), (1.0, True), (0.0, False)])
def test_kv_rollback_equals_fresh_prefill(temperature, separate_prefill):
    """After every cycle, both caches equal a fresh prefill of the committed prefix."""
    pair = tiny_random_pair(vocab_size=64, seed=1, draft_noise=0.05, eos=False)
    dec = SpecDecoder(pair.target, pair.draft, temperature=temperature)
    prompt = _prompt(64, 3)
    committed = list(prompt)
    rejections = 0

    def check(record) -> None:
        nonlocal rejections
        committed.extend(record.tokens)
        rejections += record.accepted < record.drafted
        assert dec.target_lm.length == len(committed) - 1
        _assert_same_kv(dec.target_lm, pair.target, committed[:-1])
        assert dec.draft_lm.length <= len(committed) - 1
        _assert_same_kv(dec.draft_lm, pair.draft, committed[: dec.draft_lm.length])

    dec.speculative(prompt, 30, FixedK(4), on_cycle=check, separate_prefill=separate_prefill)
    assert rejections >= 2  # rollbacks really happened


def test_cached_lm_crop_then_continue_matches_full_forward():
    pair = tiny_random_pair(vocab_size=64, seed=2)
    ids = _prompt(64, 0, length=12)
    lm = CachedLM(pair.target)
    lm.prefill(ids[:10])
    lm.crop(6)
    logits = lm.forward(ids[6:], num_logits=6)
    with torch.no_grad():
        full = pair.target(torch.tensor([ids])).logits[0, -6:]
    assert torch.allclose(logits, full, atol=1e-4)
    assert lm.tokens == ids and lm.chunk_sizes == [10] * 6 + [6] * 6


def test_payload_sizes_and_record_fields():
    pair = tiny_random_pair(vocab_size=256, seed=0)
    prompt = _prompt(256, 1)
    greedy = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids).speculative(prompt, 20, FixedK(3))
    assert all(c.bytes_up == 8 + 4 * c.drafted and c.bytes_down == 8 for c in greedy.cycles)
    sampled = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, temperature=0.8).speculative(
        prompt, 20, FixedK(3)
    )
    assert all(c.bytes_up == 8 + 4 * c.drafted * (1 + 256) for c in sampled.cycles if c.drafted)
    assert all(c.bytes_up == 8 for c in sampled.cycles if not c.drafted)
    fields = greedy.record_fields()
    assert fields["tokens_out"] == len(greedy.tokens) == 20
    assert fields["drafted"] == greedy.drafted and fields["accepted"] == greedy.accepted
    assert fields["cycles"] == len(greedy.cycles)
    assert fields["bytes_up"] == 4 + 4 * len(prompt) + sum(c.bytes_up for c in greedy.cycles)
    assert fields["latency_ms"] >= fields["ttft_ms"] > 0
    assert fields["route"] == "both"
    record = SampleRecord(sample_id="q0", **fields).to_dict()
    assert record["tokens_out"] == 20 and record["extras"]["k_per_cycle"][0] == 3


def test_sampling_is_seeded():
    pair = tiny_random_pair(vocab_size=64, seed=0, draft_noise=0.2)
    dec = SpecDecoder(pair.target, pair.draft, temperature=1.0)
    prompt = _prompt(64, 0)
    a = dec.speculative(prompt, 16, FixedK(3), seed=5).tokens
    b = dec.speculative(prompt, 16, FixedK(3), seed=5).tokens
    c = dec.speculative(prompt, 16, FixedK(3), seed=6).tokens
    assert a == b and a != c


@pytest.mark.parametrize("codec", ["dense_fp32", "dense_fp16"])
def test_engine_sampling_matches_target_distribution_chi_square(codec):
    """T=1 through the real loop and each codec: the law of 2 generated tokens is the target's (16 cells)."""
    vocab, draws = 4, 1500
    # Two unrelated models with a mild init: flat enough for every cell to be populated.
    target = tiny_random_lm(vocab, seed=3, init_std=0.1)
    draft = tiny_random_lm(vocab, seed=4, init_std=0.1)
    dec = SpecDecoder(target, draft, temperature=1.0)
    prompt = [1, 2, 3]
    with torch.no_grad():
        p1 = torch.softmax(target(torch.tensor([prompt])).logits[0, -1].double(), -1)
        joint = {}
        for a in range(vocab):
            p2 = torch.softmax(target(torch.tensor([prompt + [a]])).logits[0, -1].double(), -1)
            for b in range(vocab):
                joint[(a, b)] = float(p1[a] * p2[b])
    cells = list(itertools.product(range(vocab), repeat=2))
    counts = np.zeros(len(cells))
    rejected = 0
    for seed in range(draws):
        res = dec.speculative(prompt, 2, FixedK(2), seed=seed, codec=make_codec(codec))
        counts[cells.index(tuple(res.tokens))] += 1
        rejected += res.cycles[0].accepted < res.cycles[0].drafted
    expected = np.array([joint[c] for c in cells])
    expected *= draws / expected.sum()
    assert 0.2 * draws < rejected < 0.8 * draws  # the residual path is exercised
    assert expected.min() > 5
    assert chisquare(counts, expected).pvalue > 1e-3


def _draft_feed_lengths(draft, run) -> list[int]:
    """Input lengths of every draft forward during ``run()``."""
    seen: list[int] = []
    handle = draft.register_forward_pre_hook(lambda _m, _a, kw: seen.append(kw["input_ids"].shape[1]),
                                             with_kwargs=True)
    try:
        run()
    finally:
        handle.remove()
    return seen


@pytest.mark.parametrize("noise", [0.02, 0.1])
def test_chunk_feed_runs_the_draft_forwards_of_transformers_assisted_generation(noise):
    """draft_feed="chunk" feeds the draft exactly what transformers' assisted generation feeds it
    (the reason engine and HF compute the same drafts, even for a chunking-dependent int8 draft);
    the control, draft_feed="token", must differ."""
    pair = tiny_random_pair(vocab_size=256, seed=3, draft_noise=noise)  # EOS 0, as in its config
    prompt, n, k = [5, 17, 99, 3, 42, 7], 30, 3
    pair.draft.generation_config.num_assistant_tokens = k
    pair.draft.generation_config.num_assistant_tokens_schedule = "constant"
    pair.draft.generation_config.assistant_confidence_threshold = 0.0
    ids = torch.tensor([prompt])
    hf_out: list[list[int]] = []

    def hf() -> None:
        with torch.inference_mode():
            out = pair.target.generate(ids, attention_mask=torch.ones_like(ids), assistant_model=pair.draft,
                                       do_sample=False, max_new_tokens=n, pad_token_id=0)
        hf_out.append(out[0, len(prompt):].tolist())

    hf_feeds = _draft_feed_lengths(pair.draft, hf)
    feeds, tokens = {}, {}
    for feed in ("chunk", "token"):
        dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed=feed)
        res: list = []
        feeds[feed] = _draft_feed_lengths(
            pair.draft, lambda: res.append(dec.speculative(prompt, n, FixedK(k), separate_prefill=False)))
        tokens[feed] = res[0].tokens
    assert tokens["chunk"] == tokens["token"] == hf_out[0]
    assert feeds["chunk"] == hf_feeds
    assert feeds["token"] != hf_feeds
