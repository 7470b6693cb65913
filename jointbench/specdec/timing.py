"""Compose one query's timeline on the virtual clock, per strategy.

Inputs are what the models did (token counts per step, from a recorded trace and a
policy replay), the :class:`~jointbench.specdec.compute.ComputeModel` and a netsim
``Link``. Each side keeps its own clock; a message leaves when its sender is done and
the receiver starts when both it is free and the message has arrived. Output tokens
are delivered in order (a token cannot overtake an earlier one on the stream).

- cloud-only: prompt up, target prefill, every token streamed down as decoded
  (decoding does not wait for the downlink).
- edge-only: draft prefill and decoding on the edge; no network.
- co-located: prompt up; both models prefill and run draft/verify cycles in the
  cloud; each cycle's committed tokens go down in one message.
- edge-cloud: prompt up while the edge prefills the draft; per cycle the edge drafts
  ``drafted`` tokens, sends the draft block up (``8 + 4K`` bytes), the cloud verifies
  (``t_verify(K)``) and sends the verdict down (8 bytes); the edge commits on arrival.
"""

from __future__ import annotations

from typing import Sequence

from jointbench.netsim import Link, Timeline
from jointbench.specdec.compute import ComputeModel
from jointbench.specdec.trace import ReplayCycle

PROMPT_HEADER_BYTES = 4
TOKEN_BYTES = 4
DRAFT_HEADER_BYTES = 8
VERDICT_BYTES = 8


def new_timeline(link: Link | None, start_ms: float, keep_exchanges: bool = False) -> Timeline:
    """A :class:`Timeline` whose tally lists its exchanges only if ``keep_exchanges``."""
    tl = Timeline(link, start_ms=start_ms)
    tl.tally.keep = keep_exchanges
    return tl


def prompt_bytes(n_prompt: int) -> int:
    """Encoded prompt (``uint32 n`` + ``n`` int32 ids), bytes."""
    return PROMPT_HEADER_BYTES + TOKEN_BYTES * n_prompt


def cloud_only_timeline(n_prompt: int, n_tokens: int, compute: ComputeModel, link: Link,
                        start_ms: float = 0.0, keep_exchanges: bool = False) -> Timeline:
    """Target decodes alone in the cloud and streams each token down.

    Parameters
    ----------
    n_prompt : int
        Prompt length (tokens).
    n_tokens : int
        Generated tokens (``>= 1``); the first comes out of the prefill.
    compute : ComputeModel
    link : Link
    start_ms : float
        Virtual time the query starts (ms); lets a network trace evolve across queries.
    keep_exchanges : bool
        Keep every message's ``Exchange.to_dict()`` in the record fields.

    Returns
    -------
    Timeline
        ``ttft_ms``, ``latency_ms``, ``token_times_ms`` relative to ``start_ms``.
    """
    tl = new_timeline(link, start_ms, keep_exchanges)
    up = tl.send("up", prompt_bytes(n_prompt), kind="prompt", at_ms=start_ms)
    t_cloud = tl.compute("cloud", compute.cloud_prefill_ms(n_prompt), stage="prefill", at_ms=up.arrival_ms)
    step = compute.decode_ms()
    for i in range(n_tokens):
        if i:
            t_cloud = tl.compute("cloud", step, stage="decode", at_ms=t_cloud)
        tl.send("down", TOKEN_BYTES, kind="token", at_ms=t_cloud)
        # The clock is now the latest arrival so far: in-order delivery on the stream.
        tl.emit(1)
    return tl


def edge_only_timeline(n_prompt: int, n_tokens: int, compute: ComputeModel, start_ms: float = 0.0) -> Timeline:
    """Draft decodes alone on the edge (no link)."""
    tl = new_timeline(None, start_ms)
    t = tl.compute("edge", compute.edge_prefill_ms(n_prompt), stage="prefill", at_ms=start_ms)
    tl.emit(1)
    step = compute.draft_ms()
    for _ in range(n_tokens - 1):
        t = tl.compute("edge", step, stage="decode", at_ms=t)
        tl.emit(1)
    return tl


def colocated_timeline(n_prompt: int, cycles: Sequence[ReplayCycle], compute: ComputeModel,
                       link: Link, start_ms: float = 0.0, keep_exchanges: bool = False) -> Timeline:
    """Speculative decoding with both models in the cloud; committed tokens streamed down."""
    tl = new_timeline(link, start_ms, keep_exchanges)
    up = tl.send("up", prompt_bytes(n_prompt), kind="prompt", at_ms=start_ms)
    prefill = compute.cloud_prefill_ms(n_prompt - 1) + compute.cloud.scaled_ms(
        compute.calibration.prefill_at("draft", max(1, n_prompt - 1)))
    t_cloud = tl.compute("cloud", prefill, stage="prefill", at_ms=up.arrival_ms)
    for c in cycles:
        if c.drafted:
            t_cloud = tl.compute("cloud", c.drafted * compute.cloud_draft_ms(), stage="draft", at_ms=t_cloud)
        t_cloud = tl.compute("cloud", compute.verify_ms(c.drafted), stage="verify", at_ms=t_cloud)
        tl.send("down", TOKEN_BYTES * len(c.tokens), kind="tokens", at_ms=t_cloud)
        tl.emit(len(c.tokens))
    return tl


def edge_cloud_timeline(n_prompt: int, cycles: Sequence[ReplayCycle], compute: ComputeModel,
                        link: Link, start_ms: float = 0.0, keep_exchanges: bool = False) -> Timeline:
    """Edge drafts, cloud verifies, one round trip per cycle."""
    tl = new_timeline(link, start_ms, keep_exchanges)
    up = tl.send("up", prompt_bytes(n_prompt), kind="prompt", at_ms=start_ms)
    t_edge = tl.compute("edge", compute.edge_prefill_ms(max(1, n_prompt - 1)), stage="prefill", at_ms=start_ms)
    t_cloud = tl.compute("cloud", compute.cloud_prefill_ms(max(1, n_prompt - 1)), stage="prefill",
                         at_ms=up.arrival_ms)
    for c in cycles:
        if c.drafted:
            t_edge = tl.compute("edge", c.drafted * compute.draft_ms(), stage="draft", at_ms=t_edge)
        draft = tl.send("up", DRAFT_HEADER_BYTES + TOKEN_BYTES * c.drafted, kind="draft", at_ms=t_edge)
        t_cloud = tl.compute("cloud", compute.verify_ms(c.drafted), stage="verify",
                             at_ms=max(t_cloud, draft.arrival_ms))
        tl.send("down", VERDICT_BYTES, kind="verdict", at_ms=t_cloud)
        tl.emit(len(c.tokens))
        t_edge = tl.now_ms
    return tl
