"""Draft at the edge, verify at the cloud: the speculative-decoding loop on real models.

One :class:`SpecDecoder` holds a target and a draft, each with its own KV cache, and
runs three strategies with one result type:

- ``speculative``: the edge drafts ``K`` tokens (``K`` from a draft-length policy),
  the cloud verifies all ``K`` in ONE target forward pass and accepts by
  :mod:`~jointbench.specdec.sampling`, both caches roll back with
  ``DynamicCache.crop``. Co-located and edge-cloud speculative decoding compute the
  same thing; they differ only in the network delays a virtual clock adds later.
- ``cloud-only``: the target decodes alone and streams each token.
- ``edge-only``: the draft decodes alone (quality changes; not lossless).

Nothing here sleeps or knows the network: every cycle records its measured compute
times (``time.perf_counter``) and the encoded sizes of the messages it would send, so
a simulated link can be composed afterwards without re-running the models.

Cache invariant of the speculative loop: after a cycle, the target cache holds all
committed tokens but the last, and the draft cache holds a prefix of them; the next
draft and verify forwards feed whatever their model has not cached yet.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Literal, Sequence

import torch

from jointbench.specdec import payload
from jointbench.specdec.lm import CachedLM
from jointbench.specdec.policy import DraftLengthPolicy, DraftState, clip_k
from jointbench.specdec.results import STRATEGIES, CycleRecord, GenerationResult, Strategy
from jointbench.specdec.sampling import (
    greedy_verify,
    probs_from_logits,
    sample,
    speculative_verify,
)


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def _vocab_size(model: Any) -> int:
    return int(model.config.get_text_config().vocab_size)


class SpecDecoder:
    """Speculative, cloud-only and edge-only decoding over one target/draft pair.

    Parameters
    ----------
    target, draft : transformers.PreTrainedModel
        Causal LMs with the same tokenizer (batch size 1, CPU). ``draft`` may be
        ``None`` for cloud-only use. Logits are cut to the smaller LM-head size.
    eos_token_ids : sequence of int
        Ids that end a generation (also stop drafting).
    temperature : float
        0 for greedy decoding and ids-only drafts; ``> 0`` samples from
        ``softmax(logits / T)`` and sends draft distributions with the ids.
    draft_feed : {"chunk", "token"}
        How the draft catches up after a fully accepted block (it has not seen the
        last draft and the bonus token). "chunk" feeds both in one forward, as
        transformers does. "token" feeds every generated token in its own forward
        (one extra draft step per fully accepted block), the canonical chunking that
        :mod:`~jointbench.specdec.trace` replays exactly even for drafts whose output
        depends on chunking (dynamic int8: one activation scale per input tensor).
    """

    def __init__(
        self,
        target: Any,
        draft: Any | None,
        eos_token_ids: Sequence[int] = (),
        temperature: float = 0.0,
        draft_feed: Literal["chunk", "token"] = "chunk",
    ) -> None:
        if temperature < 0:
            raise ValueError("temperature must be >= 0")
        if draft_feed not in ("chunk", "token"):
            raise ValueError("draft_feed must be 'chunk' or 'token'")
        self.draft_feed = draft_feed
        vocab = min(_vocab_size(m) for m in (target, draft) if m is not None)
        self.target_lm = CachedLM(target, vocab)
        self.draft_lm = CachedLM(draft, vocab) if draft is not None else None
        self.eos = frozenset(int(i) for i in eos_token_ids)
        self.temperature = float(temperature)

    @property
    def greedy(self) -> bool:
        """True at temperature 0."""
        return self.temperature == 0.0

    def generate(
        self,
        strategy: Strategy,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        policy: DraftLengthPolicy | None = None,
        seed: int = 0,
    ) -> GenerationResult:
        """Dispatch to :meth:`speculative`, :meth:`cloud_only` or :meth:`edge_only`."""
        if strategy == "speculative":
            if policy is None:
                raise ValueError("the speculative strategy needs a draft-length policy")
            return self.speculative(prompt_ids, max_new_tokens, policy, seed=seed)
        if strategy == "cloud-only":
            return self.cloud_only(prompt_ids, max_new_tokens, seed=seed)
        if strategy == "edge-only":
            return self.edge_only(prompt_ids, max_new_tokens, seed=seed)
        raise KeyError(f"Unknown strategy '{strategy}'. Available: {', '.join(STRATEGIES)}")

    def _pick(self, logits: torch.Tensor, gen: torch.Generator) -> tuple[int, torch.Tensor | None]:
        """Next token from one logits row: argmax, or a sample plus its distribution."""
        if self.greedy:
            return int(logits.argmax()), None
        probs = probs_from_logits(logits, self.temperature)
        return sample(probs, gen), probs

    @staticmethod
    def _catch_up(lm: CachedLM, feed: list[int], prompt_len: int) -> list[int]:
        """Cache ``feed[:-1]`` canonically (prompt[:-1] as one chunk, then single tokens)."""
        while len(feed) > 1:
            n = max(1, prompt_len - 1 - lm.length)
            lm.forward(feed[:n], 1)
            feed = feed[n:]
        return feed

    def _require_draft(self) -> CachedLM:
        if self.draft_lm is None:
            raise ValueError("this strategy needs a draft model")
        return self.draft_lm

    def speculative(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        policy: DraftLengthPolicy,
        seed: int = 0,
        on_cycle: Callable[[CycleRecord], None] | None = None,
        separate_prefill: bool = True,
    ) -> GenerationResult:
        """Edge drafts, cloud verifies, until ``max_new_tokens`` or EOS.

        Parameters
        ----------
        prompt_ids : sequence of int
            Non-empty prompt.
        max_new_tokens : int
            ``>= 1``.
        policy : DraftLengthPolicy
            Asked for ``K`` before every cycle, told the outcome after it; reset first.
        seed : int
            Seeds the edge's (drafting) and the cloud's (acceptance) generators.
        on_cycle : callable, optional
            Called with each :class:`CycleRecord` after it is committed, with both caches
            already rolled back (hook for a virtual clock or a test).
        separate_prefill : bool
            True runs both prefills as their own timed stages (the cloud can prefill
            while the edge drafts). False folds the prompt into the first draft step
            and the first verify pass, one forward each, as transformers does.
        """
        draft_lm, target_lm = self._require_draft(), self.target_lm
        prompt = [int(t) for t in prompt_ids]
        if not prompt or max_new_tokens < 1:
            raise ValueError("need a non-empty prompt and max_new_tokens >= 1")
        gen_edge = torch.Generator().manual_seed(seed)
        gen_cloud = torch.Generator().manual_seed(seed + 1)
        start = time.perf_counter()
        policy.reset()

        cloud_prefill_ms = edge_prefill_ms = 0.0
        target_lm.reset()
        draft_lm.reset()
        if separate_prefill:
            t0 = time.perf_counter()
            target_lm.prefill(prompt[:-1])
            cloud_prefill_ms = _ms_since(t0)
            t0 = time.perf_counter()
            draft_lm.prefill(prompt[:-1])
            edge_prefill_ms = _ms_since(t0)

        committed = list(prompt)
        cycles: list[CycleRecord] = []
        stop: Literal["eos", "length"] = "length"
        while len(committed) - len(prompt) < max_new_tokens:
            generated = len(committed) - len(prompt)
            remaining = max_new_tokens - generated
            k = clip_k(policy.next_k(DraftState(len(cycles), generated, remaining)), remaining)

            # Edge: draft k tokens from the committed prefix.
            t0 = time.perf_counter()
            feed = committed[draft_lm.length :]
            if self.draft_feed == "token" and k > 0:
                feed = self._catch_up(draft_lm, feed, len(prompt))
            drafts: list[int] = []
            q_rows: list[torch.Tensor] = []
            for _ in range(k):
                tok, q = self._pick(draft_lm.forward(feed, 1)[-1], gen_edge)
                drafts.append(tok)
                if q is not None:
                    q_rows.append(q)
                feed = [tok]
                if tok in self.eos:
                    break
            up = payload.encode_draft(drafts, torch.stack(q_rows) if q_rows else None)
            edge_ms = _ms_since(t0)

            # Cloud: one forward over [uncached committed, drafts], accept, roll back.
            t0 = time.perf_counter()
            ids, q_hat = payload.decode_draft(up)
            feed = [*committed[target_lm.length :], *ids]
            logits = target_lm.forward(feed, num_logits=len(ids) + 1)
            if self.greedy:
                n, nxt = greedy_verify(ids, logits)
            else:
                n, nxt = speculative_verify(
                    ids, q_hat, probs_from_logits(logits, self.temperature), gen_cloud
                )
            target_lm.crop(len(committed) + n)
            down = payload.encode_verdict(n, nxt)
            cloud_ms = _ms_since(t0)

            # Edge: commit the verdict and roll the draft cache back to the new prefix.
            n, nxt = payload.decode_verdict(down)
            new = drafts[:n] if n and drafts[n - 1] in self.eos else [*drafts[:n], nxt]
            committed.extend(new)
            draft_lm.crop(min(draft_lm.length, len(committed) - 1))
            record = CycleRecord(k, len(drafts), n, new, edge_ms, cloud_ms, len(up), len(down))
            cycles.append(record)
            policy.update(len(drafts), n)
            if on_cycle is not None:
                on_cycle(record)
            if new[-1] in self.eos:
                stop = "eos"
                break

        return GenerationResult(
            strategy="speculative",
            prompt_len=len(prompt),
            tokens=committed[len(prompt) :],
            stop=stop,
            temperature=self.temperature,
            edge_prefill_ms=edge_prefill_ms,
            cloud_prefill_ms=cloud_prefill_ms,
            prompt_bytes=len(payload.encode_prompt(prompt)),
            cycles=cycles,
            wall_ms=_ms_since(start),
        )

    def _autoregressive(
        self, role: Literal["edge", "cloud"], prompt_ids: Sequence[int], max_new_tokens: int, seed: int
    ) -> GenerationResult:
        lm = self._require_draft() if role == "edge" else self.target_lm
        prompt = [int(t) for t in prompt_ids]
        if not prompt or max_new_tokens < 1:
            raise ValueError("need a non-empty prompt and max_new_tokens >= 1")
        gen = torch.Generator().manual_seed(seed)
        start = time.perf_counter()
        t0 = time.perf_counter()
        lm.reset()
        tok, _ = self._pick(lm.forward(prompt, 1)[-1], gen)
        prefill_ms = _ms_since(t0)
        tokens = [tok]
        cycles: list[CycleRecord] = []
        down = payload.TOKEN_BYTES if role == "cloud" else 0
        while tok not in self.eos and len(tokens) < max_new_tokens:
            t0 = time.perf_counter()
            tok, _ = self._pick(lm.forward([tok], 1)[-1], gen)
            step_ms = _ms_since(t0)
            tokens.append(tok)
            edge_ms, cloud_ms = (step_ms, 0.0) if role == "edge" else (0.0, step_ms)
            cycles.append(CycleRecord(0, 0, 0, [tok], edge_ms, cloud_ms, 0, down))
        return GenerationResult(
            strategy="edge-only" if role == "edge" else "cloud-only",
            prompt_len=len(prompt),
            tokens=tokens,
            stop="eos" if tok in self.eos else "length",
            temperature=self.temperature,
            edge_prefill_ms=prefill_ms if role == "edge" else 0.0,
            cloud_prefill_ms=prefill_ms if role == "cloud" else 0.0,
            prompt_bytes=len(payload.encode_prompt(prompt)) if role == "cloud" else 0,
            first_token_bytes=down,
            first_token_in_prefill=True,
            cycles=cycles,
            wall_ms=_ms_since(start),
        )

    def cloud_only(self, prompt_ids: Sequence[int], max_new_tokens: int, seed: int = 0) -> GenerationResult:
        """The target decodes alone (one token per forward), streaming each token down."""
        return self._autoregressive("cloud", prompt_ids, max_new_tokens, seed)

    def edge_only(self, prompt_ids: Sequence[int], max_new_tokens: int, seed: int = 0) -> GenerationResult:
        """The draft decodes alone on the edge: no network, draft-model quality."""
        return self._autoregressive("edge", prompt_ids, max_new_tokens, seed)
