"""Context-dependent stage costs: each stage timed at several cache lengths, fitted as ``base + slope * context``.

A draft step, a verify pass and a decode step get slower as the KV cache grows (attention reads every
cached token): on this CPU a SmolLM2-135M draft step took 25.0 ms with 64 tokens cached and 30.8 ms with
600. The flat calibration (:class:`~jointbench.specdec.calibrate.Calibration`) times every stage at one
cache length (``context_len``, 64 tokens). :func:`measure_context_costs` times each stage at several cache
lengths (:data:`CONTEXT_LENS`) and :func:`fit_linear` fits it by ordinary least squares; the
:class:`~jointbench.specdec.compute.ComputeModel` charges these fits when asked (``compute_context: true``).

Stages (``context`` = tokens in the model's KV cache before the forward):

- ``draft``: one draft step, one token in;
- ``refeed``: a cycle's first draft step, which re-feeds the last two committed tokens as one chunk
  (:func:`~jointbench.specdec.drafting.commit_draft_cache` keeps the draft's cache two committed tokens
  short, so every cycle starts with a two-token forward);
- ``verify[K]``: one target pass over ``K + 1`` tokens; ``verify[0]`` is one target decoding step.
  ``K`` between measured values: base and slope interpolated linearly in ``K`` (beyond: extrapolated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

CONTEXT_LENS: tuple[int, ...] = (64, 192, 384, 640)
"""Cache lengths (tokens) each stage is timed at."""
CONTEXT_KS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16)
"""Draft lengths whose verify pass is timed at every cache length (the flat calibration's)."""
REFEED_TOKENS = 2
"""Tokens a cycle's first draft step feeds (the chunked re-feed)."""


@dataclass(frozen=True)
class LinearFit:
    """``t(context) = base_ms + slope_ms_per_token * context`` (ms), floored at 0.

    Attributes
    ----------
    base_ms : float
        Intercept (ms at an empty cache).
    slope_ms_per_token : float
        Extra ms per cached token.
    """

    base_ms: float
    slope_ms_per_token: float

    def at(self, context: float) -> float:
        """Time (ms) with ``context`` tokens cached."""
        return max(0.0, self.base_ms + self.slope_ms_per_token * float(context))


def fit_linear(contexts: Sequence[float], times_ms: Sequence[float]) -> LinearFit:
    """Ordinary least-squares line through ``(context, time)`` points.

    Parameters
    ----------
    contexts : sequence of float
        Cache lengths (tokens), at least two distinct values.
    times_ms : sequence of float
        Measured times (ms), one per context.

    Raises
    ------
    ValueError
        Fewer than two distinct contexts, or lengths differ.
    """
    x, y = np.asarray(contexts, dtype=float), np.asarray(times_ms, dtype=float)
    if x.shape != y.shape or len(set(x.tolist())) < 2:
        raise ValueError(f"fit_linear: need >= 2 distinct contexts and one time each, got {x.tolist()} / {y.tolist()}")
    design = np.stack([np.ones_like(x), x], axis=1)
    (base, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
    return LinearFit(float(base), float(slope))


@dataclass
class ContextCosts:
    """Least-squares fits of each stage's time against the cache length (see the module docstring).

    Attributes
    ----------
    contexts : list of int
        Cache lengths timed (tokens).
    draft : LinearFit
        One draft step.
    refeed : LinearFit
        A cycle's first draft step (:data:`REFEED_TOKENS` tokens in).
    verify : dict of int to LinearFit
        ``K`` -> one target pass over ``K + 1`` tokens (``0``: a decoding step).
    points : dict of str to list of float
        The measured times behind each fit (ms, one per context), keyed ``draft``, ``refeed``,
        ``verify<K>``; kept for provenance, never read by the model.
    repeats : int
    statistic : str
        How the repeats of each point were reduced (``"q0.2"``, ``"median"``).
    """

    contexts: list[int]
    draft: LinearFit
    refeed: LinearFit
    verify: dict[int, LinearFit]
    points: dict[str, list[float]] = field(default_factory=dict)
    repeats: int = 0
    statistic: str = ""

    def verify_fit(self, k: int) -> LinearFit:
        """The fit of a pass verifying ``k`` drafts, interpolated in ``K`` between measured draft lengths."""
        if k in self.verify:
            return self.verify[k]
        ks = sorted(self.verify)
        if len(ks) == 1:
            return self.verify[ks[0]]
        lo, hi = (ks[0], ks[1]) if k < ks[0] else (ks[-2], ks[-1]) if k > ks[-1] else \
            (max(x for x in ks if x < k), min(x for x in ks if x > k))
        w = (k - lo) / (hi - lo)
        a, b = self.verify[lo], self.verify[hi]
        return LinearFit(a.base_ms + w * (b.base_ms - a.base_ms),
                         a.slope_ms_per_token + w * (b.slope_ms_per_token - a.slope_ms_per_token))

    def draft_block_ms(self, steps: int, context: int) -> float:
        """``steps`` draft steps of a cycle whose committed sequence has ``context`` tokens (ms).

        The first step re-feeds the last two committed tokens (``context - 2`` cached), step ``i >= 1``
        feeds one token with ``context + i - 1`` cached.
        """
        if steps <= 0:
            return 0.0
        first = self.refeed.at(max(0, context - REFEED_TOKENS))
        return first + sum(self.draft.at(context + i) for i in range(steps - 1))

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` for JSON (int keys become strings when dumped)."""
        return {"contexts": list(self.contexts), "draft": _fit_dict(self.draft), "refeed": _fit_dict(self.refeed),
                "verify": {int(k): _fit_dict(v) for k, v in self.verify.items()},
                "points": {k: list(v) for k, v in self.points.items()}, "repeats": self.repeats,
                "statistic": self.statistic}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContextCosts:
        """Inverse of :meth:`to_dict` after a JSON round trip.

        Raises
        ------
        ValueError
            Naming the missing or malformed key.
        """
        try:
            return cls(contexts=[int(c) for c in data["contexts"]], draft=LinearFit(**data["draft"]),
                       refeed=LinearFit(**data["refeed"]),
                       verify={int(k): LinearFit(**v) for k, v in data["verify"].items()},
                       points={str(k): [float(x) for x in v] for k, v in data.get("points", {}).items()},
                       repeats=int(data.get("repeats", 0)), statistic=str(data.get("statistic", "")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"context_costs: missing or malformed field ({exc!r}); expected keys contexts, draft, "
                             "refeed, verify (each fit {base_ms, slope_ms_per_token})") from None

    def scaled(self, draft: float = 1.0, verify: float = 1.0) -> ContextCosts:
        """A copy with the draft-side fits times ``draft`` and the target-side fits times ``verify``."""
        def sc(f: LinearFit, s: float) -> LinearFit:
            return LinearFit(f.base_ms * s, f.slope_ms_per_token * s)

        return ContextCosts(list(self.contexts), sc(self.draft, draft), sc(self.refeed, draft),
                            {k: sc(v, verify) for k, v in self.verify.items()}, dict(self.points), self.repeats,
                            f"{self.statistic}; scaled draft x{draft:.3f}, verify x{verify:.3f}")


def _fit_dict(f: LinearFit) -> dict[str, float]:
    return {"base_ms": f.base_ms, "slope_ms_per_token": f.slope_ms_per_token}


def measure_context_costs(new_target_lm: Callable[[], Any], new_draft_lm: Callable[[], Any], ids: Sequence[int],
                          time_once: Callable[[Callable[[], None]], float],
                          reduce: Callable[[list[float]], float], repeats: int,
                          contexts: Sequence[int] = CONTEXT_LENS, ks: Sequence[int] = CONTEXT_KS,
                          statistic: str = "") -> ContextCosts:
    """Time every stage at every cache length in ``contexts`` and fit each by least squares.

    One cache per context and model, and the contexts taken in turn within each repeat (round robin),
    so that a change of the machine's speed during the measurement hits every context alike instead
    of tilting the slope.

    Parameters
    ----------
    new_target_lm, new_draft_lm : callable
        Each call returns a fresh :class:`~jointbench.specdec.lm.CachedLM` of the target / the draft.
    ids : sequence of int
        Token ids, at least ``max(contexts) + max(ks) + 2`` long (content does not change dense compute).
    time_once : callable
        Times one zero-argument call, returns ms.
    reduce : callable
        The repeats of one point -> its time (ms; the calibration's statistic).
    repeats : int
        Timed runs per point, after one warm-up.
    contexts : sequence of int
        Cache lengths (tokens), at least two distinct, each >= 1.
    ks : sequence of int
        Draft lengths of the timed verify passes.
    statistic : str
        Recorded with the fits.
    """
    if len(set(contexts)) < 2 or min(contexts) < 1:
        raise ValueError(f"context lengths {list(contexts)}: need >= 2 distinct values, each >= 1")
    if len(ids) < max(contexts) + max(ks) + 2:
        raise ValueError(f"need {max(contexts) + max(ks) + 2} ids, got {len(ids)}")
    caches = {}
    for c in contexts:
        caches["draft", c], caches["target", c] = new_draft_lm(), new_target_lm()
        caches["draft", c].prefill(list(ids[:c]))
        caches["target", c].prefill(list(ids[:c]))
    stages = {"draft": ("draft", 1, 1), "refeed": ("draft", REFEED_TOKENS, 1),
              **{f"verify{k}": ("target", k + 1, k + 1) for k in ks}}
    points: dict[str, list[float]] = {}
    for name, (role, n, logits) in stages.items():
        def run(c: int, lm: Any = None, n: int = n, logits: int = logits) -> None:
            lm.forward(list(ids[c:c + n]), logits)
            lm.crop(c)

        calls = {c: (lambda c=c, lm=caches[role, c]: run(c, lm)) for c in contexts}
        for call in calls.values():
            call()  # warm-up
        times: dict[int, list[float]] = {c: [] for c in contexts}
        for _ in range(repeats):
            for c in contexts:
                times[c].append(time_once(calls[c]))
        points[name] = [reduce(times[c]) for c in contexts]
    return ContextCosts(contexts=[int(c) for c in contexts], draft=fit_linear(contexts, points["draft"]),
                        refeed=fit_linear(contexts, points["refeed"]),
                        verify={int(k): fit_linear(contexts, points[f"verify{k}"]) for k in ks},
                        points=points, repeats=repeats, statistic=statistic)
