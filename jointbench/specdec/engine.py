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
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

import torch

from jointbench.specdec import payload
from jointbench.specdec.codec import DraftCodec, DraftStep, make_codec
from jointbench.specdec.drafting import commit_draft_cache, draft_block
from jointbench.specdec.lm import CachedLM
from jointbench.specdec.policy import CycleOutcome, DraftLengthPolicy, DraftState, clip_k
from jointbench.specdec.results import DECODE_MODES, CycleRecord, DecodeMode, GenerationResult
from jointbench.specdec.sampling import (
    greedy_verify,
    probs_from_logits,
    sample,
    speculative_verify,
)

if TYPE_CHECKING:
    from jointbench.specdec.nasd_stop import DraftStop


def cycle_codec_stats(steps: Sequence[DraftStep], q_hat: torch.Tensor | None, p: torch.Tensor | None,
                      message_bytes: int) -> dict[str, Any]:
    """One T>0 cycle's codec statistics, per drafted position (lists of length ``K``).

    ``tv`` is the analytic rejection probability ``TV(p, q_hat)`` at each drafted position
    (``p`` the cloud's distribution there, ``q_hat`` what it decoded); ``bits``,
    ``support_size``, ``dropped_mass`` and ``beta`` (the threshold the position used) come
    from bit-coded codecs (empty lists for dense ones); ``message_bits`` is the whole
    draft message (``8 x bytes``).
    """
    k = len(steps)
    tv = [] if q_hat is None or p is None or not k else (0.5 * (p[:k] - q_hat.to(p.dtype)).abs().sum(-1)).tolist()
    out: dict[str, Any] = {"tv": tv, "message_bits": 8 * int(message_bytes)}
    for key in ("bits", "support_size", "dropped_mass", "beta"):
        out[key] = [float(s.stats[key]) for s in steps if key in s.stats]
    return out


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
        How the draft catches up on the committed tokens before it drafts. "chunk"
        re-feeds the last two committed tokens (more after a fully accepted block)
        in one forward, exactly as transformers 5.x assisted generation does (it
        crops the assistant cache to ``len - 2``), so both compute the same drafts
        even for a dynamic-int8 draft. "token" feeds every generated token in its own forward
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
        mode: DecodeMode,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        policy: DraftLengthPolicy | None = None,
        seed: int = 0,
    ) -> GenerationResult:
        """Run :meth:`speculative`, :meth:`cloud_only` or :meth:`edge_only` by mode name."""
        if mode not in DECODE_MODES:
            raise KeyError(f"Unknown decode mode '{mode}'. Available: {', '.join(DECODE_MODES)}")
        if mode == "speculative":
            if policy is None:
                raise ValueError("the speculative mode needs a draft-length policy")
            return self.speculative(prompt_ids, max_new_tokens, policy, seed=seed)
        return self._autoregressive("cloud" if mode == "cloud-only" else "edge", prompt_ids, max_new_tokens, seed)

    def _pick(self, logits: torch.Tensor, gen: torch.Generator) -> tuple[int, torch.Tensor | None]:
        """Next token from one logits row: argmax, or a sample plus its distribution."""
        if self.greedy:
            return int(logits.argmax()), None
        probs = probs_from_logits(logits, self.temperature)
        return sample(probs, gen), probs

    def _require_draft(self) -> CachedLM:
        if self.draft_lm is None:
            raise ValueError("this strategy needs a draft model")
        return self.draft_lm

    def start(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        codec: DraftCodec | None = None,
        seed: int = 0,
        separate_prefill: bool = True,
    ) -> SpecRun:
        """Begin a speculative generation driven cycle by cycle (:meth:`SpecRun.cycle`).

        Parameters
        ----------
        prompt_ids : sequence of int
            Non-empty prompt.
        max_new_tokens : int
            ``>= 1``.
        codec : DraftCodec, optional
            What the edge sends (default: ``ids_only`` at T=0, ``dense_fp32`` otherwise).
        seed : int
            Seeds the edge's (drafting) and the cloud's (acceptance) generators.
        separate_prefill : bool
            True runs both prefills as their own timed stages (the cloud can prefill
            while the edge drafts). False folds the prompt into the first draft step
            and the first verify pass, one forward each, as transformers does.
        """
        return SpecRun(self, prompt_ids, max_new_tokens, codec, seed, separate_prefill)

    def speculative(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        policy: DraftLengthPolicy,
        seed: int = 0,
        on_cycle: Callable[[CycleRecord], None] | None = None,
        separate_prefill: bool = True,
        codec: DraftCodec | None = None,
    ) -> GenerationResult:
        """Edge drafts, cloud verifies, until ``max_new_tokens`` or EOS (no clock).

        ``policy`` is reset, then asked for ``K`` before every cycle (a state without link
        fields) and told the outcome after it; a policy's ``draft_stop`` (NASD) ends the draft early.
        ``on_cycle`` is called with each :class:`CycleRecord` once committed. Other parameters as in
        :meth:`start`.
        """
        run = self.start(prompt_ids, max_new_tokens, codec, seed, separate_prefill)
        policy.reset()
        history: list[tuple[int, int]] = []
        while not run.done:
            generated = len(run.tokens)
            remaining = max_new_tokens - generated
            k = clip_k(policy.next_k(DraftState(len(run.cycles), generated, remaining, history=tuple(history))),
                       remaining)
            rec = run.cycle(k, getattr(policy, "draft_stop", None) if k > 0 else None)
            history.append((rec.drafted, rec.accepted))
            policy.update(CycleOutcome(rec.k, rec.drafted, rec.accepted, rec.bytes_up, rec.bytes_down))
            if on_cycle is not None:
                on_cycle(rec)
        return run.result()

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
            mode="edge-only" if role == "edge" else "cloud-only",
            prompt_len=len(prompt),
            tokens=tokens,
            stop="eos" if tok in self.eos else "length",
            temperature=self.temperature,
            edge_prefill_ms=prefill_ms if role == "edge" else 0.0,
            cloud_prefill_ms=prefill_ms if role == "cloud" else 0.0,
            prompt_bytes=payload.prompt_bytes(len(prompt)) if role == "cloud" else 0,
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


