"""The edge side of a two-process session: draft locally, verify in the cloud over TCP.

A minimal stand-in for the per-cycle loop (INTERFACES.md §E, built elsewhere), which
will take :class:`~jointbench.specdec.transport.client.CloudClient` as its ``tcp`` transport:

- :func:`remote_speculative`: PREFILL the prompt (no reply; the cloud prefills while
  the edge prefills its draft), then per cycle draft ``K`` tokens (``K`` from a
  draft-length policy), send the draft block (the codec's :meth:`~jointbench.specdec.codec.DraftCodec.encode`),
  wait for the verdict, commit, roll the draft cache back. After a lost connection the
  client's retry re-sends PREFILL of the committed sequence on the new connection.
- :func:`remote_cloud_only`: one DECODE request; the cloud streams every token.

Both return a :class:`RemoteResult` with wall-clock marks (ms since the request
started) for a comparison with the virtual clock; a cloud that stops answering ends
the query with ``error`` set (no exception unless ``raise_errors``), or, with
``fallback_edge_only``, the draft finishes the query alone (``fell_back`` set).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from jointbench.specdec import payload
from jointbench.specdec.lm import CachedLM
from jointbench.specdec.codec import DraftCodec, make_codec
from jointbench.specdec.policy import CycleOutcome, DraftLengthPolicy, DraftState, clip_k
from jointbench.specdec.sampling import probs_from_logits, sample
from jointbench.specdec.transport.client import CloudClient, CloudError, CloudUnavailable
from jointbench.specdec.transport.cloud import decode_token
from jointbench.specdec.transport.frames import MsgType


@dataclass
class RemoteCycle:
    """One draft/verify cycle measured on the edge.

    Attributes
    ----------
    k, drafted, accepted : int
        Requested draft length, tokens drafted, drafts accepted.
    tokens : tuple of int
        Tokens committed by the cycle.
    edge_ms : float
        Drafting time (ms).
    round_trip_ms : float
        Draft block sent -> verdict received (ms): network both ways + cloud verify.
    cloud_ms : float
        The cloud's verify compute time as it reported it (ms).
    done_ms : float
        When the cycle's tokens were committed, ms since the query started.
    bytes_up, bytes_down : int
        Payload bytes of the draft block and the verdict.
    """

    k: int
    drafted: int
    accepted: int
    tokens: tuple[int, ...]
    edge_ms: float
    round_trip_ms: float
    cloud_ms: float
    done_ms: float
    bytes_up: int
    bytes_down: int


@dataclass
class RemoteResult:
    """One query served across two processes.

    Attributes
    ----------
    tokens : list of int
        Generated tokens (partial when ``error`` is set).
    cycles : list of RemoteCycle
        Empty for cloud-only.
    token_times_ms : list of float
        Arrival of each token at the edge, ms since the query started.
    cloud_ms : list of float
        Cloud-only: the cloud's compute time of each token (ms; the first includes the prefill).
    edge_prefill_ms : float
        Speculative: the draft's prefill on the edge (ms).
    latency_ms : float
        Query start -> last token (or failure), ms.
    error : str or None
        Why the cloud part failed (``CloudUnavailable`` / ``CloudError`` text).
    fell_back : bool
        The draft finished the query alone after ``error`` (edge-only quality from there).
    """

    tokens: list[int] = field(default_factory=list)
    cycles: list[RemoteCycle] = field(default_factory=list)
    token_times_ms: list[float] = field(default_factory=list)
    cloud_ms: list[float] = field(default_factory=list)
    edge_prefill_ms: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None
    fell_back: bool = False

    @property
    def failed(self) -> bool:
        """True when the cloud stopped answering or refused a request and nothing finished the query."""
        return self.error is not None and not self.fell_back


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


def remote_cloud_only(client: CloudClient, prompt_ids: Sequence[int], max_new_tokens: int,
                      raise_errors: bool = False) -> RemoteResult:
    """The target decodes alone in the cloud and streams each token (one DECODE request)."""
    prompt = [int(t) for t in prompt_ids]
    result = RemoteResult()
    t0 = time.perf_counter()
    try:
        for frame in client.stream(MsgType.DECODE, payload.encode_prompt(prompt), arg=int(max_new_tokens)):
            result.tokens.append(decode_token(frame.payload))
            result.token_times_ms.append(_ms(t0))
            result.cloud_ms.append(frame.arg / 1e3)
    except (CloudUnavailable, CloudError) as err:
        result.error = f"{type(err).__name__}: {err}"
        if raise_errors:
            raise
    result.latency_ms = _ms(t0)
    return result


def remote_speculative(draft: Any, eos_token_ids: Sequence[int], client: CloudClient,
                       prompt_ids: Sequence[int], max_new_tokens: int, policy: DraftLengthPolicy,
                       temperature: float = 0.0, seed: int = 0, vocab_limit: int | None = None,
                       raise_errors: bool = False, fallback_edge_only: bool = False,
                       codec: DraftCodec | None = None) -> RemoteResult:
    """Edge drafts with ``draft``, the cloud behind ``client`` verifies, until the limit or EOS.

    Parameters
    ----------
    draft : transformers.PreTrainedModel
        The edge's draft model (same vocabulary as the cloud's target).
    eos_token_ids : sequence of int
    client : CloudClient
        A session with the cloud service (whose temperature must equal ``temperature``).
    prompt_ids : sequence of int
        Non-empty prompt.
    max_new_tokens : int
        ``>= 1``.
    policy : DraftLengthPolicy
        Reset first; asked for ``K`` before every cycle, told the outcome after it.
    temperature : float
        0: greedy drafts, ids only; > 0: sampled drafts sent with their distributions.
    seed : int
        Seeds the edge's drafting generator; the cloud's acceptance generator gets it in PREFILL.
    vocab_limit : int, optional
        Common vocabulary size of the pair.
    raise_errors : bool
        Re-raise ``CloudUnavailable`` / ``CloudError`` instead of recording them.
    fallback_edge_only : bool
        After a cloud failure, let the draft decode the rest alone (lossy) instead of
        ending the query; the error is still recorded.
    codec : DraftCodec, optional
        What the draft block carries; ``ids_only`` at T=0 and ``dense_fp32`` at T>0 by
        default (the cloud session must decode with the same codec). The edge samples from
        the codec's :meth:`~jointbench.specdec.codec.DraftCodec.sampling_distribution`.
    """
    prompt = [int(t) for t in prompt_ids]
    if not prompt or max_new_tokens < 1:
        raise ValueError("need a non-empty prompt and max_new_tokens >= 1")
    eos = frozenset(int(i) for i in eos_token_ids)
    lm = CachedLM(draft, vocab_limit)
    gen = torch.Generator().manual_seed(seed)
    committed = list(prompt)
    result = RemoteResult()
    codec = codec or make_codec("ids_only" if temperature == 0 else "dense_fp32")
    codec.check_temperature(temperature)
    last: CycleOutcome | None = None
    policy.reset()

    def pick(logits: torch.Tensor) -> tuple[int, torch.Tensor | None]:
        if temperature == 0.0:
            return int(logits.argmax()), None
        q = codec.sampling_distribution(probs_from_logits(logits, temperature))
        return sample(q, gen), q

    def resume(c: CloudClient) -> None:  # a new connection: rebuild the cloud's session state
        c.post(MsgType.PREFILL, payload.encode_prompt(committed), arg=seed)

    t0 = time.perf_counter()
    try:
        client.post(MsgType.PREFILL, payload.encode_prompt(prompt), arg=seed)
        lm.prefill(prompt[:-1])
        result.edge_prefill_ms = _ms(t0)
        while len(committed) - len(prompt) < max_new_tokens:
            generated = len(committed) - len(prompt)
            state = DraftState(len(result.cycles), generated, max_new_tokens - generated, now_ms=_ms(t0),
                               last=last, history=tuple((c.drafted, c.accepted) for c in result.cycles))
            k = clip_k(policy.next_k(state), max_new_tokens - generated)
            t_draft = time.perf_counter()
            feed, drafts, q_rows = committed[lm.length:], [], []
            for _ in range(k):
                tok, q = pick(lm.forward(feed, 1)[-1])
                if q is not None:
                    q_rows.append(q)
                drafts.append(tok)
                feed = [tok]
                if tok in eos:
                    break
            up = codec.encode(drafts, torch.stack(q_rows) if q_rows else None)
            edge_ms = _ms(t_draft)
            t_send = time.perf_counter()
            reply = client.request(MsgType.VERIFY, up, resume=resume)
            round_trip_ms, down = _ms(t_send), reply.payload
            n, nxt = payload.decode_verdict(down)
            new = drafts[:n] if n and drafts[n - 1] in eos else [*drafts[:n], nxt]
            committed.extend(new)
            lm.crop(min(lm.length, len(committed) - 1))
            done = _ms(t0)
            result.tokens.extend(new)
            result.token_times_ms.extend([done] * len(new))
            result.cycles.append(RemoteCycle(k, len(drafts), n, tuple(new), edge_ms, round_trip_ms,
                                             reply.arg / 1e3, done, len(up), len(down)))
            last = CycleOutcome(k, len(drafts), n, len(up), len(down),
                                rtt_ms=max(0.0, round_trip_ms - reply.arg / 1e3), transmit_ms=None,
                                cycle_ms=edge_ms + round_trip_ms, end_ms=done)
            policy.update(last)
            if new[-1] in eos:
                break
    except (CloudUnavailable, CloudError) as err:
        result.error = f"{type(err).__name__}: {err}"
        if raise_errors:
            raise
        if fallback_edge_only:
            _finish_on_edge(lm, pick, committed, len(prompt) + max_new_tokens, eos, result, t0)
    result.latency_ms = _ms(t0)
    return result


def _finish_on_edge(lm: CachedLM, pick: Any, committed: list[int], total: int, eos: frozenset[int],
                    result: RemoteResult, t0: float) -> None:
    """Decode with the draft alone until ``len(committed) == total`` or EOS (edge-only fallback)."""
    result.fell_back = True
    if committed[-1] in eos and result.tokens:
        return
    lm.crop(min(lm.length, len(committed) - 1))
    feed = committed[lm.length:]
    while len(committed) < total:
        tok, _ = pick(lm.forward(feed, 1)[-1])
        committed.append(tok)
        result.tokens.append(tok)
        result.token_times_ms.append(_ms(t0))
        feed = [tok]
        if tok in eos:
            return
