"""The edge's half of a draft/verify cycle: draft a block from the committed prefix, roll back after the verdict.

One routine for the in-process engine (:class:`~jointbench.specdec.engine.SpecRun`) and the two-process
edge (:mod:`~jointbench.specdec.transport.edge`), so both draft, re-feed and pay for the same forwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Sequence

import torch

from jointbench.specdec.codec import DraftCodec, DraftStep
from jointbench.specdec.lm import CachedLM
from jointbench.specdec.sampling import probs_from_logits, token_confidence

if TYPE_CHECKING:
    from jointbench.specdec.nasd_stop import DraftStop


def catch_up(lm: CachedLM, feed: list[int], prompt_len: int) -> list[int]:
    """Cache ``feed[:-1]`` canonically (prompt[:-1] as one chunk, then single tokens); return the rest."""
    while len(feed) > 1:
        n = max(1, prompt_len - 1 - lm.length)
        lm.forward(feed[:n], 1)
        feed = feed[n:]
    return feed


def draft_block(lm: CachedLM, committed: Sequence[int], k: int, feed_mode: Literal["chunk", "token"],
                n_prompt: int, temperature: float, codec: DraftCodec, gen: torch.Generator,
                eos: frozenset[int] | set[int], stop: DraftStop | None = None
                ) -> tuple[list[int], list[DraftStep], bytes]:
    """The edge's half of a cycle: draft up to ``k`` tokens from ``committed`` and encode the block.

    The one drafting routine of the suite (the in-process engine and the two-process edge both
    call it). ``feed_mode="chunk"`` re-feeds the last committed tokens as one chunk (as
    transformers 5.x does; the catch-up costs about one draft step), ``"token"`` feeds them one by one
    (the chunking the recorded T=0 traces replay). At T=0 the drafts are greedy; at T>0 each
    position is quantised, then sampled (:meth:`DraftCodec.draft_step`). ``stop`` (T=0 only): after
    each token, a policy's draft stop (:class:`~jointbench.specdec.nasd_stop.DraftStop`) decides from the
    draft's probabilities so far whether to draft another (``k`` is then the cap).

    Returns
    -------
    drafts : list of int
    steps : list of DraftStep
        Per-position codec steps (empty at T=0).
    message : bytes
        The codec's draft message.
    """
    if feed_mode == "chunk" and k > 0 and lm.length > len(committed) - 2:
        lm.crop(max(0, len(committed) - 2))
    feed = list(committed[lm.length:])
    if feed_mode == "token" and k > 0:
        feed = catch_up(lm, feed, n_prompt)
    if stop is not None and temperature != 0.0:
        raise ValueError("a draft stop runs at temperature 0 only (its confidence map was fitted on greedy drafts)")
    drafts: list[int] = []
    steps: list[DraftStep] = []
    confidence: list[float] = []
    for _ in range(k):
        logits = lm.forward(feed, 1)[-1]
        if temperature == 0.0:
            tok = int(logits.argmax())
        else:  # quantise, then sample from what the cloud will decode
            steps.append(codec.draft_step(probs_from_logits(logits, temperature), gen))
            tok = steps[-1].token
        drafts.append(tok)
        feed = [tok]
        if tok in eos:
            break
        if stop is not None:
            confidence.append(token_confidence(logits, tok))
            if not stop.continues(confidence, k):
                break
    up = codec.encode(drafts, None) if temperature == 0.0 else codec.encode_steps(steps, lm.vocab_limit or 0)
    return drafts, steps, up


def commit_draft_cache(lm: CachedLM, n_committed: int, feed_mode: Literal["chunk", "token"]) -> None:
    """Roll the draft's cache back to the committed prefix after a verdict.

    ``"chunk"`` keeps one committed token fewer: the next draft step re-feeds the last two.
    """
    lm.crop(max(0, min(lm.length, n_committed - (2 if feed_mode == "chunk" else 1))))
