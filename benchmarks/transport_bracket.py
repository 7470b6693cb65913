"""The gate clock of ``transport_vs_virtual.py``: a calibration that brackets each tcp query in time.

This machine's CPU speed moves within minutes (in one quiet run fresh calibrations gave a draft step
of 24–42 ms), so a calibration taken minutes before a query cannot price it to ±10%. Here each query
is bracketed: right before and right after it, :func:`stage_levels` times the stages the query runs
(a draft step, the two-token re-feed that starts every cycle, a verify pass of ``K`` drafts or a decode
step) at the query's own context, a few times each (mean: the run pays the mean, stalls included, which
a median of a right-skewed time undercharges; for a speculative strategy in the order of
a cycle, so that each draft forward follows a target forward as in the two-process run), and divides them by the start
calibration's context fits at that context. The mean of the two factors rescales the start calibration
(:func:`bracketed`), which then prices that query with the context-dependent model
(:class:`~jointbench.specdec.compute.ComputeModel` with ``context=True``). The start calibration gives the
shape (how each stage grows with the context and with ``K``), the bracket the level at that moment.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass
from typing import Any

from jointbench.specdec.calibrate import Calibration
from jointbench.specdec.context_cost import REFEED_TOKENS

BRACKET_REPEATS = 5
"""Timed runs per stage per bracket (mean; one warm-up)."""


@dataclass(frozen=True)
class Factors:
    """Measured ÷ the start calibration's fit, per side, at one moment.

    Attributes
    ----------
    draft : float
        Draft step and re-feed together (the edge's model).
    verify : float
        The target's pass (verify of ``K`` drafts, or a decode step for ``K = 0``).
    """

    draft: float
    verify: float

    @staticmethod
    def mean(a: Factors, b: Factors) -> Factors:
        """The factor in the middle of two brackets."""
        return Factors((a.draft + b.draft) / 2, (a.verify + b.verify) / 2)


def _mean_ms(lm: Any, ids: list[int], cached: int, n: int, logits: int, repeats: int) -> float:
    if lm.length < cached:
        lm.forward(ids[lm.length:cached], 1)
    lm.crop(cached)
    lm.forward(ids[cached:cached + n], logits)  # warm-up
    lm.crop(cached)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        lm.forward(ids[cached:cached + n], logits)
        times.append((time.perf_counter() - t0) * 1e3)
        lm.crop(cached)
    return statistics.fmean(times)


class StageTimer:
    """Times the stages of a bracket on the benchmark's own copy of the pair (caches kept between calls).

    Parameters
    ----------
    target, draft : transformers.PreTrainedModel
    max_context : int
        Longest context a bracket will be asked for (tokens).
    """

    def __init__(self, target: Any, draft: Any, max_context: int) -> None:
        import torch

        from jointbench.specdec.lm import CachedLM

        vocab = int(target.config.vocab_size)
        self.ids = torch.randint(0, vocab, (max_context + 64,), generator=torch.Generator().manual_seed(1)).tolist()
        self.target, self.draft = CachedLM(target), CachedLM(draft)

    def levels(self, context: int, k: int, repeats: int = BRACKET_REPEATS, cycle: bool = False) -> dict[str, float]:
        """Mean ms of a draft step, the re-feed and a target pass over ``k + 1`` tokens at ``context``.

        ``context`` is the committed sequence's length (prompt + committed tokens): the draft step runs
        with ``context`` cached, the re-feed with ``context - 2``, the target pass with ``context - 1``.
        ``cycle=False``: each stage timed back to back. ``cycle=True``: in the order of a speculative
        cycle (target pass, re-feed, draft step; repeated), so that each draft forward follows a target
        forward as in the two-process run, where the other model ran in between.
        """
        if cycle:
            return self._cycle_levels(context, k, repeats)
        return {"draft": _mean_ms(self.draft, self.ids, context, 1, 1, repeats),
                "refeed": _mean_ms(self.draft, self.ids, context - REFEED_TOKENS, REFEED_TOKENS, 1, repeats),
                "verify": _mean_ms(self.target, self.ids, context - 1, k + 1, k + 1, repeats)}


    def _cycle_levels(self, context: int, k: int, repeats: int) -> dict[str, float]:
        ids, times = self.ids, {"verify": [], "refeed": [], "draft": []}
        for lm, cached in ((self.target, context - 1), (self.draft, context - REFEED_TOKENS)):
            if lm.length < cached:
                lm.forward(ids[lm.length:cached], 1)
            lm.crop(cached)
        for r in range(repeats + 1):  # the first round warms up
            for name, lm, start, n, logits in (("verify", self.target, context - 1, k + 1, k + 1),
                                               ("refeed", self.draft, context - REFEED_TOKENS, REFEED_TOKENS, 1),
                                               ("draft", self.draft, context, 1, 1)):
                t0 = time.perf_counter()
                lm.forward(ids[start:start + n], logits)
                if r:
                    times[name].append((time.perf_counter() - t0) * 1e3)
            self.target.crop(context - 1)
            self.draft.crop(context - REFEED_TOKENS)
        return {name: statistics.fmean(xs) for name, xs in times.items()}


def stage_levels(timer: StageTimer, start: Calibration, context: int, k: int, cycle: bool = False) -> Factors:
    """Bracket factors now: :meth:`StageTimer.levels` ÷ ``start``'s context fits at ``context``."""
    fits = start.context_costs
    assert fits is not None, "the start calibration needs context fits"
    got = timer.levels(context, k, cycle=cycle)
    draft = (got["draft"] + got["refeed"]) / (fits.draft.at(context) + fits.refeed.at(context - REFEED_TOKENS))
    return Factors(draft, got["verify"] / fits.verify_fit(k).at(context - 1))


def bracketed(start: Calibration, f: Factors, flat: bool = False) -> Calibration:
    """``start`` with every draft-side time times ``f.draft`` and every target-side time times ``f.verify``.

    ``flat=True``: the flat calibration those rescaled fits give at ``start.context_len`` (a draft step and
    every verify pass charged at that one context, no re-feed; no context fits), so that the flat and the
    context model of a bracket differ only in the context, not in when their levels were measured.
    """
    fits = start.context_costs
    assert fits is not None
    if flat:
        c = start.context_len
        return dataclasses.replace(
            start, draft_ms=fits.draft.at(c) * f.draft,
            prefill_draft_ms={n: v * f.draft for n, v in start.prefill_draft_ms.items()},
            prefill_target_ms={n: v * f.verify for n, v in start.prefill_target_ms.items()},
            verify_ms={k: fits.verify_fit(k).at(c) * f.verify for k in start.verify_ms}, context_costs=None,
            statistic=f"{fits.statistic}; fits at {c} tokens, bracketed: draft x{f.draft:.3f}, target x{f.verify:.3f}")
    return dataclasses.replace(
        start, draft_ms=start.draft_ms * f.draft,
        prefill_draft_ms={n: v * f.draft for n, v in start.prefill_draft_ms.items()},
        prefill_target_ms={n: v * f.verify for n, v in start.prefill_target_ms.items()},
        verify_ms={k: v * f.verify for k, v in start.verify_ms.items()},
        context_costs=start.context_costs.scaled(f.draft, f.verify),
        statistic=f"{start.statistic}; bracketed: draft x{f.draft:.3f}, target x{f.verify:.3f}")


class TwoProcessTimer:
    """Times the stages across the two processes: synthetic cycles through the session's own cloud service.

    A second connection to the running service, through a shaping proxy of its own with the session's link
    (so each process idles between its stages as in the real run), runs ``repeats`` draft/verify cycles of
    ``K`` drafts on a random prompt of the query's context (one warm-up), or for ``K = 0`` streams decode
    steps as cloud-only does. The draft block is the edge's
    measured span, the verify pass the cloud's reported compute: the two-process system's levels at that
    moment, with no token of the query itself.

    Parameters
    ----------
    session : SpecDecSession
        A ``transport: tcp`` session whose service runs (after its first query).
    max_context : int
        Longest context a bracket will be asked for (tokens).
    """

    def __init__(self, session: Any, max_context: int) -> None:
        import torch

        from jointbench.netsim import Link
        from jointbench.specdec.transport.client import CloudClient
        from jointbench.specdec.transport.shaping import ShapingProxy
        from jointbench.specdec.tracestore import get_pair

        self.pair = get_pair(session.pair)
        assert session.remote is not None and session.remote.service is not None, "run a query first"
        self.proxy = ShapingProxy(Link(session.link.config), session.remote.service.port).start()
        self.client = CloudClient(port=self.proxy.port, timeout_s=60.0)
        self.vocab = min(int(m.config.get_text_config().vocab_size) for m in (self.pair.target, self.pair.draft))
        seeded = torch.Generator().manual_seed(2)
        self.ids = torch.randint(0, self.vocab, (max_context + 64,), generator=seeded).tolist()

    def levels(self, context: int, k: int, repeats: int = BRACKET_REPEATS) -> dict[str, float]:
        """Mean ms of a cycle's draft block (``k`` drafts, re-feed included) and its verify pass at ``context``.

        ``k = 0`` (cloud-only) times decode steps as cloud-only runs them: one DECODE streaming
        ``repeats + 1`` tokens (the first, which pays the prefill, not counted), no wait between steps.
        """
        from jointbench.specdec.codec import make_codec
        from jointbench.specdec.transport.edge import RemoteDecodeSource, RemoteSpeculativeSource

        if k == 0:
            stream = RemoteDecodeSource(self.client, self.ids[:context], repeats + 1)
            stream.begin()
            for _ in range(repeats + 1):
                stream.next_cycle(0)
            return {"block": 0.0, "verify": statistics.fmean(m.cloud_ms for m in stream.marks[1:])}

        source = RemoteSpeculativeSource(self.pair.draft, (), self.client, self.ids[:context],
                                         (k + 1) * (repeats + 1) + 1, make_codec("ids_only"), vocab_limit=self.vocab)
        source.begin()
        block, verify = [], []
        for r in range(repeats + 1):  # the first cycle warms up (and pays the PREFILL)
            source.next_cycle(k)
            mark = source.marks[-1]
            if r:
                block.append((mark.compute_end_s - mark.start_s) * 1e3)
                verify.append(mark.cloud_ms)
        return {"block": statistics.fmean(block), "verify": statistics.fmean(verify)}

    def close(self) -> None:
        """Close the connection and the proxy (the service is the session's)."""
        self.client.close()
        self.proxy.stop()


def two_process_levels(timer: TwoProcessTimer, start: Calibration, context: int, k: int) -> Factors:
    """Bracket factors now, across the two processes: :meth:`TwoProcessTimer.levels` ÷ ``start``'s fits."""
    fits = start.context_costs
    assert fits is not None, "the start calibration needs context fits"
    got = timer.levels(context, k)
    draft = got["block"] / fits.draft_block_ms(k, context) if k else 1.0  # cloud-only drafts nothing
    return Factors(draft, got["verify"] / fits.verify_fit(k).at(context - 1))
