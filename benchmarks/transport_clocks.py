"""Virtual clocks for ``transport_vs_virtual.py``: the tcp run's own cycles re-timed, per-stage compute ratios.

- :func:`replayed_virtual` places one tcp query's cycles (its ``K`` sequence, drafts and
  acceptances) on the virtual clock with a fresh link of the same config, timing compute with
  any compute model: a calibration (``replay``: the same cycles as the real run, so a policy
  that chose other ``K`` on the wall clock is compared cycle for cycle) or
  :class:`MeasuredCompute` (``measured``: the run's own compute, which isolates what the
  transport adds).
- :func:`stage_ratios`: the tcp run's measured compute per stage against a calibration
  (median over cycles), to tell which stage a gap is in.
- :func:`idle_factor`: how much slower a verify pass (or a draft step) runs right after the
  process slept (as the cloud sleeps while the link carries the draft block, the edge while it
  carries the verdict) than back to back (as the calibration times it), the two timed
  alternately so that drift of the machine cancels.
"""

from __future__ import annotations

import statistics
import time
from typing import Any


def idle_factor(model: Any, idle_ms: float, k: int, rounds: int = 15, context_len: int = 64) -> tuple[float, float]:
    """Median verify pass over ``k + 1`` tokens right after a sleep of ``idle_ms`` ÷ median back to back.

    Each round sleeps ``idle_ms`` (not timed), times one pass, then times one more pass at once.
    Alternating them makes a change of the machine's speed over the minutes (other jobs) hit both
    alike, which two calibrations taken one after the other cannot promise.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        The target (a verify pass), or the draft with ``k = 0`` (one draft step).
    idle_ms : float
        Sleep before the first pass of each round (ms).
    k : int
        Draft tokens verified (a pass over ``k + 1`` tokens).
    rounds : int
    context_len : int
        Cached tokens before each pass (the calibration's).

    Returns
    -------
    factor : float
        Median after the sleep ÷ median back to back.
    spread : float
        Median back to back ÷ its 20% quantile: what a run that sees the median pays beyond the
        calibration's statistic (:data:`~jointbench.specdec.calibrate.QUANTILE`).
    """
    import torch

    from jointbench.specdec.lm import CachedLM

    lm = CachedLM(model)
    vocab = int(model.config.get_text_config().vocab_size)
    ids = torch.randint(0, vocab, (context_len + k + 1,), generator=torch.Generator().manual_seed(0)).tolist()
    lm.prefill(ids[:context_len])

    def timed_pass() -> float:
        t0 = time.perf_counter()
        lm.forward(ids[context_len:], k + 1)
        lm.crop(context_len)
        return (time.perf_counter() - t0) * 1e3

    timed_pass()
    after, back = [], []
    for _ in range(rounds):
        time.sleep(idle_ms / 1e3)
        after.append(timed_pass())
        back.append(timed_pass())
    from jointbench.specdec.calibrate import QUANTILE

    quantile = statistics.quantiles(back, n=100, method="inclusive")[round(QUANTILE * 100) - 1]
    return statistics.median(after) / statistics.median(back), statistics.median(back) / quantile


def _compute_events(outcome: Any, where: str, stage: str) -> list[float]:
    return [e.duration_ms for e in outcome.timeline.events
            if e.kind == "compute" and e.where == where and e.stage == stage]


class MeasuredCompute:
    """Duck-typed ComputeModel answering with one tcp query's measured stage times, cycle by cycle.

    From the real timeline: the draft prefill, each cycle's drafting span (whole),
    the cloud's reported verify times and its reported prefill (the first VERIFY reply's
    ``prior_us``; cloud-only: the first token's compute), and the mean reported decode step.
    What a query did not measure comes from ``fallback``. The ``context`` arguments are accepted and
    ignored (the measurement already has the context it ran at).
    """

    context = False

    def __init__(self, outcome: Any, fallback: Any) -> None:
        self.fallback, self.i = fallback, 0
        self.edge_prefill = sum(_compute_events(outcome, "edge", "prefill"))
        drafts = iter(_compute_events(outcome, "edge", "draft"))
        self.block = [next(drafts) if c.drafted else 0.0 for c in outcome.cycles if c.fallback is None]
        """Each draft/verify cycle's measured drafting span (a catch-up after streamed tokens included)."""
        self.verify = _compute_events(outcome, "cloud", "verify")
        first = _compute_events(outcome, "cloud", "prefill")
        steps = _compute_events(outcome, "cloud", "decode")
        self.first = first[0] if first else None
        self.step = sum(steps) / len(steps) if steps else None

    def edge_prefill_ms(self, n: int) -> float:
        return self.edge_prefill or self.fallback.edge_prefill_ms(n)

    def cloud_prefill_ms(self, n: int) -> float:
        return self.first if self.first is not None else self.fallback.cloud_prefill_ms(n)

    def draft_ms(self, context: int | None = None) -> float:
        return self.fallback.draft_ms()  # an edge-only fallback token (not measured per token here)

    def draft_block_ms(self, steps: int, context: int | None = None) -> float:
        return self.block[self.i]  # the measured span, whatever the placement counts as steps

    def verify_ms(self, k: int, context: int | None = None) -> float:
        self.i += 1
        return self.verify[self.i - 1]

    def decode_ms(self, context: int | None = None) -> float:
        return self.step if self.step is not None else self.fallback.decode_ms()


