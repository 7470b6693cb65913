"""The edge side of a two-process session: the loop's :class:`~jointbench.specdec.loop.CycleSource` s over TCP.

The per-cycle loop (:func:`~jointbench.specdec.loop.run_query`) is the only loop: with
``transport: tcp`` its source sends each cycle to the cloud process and its placement
(:mod:`~jointbench.specdec.transport.realtime`) puts the cycle on the timeline at the
wall-clock times the source measured. Each source has ``begin()`` (called by the placement
when the query starts), ``done``, ``next_cycle(k)`` and ``marks``: one
:class:`CycleMarks` per cycle.

- :class:`RemoteSpeculativeSource` (``edge_cloud``): PREFILL the prompt (no reply; the cloud
  prefills while the edge prefills its draft), then per cycle draft ``K`` tokens with the
  draft model (the suite's one drafting routine, :func:`~jointbench.specdec.drafting.draft_block`),
  send the codec's draft block as VERIFY, commit the verdict. By default the draft re-feeds
  committed tokens as one chunk like the engines (``draft_feed="chunk"``; the catch-up costs about
  one draft step, as the virtual clock assumes); ``"token"`` drafts exactly what the in-process
  T=0 replay drafts, at one extra draft step per cycle.
  After a lost connection the client's retry re-sends PREFILL of the committed sequence.
  A policy's fallback steps (NASD's cutoff, T=0): ``edge_only`` decodes with the draft here and
  sends nothing; the next request carries those tokens ahead of its payload (the virtual
  placement's message), so the cloud's pass covers them. ``cloud_only`` opens a STREAM on the first
  step of a run (the virtual placement's request) and commits the streamed tokens step by step; the
  next VERIFY cuts the stream and says how many tokens were kept.
- :class:`RemoteDecodeSource` (``cloud_only``): one DECODE request; the cloud streams every
  token as it is decoded.
- :class:`LocalDecodeSource` (``edge_only``): the draft decodes alone, nothing crosses the link.

A cloud that stops answering raises :class:`~jointbench.specdec.transport.client.CloudUnavailable`
(after the client's timeouts and retries; the failed request is in the client's log) and the
query fails; nothing here blocks for longer than the client's bounds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import torch

from jointbench.specdec import payload
from jointbench.specdec.codec import DraftCodec
from jointbench.specdec.drafting import commit_draft_cache, draft_block
from jointbench.specdec.engine import cycle_codec_stats
from jointbench.specdec.lm import CachedLM
from jointbench.specdec.placement import Cycle
from jointbench.specdec.sampling import probs_from_logits, sample
from jointbench.specdec.transport.client import CloudClient
from jointbench.specdec.transport.cloud import decode_token, encode_pending, encode_stream_request
from jointbench.specdec.transport.frames import Frame, MsgType

if TYPE_CHECKING:
    from jointbench.specdec.nasd_stop import DraftStop


@dataclass(frozen=True)
class CycleMarks:
    """Wall-clock marks of one cycle, as the edge measured them (``time.perf_counter`` seconds).

    Attributes
    ----------
    start_s : float
        The cycle began (drafting starts; cloud-only: the previous token arrived).
    compute_end_s : float
        Edge compute done (``== start_s`` when the edge computed nothing); the request left then.
    done_s : float
        The cycle's tokens were committed at the edge.
    cloud_ms : float
        The cloud's compute for this cycle as it reported it (ms; 0 when none).
    cloud_prior_ms : float
        The cloud's compute for the reply-less PREFILL this cycle's request waited on, as the
        cloud reported it (ms; 0 when none: every cycle but the first, or after a reconnect).
    token_s : tuple of float
        A fallback step: when each of its tokens was committed (one per token; empty otherwise).
    token_cloud_ms : tuple of float
        A cloud-only fallback step: the cloud's reported compute for each streamed token (ms).
    """

    start_s: float
    compute_end_s: float
    done_s: float
    cloud_ms: float = 0.0
    cloud_prior_ms: float = 0.0
    token_s: tuple[float, ...] = ()
    token_cloud_ms: tuple[float, ...] = ()


def _check_query(prompt_ids: Sequence[int], max_new_tokens: int) -> list[int]:
    prompt = [int(t) for t in prompt_ids]
    if not prompt or max_new_tokens < 1:
        raise ValueError(f"need a non-empty prompt and max_new_tokens >= 1, got {len(prompt)} prompt tokens "
                         f"and max_new_tokens={max_new_tokens}")
    return prompt


class _Marked:
    """Start time, prefill span and per-cycle marks shared by the sources."""

    def __init__(self) -> None:
        self.t0_s = 0.0
        self.prefill_end_s = 0.0
        self.marks: list[CycleMarks] = []


class RemoteSpeculativeSource(_Marked):
    """Edge-cloud cycles: draft here, verify in the cloud process behind ``client``.

    Parameters
    ----------
    draft : transformers.PreTrainedModel
        The edge's draft model.
    eos_token_ids : sequence of int
    client : CloudClient
        A session with the cloud service, whose temperature and codec equal these.
    prompt_ids : sequence of int
    max_new_tokens : int
    codec : DraftCodec
        What the draft block carries (the cloud decodes with the same codec).
    temperature : float
        0: greedy drafts; > 0: sampled from the codec's sampling distribution.
    seed : int
        Seeds the edge's drafting generator; the cloud's acceptance generator gets it in PREFILL.
    vocab_limit : int, optional
        Common vocabulary size of the pair.
    draft_feed : {"chunk", "token"}
        How the draft re-feeds committed tokens (:func:`~jointbench.specdec.drafting.draft_block`):
        ``"chunk"`` (the engines' way, what the virtual clock's draft cost assumes) or ``"token"``
        (the recorded traces' chunking: the same drafts as the in-process replay, one extra draft
        step per cycle).
    """

    def __init__(self, draft: Any, eos_token_ids: Sequence[int], client: CloudClient, prompt_ids: Sequence[int],
                 max_new_tokens: int, codec: DraftCodec, temperature: float = 0.0, seed: int = 0,
                 vocab_limit: int | None = None, draft_feed: str = "chunk") -> None:
        super().__init__()
        self.prompt = _check_query(prompt_ids, max_new_tokens)
        codec.check_temperature(temperature)
        if draft_feed not in ("chunk", "token"):
            raise ValueError(f"draft_feed: must be 'chunk' or 'token', got {draft_feed!r}")
        self.draft_feed = draft_feed
        self.n_prompt, self.limit = len(self.prompt), int(max_new_tokens)
        self.client, self.codec, self.temperature, self.seed = client, codec, float(temperature), int(seed)
        self.eos = frozenset(int(i) for i in eos_token_ids)
        self.lm = CachedLM(draft, vocab_limit)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.committed = list(self.prompt)
        self.pending: list[int] = []
        """Edge-only fallback tokens the cloud has not seen yet (the next VERIFY carries them)."""
        self.codec_stats: list[dict[str, Any]] = []
        """Per T>0 cycle: the codec's per-position ``bits``, ``support_size``, ``dropped_mass``, ``beta``
        and the draft message's ``message_bits`` (no ``tv``: the cloud's distribution stays in the cloud)."""
        self._stream: Iterator[Frame] | None = None
        self.kept = 0
        """Tokens of the last STREAM committed here (the next request tells the cloud)."""
        self._ended = False

    def begin(self) -> None:
        """PREFILL the cloud (no reply) and prefill the draft meanwhile."""
        self.t0_s = time.perf_counter()
        self.codec.reset()  # per query, as the engine does (C-SQS: beta back to beta1)
        self.client.post(MsgType.PREFILL, payload.encode_prompt(self.prompt), arg=self.seed)
        self.lm.reset()
        self.lm.prefill(self.prompt[:-1])
        self.prefill_end_s = time.perf_counter()

    @property
    def done(self) -> bool:
        """EOS or ``max_new_tokens``."""
        return self._ended or len(self.committed) - self.n_prompt >= self.limit

    def _resume(self, client: CloudClient) -> None:
        """A new connection lost the cloud's session: rebuild it from the committed tokens (the retried
        VERIFY still carries the pending ones)."""
        seen = self.committed[:len(self.committed) - len(self.pending)]
        client.post(MsgType.PREFILL, payload.encode_prompt(seen), arg=self.seed)

    @property
    def stops_drafting(self) -> bool:
        """:meth:`next_cycle` takes a draft stop (greedy drafts only)."""
        return self.temperature == 0.0

    def _draft(self, k: int, stop: DraftStop | None = None) -> tuple[list[int], bytes]:
        drafts, steps, up = draft_block(self.lm, self.committed, k, self.draft_feed, self.n_prompt,
                                        self.temperature, self.codec, self.gen, self.eos, stop)
        if self.temperature > 0.0:  # the codec's own statistics (a few lists, inside the drafting span)
            self.codec_stats.append(cycle_codec_stats(steps, None, None, len(up)))
        return drafts, up

    def next_cycle(self, k: int, stop: DraftStop | None = None) -> Cycle:
        """Draft ``k`` tokens (fewer when ``stop``, a policy's draft stop, ends the draft), send them, wait
        for the verdict, commit."""
        start = time.perf_counter()
        drafts, up = self._draft(k, stop)
        sent = time.perf_counter()
        data, arg = encode_pending(self.pending, up)
        reply = self.client.request(MsgType.VERIFY, data, arg=arg, resume=self._resume, kept=self._end_stream())
        self.pending = []
        n, nxt = payload.decode_verdict(reply.payload)
        new = drafts[:n] if n and drafts[n - 1] in self.eos else [*drafts[:n], nxt]
        self.committed.extend(new)
        commit_draft_cache(self.lm, len(self.committed), self.draft_feed)
        self.marks.append(CycleMarks(start, sent, time.perf_counter(), reply.arg / 1e3, reply.prior_us / 1e3))
        self._ended = new[-1] in self.eos
        return Cycle(k, len(drafts), n, tuple(new), len(up))

    def _end_stream(self) -> int:
        """Cut the open STREAM (if any); return how many of its tokens were committed (the ``kept`` to send)."""
        kept, self.kept = self.kept, 0
        if self._stream is not None:
            self.client.cut(self._stream)
            self._stream = None
        return kept

    def fallback_step(self, kind: str, n: int) -> Cycle:
        """A policy's fallback step of up to ``n`` tokens (T=0).

        ``"edge_only"``: the draft decodes greedily here; nothing is sent, the tokens wait in
        :attr:`pending` for the next request. ``"cloud_only"``: the first step of a run opens a STREAM
        (carrying the pending tokens) and each step commits the next ``n`` tokens the cloud streams;
        the next VERIFY cuts the stream. Each token is marked when it was committed.
        """
        if kind not in ("edge_only", "cloud_only"):
            raise ValueError(f"fallback={kind!r}: unknown. Available: edge_only, cloud_only")
        if self.temperature != 0.0:
            raise ValueError("fallback steps run at temperature 0 only (as in process: T=0 traces)")
        start = time.perf_counter()
        room = max(0, min(int(n), self.limit - (len(self.committed) - self.n_prompt)))
        new: list[int] = []
        times: list[float] = []
        cloud_ms: list[float] = []
        prior_ms = 0.0
        if kind == "cloud_only" and room and self._stream is None:
            left = self.limit - (len(self.committed) - self.n_prompt)
            data = encode_stream_request(left, self.pending)
            self._stream = self.client.stream(MsgType.STREAM, data, kept=self._end_stream())
            self.pending = []
        for _ in range(room):
            if kind == "edge_only":
                tok = int(self.lm.forward(self.committed[self.lm.length:], 1)[-1].argmax())
            else:
                assert self._stream is not None
                frame = next(self._stream)
                tok = decode_token(frame.payload)
                cloud_ms.append(frame.arg / 1e3)
                prior_ms += frame.prior_us / 1e3  # the query's PREFILL, when this stream is its first reply
                self.kept += 1
                if frame.is_final:
                    self._stream = None  # ended by the cloud; the next request still says what was kept
            new.append(tok)
            self.committed.append(tok)
            times.append(time.perf_counter())
            if tok in self.eos:
                self._ended = True
                break
        if kind == "edge_only":
            self.pending.extend(new)
            end = times[-1] if times else time.perf_counter()
            self.marks.append(CycleMarks(start, end, end, token_s=tuple(times)))
        else:
            end = times[-1] if times else start
            self.marks.append(CycleMarks(start, start, end, sum(cloud_ms), prior_ms, token_s=tuple(times),
                                         token_cloud_ms=tuple(cloud_ms)))
        return Cycle(0, 0, 0, tuple(new), 0, kind)


class RemoteDecodeSource(_Marked):
    """Cloud-only: the target decodes in the cloud process and streams each token (one DECODE)."""

    def __init__(self, client: CloudClient, prompt_ids: Sequence[int], max_new_tokens: int,
                 eos_token_ids: Sequence[int] = ()) -> None:
        super().__init__()
        self.prompt = _check_query(prompt_ids, max_new_tokens)
        self.n_prompt, self.limit, self.client = len(self.prompt), int(max_new_tokens), client
        self.eos = frozenset(int(i) for i in eos_token_ids)
        self.tokens: list[int] = []
        self._stream: Iterator[Frame] | None = None
        self._ended = False

    def begin(self) -> None:
        """Send the DECODE request (the prompt goes up)."""
        self.t0_s = self.prefill_end_s = time.perf_counter()
        self._stream = self.client.stream(MsgType.DECODE, payload.encode_prompt(self.prompt), arg=self.limit)

    @property
    def done(self) -> bool:
        """The cloud sent its final token."""
        return self._ended

    def next_cycle(self, k: int) -> Cycle:
        """The next streamed token (``k`` is 0)."""
        assert self._stream is not None, "begin() first"
        start = self.marks[-1].done_s if self.marks else self.t0_s
        frame = next(self._stream)
        tok = decode_token(frame.payload)
        self.tokens.append(tok)
        self._ended = frame.is_final
        if self._ended:
            self._stream.close()
        self.marks.append(CycleMarks(start, start, time.perf_counter(), frame.arg / 1e3))
        return Cycle(0, 0, 0, (tok,))


class LocalDecodeSource(_Marked):
    """Edge-only: the draft decodes alone on the edge (no link)."""

    def __init__(self, draft: Any, eos_token_ids: Sequence[int], prompt_ids: Sequence[int], max_new_tokens: int,
                 temperature: float = 0.0, seed: int = 0, vocab_limit: int | None = None) -> None:
        super().__init__()
        self.prompt = _check_query(prompt_ids, max_new_tokens)
        self.n_prompt, self.limit, self.temperature = len(self.prompt), int(max_new_tokens), float(temperature)
        self.eos = frozenset(int(i) for i in eos_token_ids)
        self.lm = CachedLM(draft, vocab_limit)
        self.gen = torch.Generator().manual_seed(int(seed))
        self.tokens: list[int] = []

    def _pick(self, logits: torch.Tensor) -> int:
        if self.temperature == 0.0:
            return int(logits.argmax())
        return sample(probs_from_logits(logits, self.temperature), self.gen)

    def begin(self) -> None:
        """Prefill the prompt: its forward yields the first token."""
        self.t0_s = time.perf_counter()
        self.lm.reset()
        self._next = self._pick(self.lm.forward(self.prompt, 1)[-1])
        self.prefill_end_s = time.perf_counter()

    @property
    def done(self) -> bool:
        """EOS or ``max_new_tokens``."""
        return len(self.tokens) >= self.limit or bool(self.tokens and self.tokens[-1] in self.eos)

    def next_cycle(self, k: int) -> Cycle:
        """One token (the first comes from the prefill)."""
        start = time.perf_counter()
        if self.tokens:
            self._next = self._pick(self.lm.forward([self.tokens[-1]], 1)[-1])
        self.tokens.append(self._next)
        end = time.perf_counter()
        self.marks.append(CycleMarks(start, end, end))
        return Cycle(0, 0, 0, (self._next,))
