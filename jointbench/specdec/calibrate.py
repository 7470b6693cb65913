"""Measure the compute costs a virtual clock needs: t_prefill(n), t_draft, t_verify(K).

On a CPU the verify pass is not constant in ``K`` (methods-llm.md §0.4), so it is
profiled per ``K``. Numbers are a low quantile (:data:`QUANTILE`) of repeated
``time.perf_counter`` runs on this machine, under whatever ``torch.get_num_threads()`` is
set to: other processes only ever make a run slower, so a low quantile is robust to a
shared machine where a median is not. The 1-minute load average before and after is kept
in the calibration (:attr:`Calibration.loadavg_1m`); :func:`under_load` flags a calibration
taken with more than :data:`LOAD_PER_CORE_WARN` runnable processes per core. A hardware
profile for a slower edge or a faster cloud can rescale the numbers.

Procedure versions (:attr:`Calibration.procedure`): 1 = median of 5 runs (calibrations
cached before this field existed read as 1); 2 = the :data:`QUANTILE` quantile of
:data:`REPEATS` runs with the load average recorded.

Optional context fits (:attr:`Calibration.context_costs`, asked for with ``context_lens``): each
stage timed at several cache lengths and fitted as ``base + slope * context``
(:mod:`~jointbench.specdec.context_cost`). A calibration without them (every file cached before
they existed, and the suite's default one) has no ``context_costs`` key and reads and prices
exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from jointbench.specdec.context_cost import CONTEXT_KS, ContextCosts, measure_context_costs
from jointbench.specdec.lm import CachedLM


@dataclass
class Calibration:
    """Measured compute times (ms) of one target/draft pair on this machine.

    Attributes
    ----------
    prefill_target_ms, prefill_draft_ms : dict of int to float
        Prompt length ``n`` (tokens) -> time to prefill ``n`` tokens from an empty cache.
    draft_ms : float
        One draft decoding step (one token in, next-token logits out).
    verify_ms : dict of int to float
        ``K`` -> one target pass over ``K + 1`` tokens (last committed + K drafts).
        ``verify_ms[0]`` is one target decoding step (cloud-only cost per token).
    context_len : int
        Cached tokens before each draft/verify measurement.
    threads : int
        ``torch.get_num_threads()`` during the measurement.
    repeats : int
    statistic : str
        How the repeats were reduced (``"median"`` or ``"q0.2"``).
    procedure : int
        Calibration procedure version (see the module docstring).
    loadavg_1m : float or None
        Highest 1-minute load average seen before/after the measurement (None if unknown).
    cpu_count : int or None
        ``os.cpu_count()`` of the machine that measured it.
    context_costs : ContextCosts or None
        Each stage's time against the cache length (least-squares lines), when measured;
        used only by a compute model built with ``context=True``.
    """

    prefill_target_ms: dict[int, float]
    prefill_draft_ms: dict[int, float]
    draft_ms: float
    verify_ms: dict[int, float]
    context_len: int
    threads: int
    repeats: int
    statistic: str = "median"
    procedure: int = 1
    loadavg_1m: float | None = None
    cpu_count: int | None = None
    context_costs: ContextCosts | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` (JSON keys become strings when dumped); no ``context_costs`` key when there are none."""
        out = asdict(self)
        out.pop("context_costs")
        if self.context_costs is not None:
            out["context_costs"] = self.context_costs.to_dict()
        return out

    def timing_hash(self) -> str:
        """16 hex characters of SHA-256 over the timing tables (what decides every simulated time).

        The context fits join the hash only when present, so a calibration without them hashes as before.
        """
        tables: dict[str, Any] = {k: getattr(self, k)
                                  for k in ("prefill_target_ms", "prefill_draft_ms", "draft_ms", "verify_ms")}
        if self.context_costs is not None:
            tables["context_costs"] = self.context_costs.to_dict()
        blob = json.dumps(tables, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def verify_at(self, k: int) -> float:
        """``t_verify(K)`` (ms), linearly inter/extrapolated between measured ``K``."""
        return _interp(self.verify_ms, k)

    def prefill_at(self, role: str, n: int) -> float:
        """``t_prefill(n)`` (ms) for ``role`` in {"target", "draft"}, interpolated."""
        table = self.prefill_target_ms if role == "target" else self.prefill_draft_ms
        return _interp(table, n)


def _interp(table: dict[int, float], x: int) -> float:
    xs = sorted(table)
    if x in table:
        return table[x]
    if len(xs) == 1:
        return table[xs[0]]
    ys = [table[v] for v in xs]
    if x < xs[0] or x > xs[-1]:
        lo, hi = (0, 1) if x < xs[0] else (-2, -1)
        slope = (ys[hi] - ys[lo]) / (xs[hi] - xs[lo])
        return max(0.0, ys[lo] + slope * (x - xs[lo]))
    return float(np.interp(x, xs, ys))


QUANTILE = 0.2
"""Quantile of the repeated timings kept per point (low: load only ever adds time)."""
REPEATS = 9
"""Timed runs per point (after one warm-up)."""
PROCEDURE = 2
LOAD_PER_CORE_WARN = 0.5
"""A calibration taken with a 1-minute load average above this many per core is flagged."""


def _quantile_ms(fn: Callable[[], None], repeats: int, quantile: float) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return float(np.quantile(times, quantile))


def _once_ms(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def loadavg_1m() -> float | None:
    """The 1-minute load average (``None`` where the OS has none)."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def under_load(cal: Calibration) -> bool:
    """True when ``cal`` was taken with more than :data:`LOAD_PER_CORE_WARN` load per core."""
    if cal.loadavg_1m is None or not cal.cpu_count:
        return False
    return cal.loadavg_1m / cal.cpu_count > LOAD_PER_CORE_WARN


def calibrate(
    target: Any,
    draft: Any,
    prompt_lens: Sequence[int] = (16, 64, 256),
    ks: Sequence[int] = (0, 1, 2, 3, 4, 5, 6, 8),
    context_len: int = 64,
    repeats: int = REPEATS,
    seed: int = 0,
    quantile: float = QUANTILE,
    context_lens: Sequence[int] = (),
    context_ks: Sequence[int] = CONTEXT_KS,
) -> Calibration:
    """Profile prefill, draft-step and verify-pass costs of a pair.

    Parameters
    ----------
    target, draft : transformers.PreTrainedModel
        The pair, as the engine will run it.
    prompt_lens : sequence of int
        Prompt lengths (tokens) for ``t_prefill(n)``.
    ks : sequence of int
        Draft lengths for ``t_verify(K)`` (a pass over ``K + 1`` tokens).
    context_len : int
        Tokens already cached when draft steps and verify passes are timed.
    repeats : int
        Timed runs per point (after one warm-up).
    seed : int
        Seeds the random token ids (content does not change dense compute).
    quantile : float
        Quantile of the runs kept per point, in [0, 1] (0.5 = median).
    context_lens : sequence of int
        Cache lengths (tokens) to time every stage at for the context fits
        (:attr:`Calibration.context_costs`); empty (default): no fits.
    context_ks : sequence of int
        Draft lengths whose verify pass is fitted against the context.
    """
    load_before = loadavg_1m()
    vocab = int(target.config.vocab_size)
    gen = torch.Generator().manual_seed(seed)
    longest = max([*prompt_lens, context_len + max(ks) + 1, *(c + max(context_ks) + 2 for c in context_lens)])
    ids = torch.randint(0, vocab, (longest,), generator=gen).tolist()
    target_lm, draft_lm = CachedLM(target), CachedLM(draft)

    def prefill_table(lm: CachedLM) -> dict[int, float]:
        table = {}
        for n in prompt_lens:
            lm.prefill(ids[:n])  # warm-up
            table[int(n)] = _quantile_ms(lambda: lm.prefill(ids[:n]), repeats, quantile)
        return table

    prefill_target = prefill_table(target_lm)
    prefill_draft = prefill_table(draft_lm)

    draft_lm.prefill(ids[:context_len])

    def draft_step() -> None:
        draft_lm.forward(ids[context_len : context_len + 1], 1)
        draft_lm.crop(context_len)

    draft_step()
    draft_ms = _quantile_ms(draft_step, repeats, quantile)

    target_lm.prefill(ids[:context_len])
    verify = {}
    for k in ks:

        def verify_pass(k: int = k) -> None:
            target_lm.forward(ids[context_len : context_len + k + 1], k + 1)
            target_lm.crop(context_len)

        verify_pass()
        verify[int(k)] = _quantile_ms(verify_pass, repeats, quantile)

    statistic = "median" if quantile == 0.5 else f"q{quantile:g}"
    context_costs = None
    if context_lens:
        context_costs = measure_context_costs(lambda: CachedLM(target), lambda: CachedLM(draft), ids, _once_ms,
                                              lambda xs: float(np.quantile(xs, quantile)), repeats, context_lens,
                                              context_ks, statistic)
    return Calibration(
        prefill_target_ms=prefill_target,
        prefill_draft_ms=prefill_draft,
        draft_ms=draft_ms,
        verify_ms=verify,
        context_len=context_len,
        threads=torch.get_num_threads(),
        repeats=repeats,
        statistic=statistic,
        procedure=PROCEDURE,
        loadavg_1m=max((x for x in (load_before, loadavg_1m()) if x is not None), default=None),
        cpu_count=os.cpu_count(),
        context_costs=context_costs,
    )