class Replay:
    """A policy that asks for the ``K`` each recorded cycle was drafted with (0: its fallback step)."""

    reads_link = False

    def __init__(self, ks: list[int], fallback: str | None = None, fallback_tokens: int = 1) -> None:
        self.ks, self.fallback, self.fallback_tokens = ks, fallback, fallback_tokens

    def reset(self) -> None:
        """Nothing to reset."""

    def next_k(self, state: Any) -> int:
        return self.ks[state.cycle]

    def update(self, outcome: Any) -> None:
        """Nothing learnt."""


def replayed_virtual(outcome: Any, n_prompt: int, session: Any, compute: Any, max_new_tokens: int) -> dict[str, Any]:
    """One tcp query's own cycles placed on the virtual clock by the suite's loop, timed by ``compute``.

    Returns the fields of a record that the benchmark reads (latency, ttft, tokens, cycles).
    """
    from jointbench.netsim import Link
    from jointbench.specdec.loop import run_query
    from jointbench.specdec.sources import RecordedSource, TokenSource
    from jointbench.specdec.strategy import Strategy

    base = session.strategy
    if base.speculative:
        source: Any = RecordedSource(n_prompt, outcome.cycles)
        kinds = {c.fallback for c in outcome.cycles} - {None}
        if len(kinds) > 1:
            raise ValueError(f"cannot replay a query that mixed fallback steps ({sorted(kinds)})")
        replay = Replay([c.k for c in outcome.cycles], kinds.pop() if kinds else None,
                        max((len(c.tokens) for c in outcome.cycles), default=1))
        strategy = Strategy(base.placement, replay, base.codec)
    else:
        source, strategy = TokenSource(n_prompt, outcome.tokens), Strategy(base.placement, None, base.codec)
    tl = run_query(strategy, source, compute, Link(session.link.config), max_new_tokens).timeline
    return {"latency_ms": tl.latency_ms, "ttft_ms": tl.ttft_ms, "tokens_out": tl.tokens_out,
            "cycles": len(outcome.cycles) if base.speculative else None,
            "extras": {"tokens": list(outcome.tokens), "agrees_with_cloud": True}}


def stage_ratios(outcomes: list[Any], compute: Any, n_prompts: list[int] | None = None) -> dict[str, float]:
    """Median over cycles of measured ÷ calibrated compute: ``draft`` (a cycle's block), ``verify``, ``decode``.

    Parameters
    ----------
    outcomes : list of Outcome
        The tcp queries (their real timelines and cycles).
    compute : ComputeModel
        The calibration's compute model (flat, or with ``context=True``).
    n_prompts : list of int, optional
        Prompt length of each query: the contexts a context model is asked at (prompt + committed
        tokens, as the placements pass them). Without it every stage is asked flat.
    """
    draft, verify, decode = [], [], []
    for i, o in enumerate(outcomes):
        n = n_prompts[i] if n_prompts is not None else None
        drafts = iter(_compute_events(o, "edge", "draft"))  # one span per cycle that drafted
        verifies = _compute_events(o, "cloud", "verify")
        if verifies:
            context, left = n, iter(verifies)
            for c in o.cycles:
                if c.fallback is None:  # fallback steps: no draft block, no verify pass
                    if c.drafted:
                        draft.append(next(drafts) / compute.draft_block_ms(c.drafted, context))
                    verify.append(next(left) / compute.verify_ms(c.k, None if context is None else context - 1))
                context = None if context is None else context + len(c.tokens)
        decode += [d / compute.decode_ms(None if n is None else n + j)
                   for j, d in enumerate(_compute_events(o, "cloud", "decode"))]
    return {name: statistics.median(xs) for name, xs in (("draft", draft), ("verify", verify), ("decode", decode))
            if xs}