class SpecRun:
    """One speculative generation in progress (see :meth:`SpecDecoder.start`).

    Cache invariant: after a cycle, the target cache holds all committed tokens but the
    last, and the draft cache holds a prefix of them; the next draft and verify forwards
    feed whatever their model has not cached yet.
    """

    def __init__(self, dec: SpecDecoder, prompt_ids: Sequence[int], max_new_tokens: int,
                 codec: DraftCodec | None, seed: int, separate_prefill: bool) -> None:
        self.dec = dec
        self.draft_lm, self.target_lm = dec._require_draft(), dec.target_lm
        self.prompt = [int(t) for t in prompt_ids]
        if not self.prompt or max_new_tokens < 1:
            raise ValueError("need a non-empty prompt and max_new_tokens >= 1")
        self.max_new_tokens = int(max_new_tokens)
        self.codec = codec if codec is not None else make_codec("ids_only" if dec.greedy else "dense_fp32")
        self.codec.check_temperature(dec.temperature)
        self.codec.reset()  # per query: a sampled query's draws never depend on the ones before
        self.codec_stats: list[dict[str, Any]] = []
        """Per T>0 cycle: :func:`cycle_codec_stats` (bits, TV(p, q_hat), support, dropped mass, beta)."""
        self.gen_edge = torch.Generator().manual_seed(seed)
        self.gen_cloud = torch.Generator().manual_seed(seed + 1)
        self.t_start = time.perf_counter()
        self.cloud_prefill_ms = self.edge_prefill_ms = 0.0
        self.target_lm.reset()
        self.draft_lm.reset()
        if separate_prefill:
            t0 = time.perf_counter()
            self.target_lm.prefill(self.prompt[:-1])
            self.cloud_prefill_ms = _ms_since(t0)
            t0 = time.perf_counter()
            self.draft_lm.prefill(self.prompt[:-1])
            self.edge_prefill_ms = _ms_since(t0)
        self.committed = list(self.prompt)
        self.cycles: list[CycleRecord] = []
        self.stop: Literal["eos", "length"] = "length"
        self._ended = False

    @property
    def tokens(self) -> list[int]:
        """Tokens committed so far."""
        return self.committed[len(self.prompt):]

    @property
    def done(self) -> bool:
        """True after EOS or ``max_new_tokens``."""
        return self._ended or len(self.committed) - len(self.prompt) >= self.max_new_tokens

    def cycle(self, k: int, stop: DraftStop | None = None) -> CycleRecord:
        """Draft ``k`` tokens (already clipped; fewer at EOS or when ``stop`` ends the draft), send, verify,
        commit; return the cycle."""
        dec, draft_lm, target_lm, codec = self.dec, self.draft_lm, self.target_lm, self.codec
        committed, eos = self.committed, dec.eos
        # Edge: draft k tokens from the committed prefix.
        t0 = time.perf_counter()
        drafts, steps, up = draft_block(draft_lm, committed, k, dec.draft_feed, len(self.prompt), dec.temperature,
                                        codec, self.gen_edge, eos, stop)
        edge_ms = _ms_since(t0)

        # Cloud: one forward over [uncached committed, drafts], accept, roll back.
        t0 = time.perf_counter()
        ids, q_hat = codec.decode(up)
        logits = target_lm.forward([*committed[target_lm.length:], *ids], num_logits=len(ids) + 1)
        if dec.greedy:
            n, nxt = greedy_verify(ids, logits)
        else:
            p = probs_from_logits(logits, dec.temperature)
            n, nxt = speculative_verify(ids, q_hat, p, self.gen_cloud)
        target_lm.crop(len(committed) + n)
        down = payload.encode_verdict(n, nxt)
        cloud_ms = _ms_since(t0)
        if not dec.greedy:  # bookkeeping outside the timed stages
            self.codec_stats.append(cycle_codec_stats(steps, q_hat, p, len(up)))

        # Edge: commit the verdict and roll the draft cache back to the new prefix.
        n, nxt = payload.decode_verdict(down)
        new = drafts[:n] if n and drafts[n - 1] in eos else [*drafts[:n], nxt]
        committed.extend(new)
        commit_draft_cache(draft_lm, len(committed), dec.draft_feed)
        record = CycleRecord(k, len(drafts), n, new, edge_ms, cloud_ms, len(up), len(down))
        self.cycles.append(record)
        if new[-1] in eos:
            self.stop, self._ended = "eos", True
        return record

    def result(self) -> GenerationResult:
        """The whole generation so far."""
        return GenerationResult(
            mode="speculative",
            prompt_len=len(self.prompt),
            tokens=self.tokens,
            stop=self.stop,
            temperature=self.dec.temperature,
            edge_prefill_ms=self.edge_prefill_ms,
            cloud_prefill_ms=self.cloud_prefill_ms,
            prompt_bytes=payload.prompt_bytes(len(self.prompt)),
            cycles=self.cycles,
            wall_ms=_ms_since(self.t_start),
        )
