"""NASD's draft stop: end a draft early when the draft's own confidence says the rest is unlikely to be kept.

The table picks one ``K`` per cycle from the RTT; inside a cycle the draft knows more. Each
proposal comes with the draft's probability of it (its top-1 softmax probability ``c``), and
on this pair that probability predicts acceptance strongly (calibration prompts:
P(accept) from about 0.4 at ``c < 0.3`` to 1.0 at ``c > 0.99``). The stop turns that into a
rate-optimal length:

**Map** (:class:`ConfidenceMap`, a fact of the model pair): ``f(c)`` = P(the target accepts a
draft token | its draft probability ``c``), fitted on the calibration prompts' traces (one
sample per committed position: the draft's first proposal from that prefix and whether it
matched), in equal-count bins made non-decreasing (pool-adjacent-violators). ``mean`` is the
pooled acceptance, used for a token whose probability is not known yet or was not recorded.

**Rule** (:func:`stop_length`). After drafting ``i >= 1`` tokens with ``P_i = prod_{j<=i} f(c_j)``
(the chance all are accepted), draft on iff some longer draft ``n > i`` (up to the cap) pays:

    max_{n > i}  P_i * sum_{l=1}^{n-i} mean^l  -  R * (c(n) - c(i))  >  0

with ``c(K)`` the cycle time without the RTT (``K`` draft steps, the transmit time and
``t_verify(K)``: :func:`~jointbench.specdec.nasd_model.cycle_ms`), ``mean^l`` the chance the next ``l``
unseen tokens are all accepted, and ``R`` the rate the controller expects (tokens/ms). That is
the condition for maximising ``E[tokens] - R E[time]`` per cycle, Dinkelbach's form of
maximising the rate ``E[tokens] / E[time]``: more tokens are worth drafting when their expected
yield beats what their time earns at rate ``R``. It looks past the next token because a measured
``t_verify(K)`` need not be convex (on this CPU ``t_verify(3)`` was below ``t_verify(2)``), where a
one-step rule stops before a cheap longer draft. The RTT enters through ``R``: a long round trip
lowers the rate and lengthens drafts. ``R`` is the predicted rate of the table's best fixed ``K``
at the current RTT estimate, a lower bound on the rate with the stop, so the rule errs towards
drafting longer. The rule at token ``i`` reads only the probabilities of tokens ``1..i``: a live
drafter asks :meth:`DraftStop.continues` after each token
(:func:`~jointbench.specdec.drafting.draft_block`), a replay applies :func:`stop_length` to the
recorded window, with the same result.

**Answer end** (opt-in, ``answer_end`` of the NASD). A drafted token is also rejected when the
target ends the answer there (it emits EOS where the draft proposes a continuation), and the
draft's own probabilities barely see that coming: on this pair the draft never ranked EOS first
where the target ended. Short answers therefore end with a long confident draft of which nothing
is kept. With the answer-length survival ``S(x) = P(length > x)`` (Kaplan-Meier over the
calibration prompts' answers, :mod:`~jointbench.specdec.nasd_survival`; answers cut by ``max_new_tokens`` are
censored), the ``l``-th token drafted after ``g`` generated tokens is accepted with
``f(c_l) * S(g+l) / S(g+l-1)``, and the look-ahead's unseen tokens carry the same factor. Answers
of different tasks have different lengths (a multiple-choice reason against a worked solution), so
the map keeps one survival per prompt ``kind`` of the calibration set and a pooled one for a query of
another or no kind (:meth:`ConfidenceMap.survival_for`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jointbench.specdec.nasd_survival import continuation

CONFIDENCE_FORMAT = 1
DEFAULT_BINS = 10


def confidence_path(pair: str, root: Path | None = None) -> Path:
    """Where a pair's confidence map lives (``configs/nasd/confidence/<pair>.json``)."""
    from jointbench.netsim.configfiles import config_dir

    return (root or config_dir() / "nasd" / "confidence") / f"{pair}.json"


def nondecreasing_fit(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Weighted least-squares non-decreasing fit (pool-adjacent-violators).

    Parameters
    ----------
    values, weights : sequence of float, same length
        Weights > 0.

    Returns
    -------
    list of float, same length
    """
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights):
        blocks.append([float(v), float(w), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    out: list[float] = []
    for mean, _, count in blocks:
        out += [mean] * int(count)
    return out


@dataclass(frozen=True)
class ConfidenceMap:
    """P(the target accepts a draft token | the draft's probability of it), piecewise constant.

    Attributes
    ----------
    pair : str
        Model pair (key of ``configs/models.yaml``) it was fitted for.
    upper : tuple of float
        Upper edge of each bin (ascending, the last 1.0); bin ``b`` holds ``upper[b-1] < c <= upper[b]``.
    accept : tuple of float
        Acceptance per bin, non-decreasing, in [0, 1].
    counts : tuple of int
        Samples per bin.
    mean : float
        Pooled acceptance over all samples (the value for an unknown probability).
    meta : dict
        Provenance (prompts, traces); not part of the model.
    survival : tuple of float
        ``S(x)`` = P(an answer is longer than ``x`` tokens, EOS included), ``x = 0..max_new_tokens``,
        of the same calibration answers (:func:`~jointbench.specdec.nasd_survival.length_survival`); empty
        when not fitted (maps written before it was kept), which the ``answer_end`` option refuses.
    survival_by_kind : dict of str to tuple of float
        The same per prompt kind of the calibration answers (``"teleqna"``, ``"gsm8k"``).
    """

    pair: str
    upper: tuple[float, ...]
    accept: tuple[float, ...]
    counts: tuple[int, ...]
    mean: float
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    survival: tuple[float, ...] = ()
    survival_by_kind: dict[str, tuple[float, ...]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        n = len(self.upper)
        if n == 0 or len(self.accept) != n or len(self.counts) != n:
            raise ValueError("confidence map: upper, accept and counts need one entry per bin (at least one)")
        if any(b <= a for a, b in zip(self.upper, self.upper[1:])) or self.upper[-1] != 1.0:
            raise ValueError(f"confidence map: upper must increase and end at 1.0, got {self.upper}")
        if any(not 0.0 <= x <= 1.0 for x in (*self.accept, self.mean)):
            raise ValueError("confidence map: accept and mean must be in [0, 1]")
        if any(b < a - 1e-12 for a, b in zip(self.accept, self.accept[1:])):
            raise ValueError(f"confidence map: accept must be non-decreasing, got {self.accept}")
        for name, sv in (("survival", self.survival), *((f"survival_by_kind[{k!r}]", v)
                                                         for k, v in self.survival_by_kind.items())):
            if sv and (sv[0] != 1.0 or any(not 0.0 <= x <= 1.0 for x in sv) or any(b > a for a, b in zip(sv, sv[1:]))):
                raise ValueError(f"confidence map: {name} must start at 1.0 and not increase, within [0, 1]")
        if self.survival_by_kind and not self.survival:
            raise ValueError("confidence map: survival_by_kind needs the pooled survival too")

    def survival_for(self, kind: str | None) -> tuple[float, ...]:
        """The answer-length survival of a query of ``kind`` (the pooled one for another or no kind)."""
        return self.survival_by_kind.get(kind, self.survival) if kind is not None else self.survival

    def accept_prob(self, confidence: float) -> float:
        """``f(c)``; :attr:`mean` for ``nan`` (not recorded)."""
        if math.isnan(confidence):
            return self.mean
        i = int(np.searchsorted(self.upper, confidence, side="left"))
        return self.accept[min(i, len(self.accept) - 1)]

    @classmethod
    def fit(cls, pair: str, confidence: Sequence[float], matched: Sequence[bool], bins: int = DEFAULT_BINS,
            meta: dict[str, Any] | None = None, survival: Sequence[float] = (),
            survival_by_kind: Mapping[str, Sequence[float]] | None = None) -> ConfidenceMap:
        """Equal-count bins of the probabilities, their acceptance made non-decreasing.

        Parameters
        ----------
        confidence : sequence of float, shape (n,)
            The draft's probability of each sampled proposal.
        matched : sequence of bool, shape (n,)
            Whether the target accepted it.
        bins : int
            Number of bins (fewer when probabilities tie at a bin edge).
        survival : sequence of float
            :attr:`survival` (:func:`~jointbench.specdec.nasd_survival.length_survival` of the same answers);
            empty: not fitted.
        survival_by_kind : mapping of str to sequence of float, optional
            :attr:`survival_by_kind`.
        """
        c = np.asarray(confidence, dtype=float)
        m = np.asarray(matched, dtype=float)
        if c.ndim != 1 or c.shape != m.shape or c.size < bins or bins < 1:
            raise ValueError(f"confidence map: need at least bins={bins} samples, matching shapes; "
                             f"got {c.shape} and {m.shape}")
        if np.any(np.isnan(c)) or np.any((c < 0) | (c > 1)):
            raise ValueError("confidence map: probabilities must be in [0, 1] (no nan)")
        edges = np.unique(np.quantile(c, np.linspace(0, 1, bins + 1)[1:-1], method="lower"))
        upper = [float(e) for e in edges if e < 1.0] + [1.0]
        idx = np.searchsorted(upper, c, side="left")
        counts = np.bincount(idx, minlength=len(upper))
        keep = counts > 0
        upper = [u for u, k in zip(upper, keep) if k]
        upper[-1] = 1.0
        idx = np.searchsorted(upper, c, side="left")
        counts = np.bincount(idx, minlength=len(upper))
        raw = np.bincount(idx, weights=m, minlength=len(upper)) / counts
        accept = nondecreasing_fit(raw.tolist(), counts.tolist())
        return cls(pair, tuple(upper), tuple(float(a) for a in accept), tuple(int(n) for n in counts),
                   float(m.mean()), dict(meta or {}), tuple(float(x) for x in survival),
                   {str(k): tuple(float(x) for x in v) for k, v in (survival_by_kind or {}).items()})

    def model_dict(self) -> dict[str, Any]:
        """Everything that decides the map (what :attr:`map_hash` covers)."""
        d = asdict(self)
        d.pop("meta")
        if not self.survival:  # a map without it hashes as before the field existed
            d.pop("survival")
        if not self.survival_by_kind:
            d.pop("survival_by_kind")
        return {"format": CONFIDENCE_FORMAT, **d}

    @property
    def map_hash(self) -> str:
        """SHA-256 (first 16 hex digits) of :meth:`model_dict`."""
        return hashlib.sha256(json.dumps(self.model_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def save(self, path: str | Path) -> Path:
        """Write as JSON (atomic), with its hash and ``meta``."""
        from jointbench.cache import atomic_write_json

        return atomic_write_json(path, {**self.model_dict(), "map_hash": self.map_hash, "meta": self.meta},
                                 indent=1)

    @classmethod
    def load(cls, path: str | Path, pair: str | None = None) -> ConfidenceMap:
        """Read a map; refuse another format, a hash that does not match, or (``pair``) another pair."""
        p = Path(path)
        rebuild = "`python -m jointbench.specdec.nasd_calibrate --confidence-only`"
        if not p.is_file():
            raise FileNotFoundError(f"NASD confidence map {p} not found; build it with {rebuild}")
        data = json.loads(p.read_text(encoding="utf-8"))
        if data.get("format") != CONFIDENCE_FORMAT:
            raise ValueError(f"{p}: confidence map format {data.get('format')!r}, this code reads "
                             f"{CONFIDENCE_FORMAT}; rebuild it with {rebuild}")
        cmap = cls(str(data["pair"]), tuple(float(x) for x in data["upper"]),
                   tuple(float(x) for x in data["accept"]), tuple(int(x) for x in data["counts"]),
                   float(data["mean"]), dict(data.get("meta", {})),
                   tuple(float(x) for x in data.get("survival", ())),
                   {str(k): tuple(float(x) for x in v) for k, v in data.get("survival_by_kind", {}).items()})
        if data.get("map_hash") != cmap.map_hash:
            raise ValueError(f"{p}: map_hash {data.get('map_hash')!r} does not match its content "
                             f"({cmap.map_hash}); maps are not hand-edited, rebuild it with {rebuild}")
        if pair is not None and pair != cmap.pair:
            raise ValueError(f"NASD confidence map {p} was fitted for pair '{cmap.pair}', but this run uses "
                             f"pair '{pair}'; rebuild it with {rebuild} --pair {pair}")
        return cmap


def trace_samples(greedy: Any) -> tuple[list[float], list[bool]]:
    """One (probability, accepted) sample per committed position of a T=0 trace.

    At position ``j`` (anchor ``a``, agreement ``m`` from ``a``) the draft's first proposal
    from ``prompt + g[:j]`` is the anchor's proposal ``j - a``; it matched iff ``j - a < m``.

    Parameters
    ----------
    greedy : GreedyTrace
        With :attr:`~jointbench.specdec.trace.GreedyTrace.has_confidence`.
    """
    if not greedy.has_confidence:
        raise ValueError("trace has no draft probabilities (recorded before they were kept); record it again")
    conf: list[float] = []
    matched: list[bool] = []
    for j in range(len(greedy.target_tokens)):
        a = greedy.anchor[j]
        i = j - a
        probs = greedy.confidence[a]
        if i < len(probs):
            conf.append(float(probs[i]))
            matched.append(i < greedy.match_len[a])
    return conf, matched


@dataclass(frozen=True)
class DraftStop:
    """The stop rule of one cycle (module docstring).

    Attributes
    ----------
    cmap : ConfidenceMap
    cycle_ms : tuple of float
        ``c(K)`` for ``K = 0..K_max``: the cycle time without the RTT (ms).
    rate_per_ms : float
        ``R``: the rate the controller expects (tokens/ms, >= 0).
    survival : tuple of float
        The answer-length survival of the *answer end* factor (module docstring); empty: off.
    generated : int
        Tokens the query has generated before this cycle (where the survival is read).
    """

    cmap: ConfidenceMap
    cycle_ms: tuple[float, ...]
    rate_per_ms: float
    survival: tuple[float, ...] = ()
    generated: int = 0

    def _alive(self, k: int) -> np.ndarray:
        return continuation(self.survival, self.generated, k)  # all ones when the answer end is off

    def length(self, confidence: Sequence[float], k: int | None = None) -> int:
        """Tokens a replay drafts of a window whose draft probabilities are ``confidence``.

        ``k``: the cycle's cap (default ``len(confidence)``; larger when EOS ended the window early).
        """
        cap = len(confidence) if k is None else int(k)
        return stop_length(confidence, self.cmap, self.cycle_ms, self.rate_per_ms, k, self._alive(cap))

    def continues(self, confidence: Sequence[float], k: int) -> bool:
        """A live drafter's question after drafting ``len(confidence)`` of at most ``k`` tokens: draft another?"""
        i = len(confidence)
        if i >= k:
            return False
        if i == 0:
            return True
        alive = self._alive(k)
        p_all = float(np.prod([self.cmap.accept_prob(float(c)) * alive[l] for l, c in enumerate(confidence, 1)]))
        return _pays(p_all, i, k, self.cmap, self.cycle_ms, self.rate_per_ms, alive)


def _pays(p_all: float, i: int, k: int, cmap: ConfidenceMap, cycle_ms: Sequence[float], rate_per_ms: float,
          alive: np.ndarray) -> bool:
    """True when some draft of ``n`` in ``i+1..k`` tokens gains (the module docstring's condition)."""
    # expected accepted of the next l unseen tokens (alive: the answer end's factors, ones when off)
    ahead = np.cumsum(cmap.mean ** np.arange(1, k - i + 1) * np.cumprod(alive[i + 1: k + 1]))
    cost = np.asarray(cycle_ms[i: k + 1], dtype=float)
    return bool(np.any(p_all * ahead - rate_per_ms * (cost[1:] - cost[0]) > 0.0))


def stop_length(confidence: Sequence[float], cmap: ConfidenceMap, cycle_ms: Sequence[float],
                rate_per_ms: float, k: int | None = None, alive: Sequence[float] | None = None) -> int:
    """How many tokens of a window the rule drafts (module docstring).

    Parameters
    ----------
    confidence : sequence of float, shape (L,)
        The draft's probability of each token of the window (``nan``: not known).
    cmap : ConfidenceMap
    cycle_ms : sequence of float, shape (>= k + 1,)
        ``c(K)``, ``K = 0..``: the cycle time without the RTT (ms).
    rate_per_ms : float
        ``R`` (tokens/ms).
    k : int, optional
        The cycle's cap, ``>= L`` (default ``L``); the look-ahead reaches it.
    alive : sequence of float, shape (>= k + 1,), optional
        :func:`~jointbench.specdec.nasd_survival.continuation` factors of the answer end (index ``l``: the
        ``l``-th drafted token); None: off.

    Returns
    -------
    int
        In ``1..L`` (0 for an empty window): the same length a live drafter asking
        :meth:`DraftStop.continues` after every token reaches.
    """
    n = len(confidence)
    k = n if k is None else int(k)
    if n == 0:
        return 0
    if k < n:
        raise ValueError(f"k: the cap ({k}) is shorter than the window ({n})")
    if len(cycle_ms) < k + 1:
        raise ValueError(f"cycle_ms: need {k + 1} entries for a cap of {k}, got {len(cycle_ms)}")
    al = np.ones(k + 1) if alive is None else np.asarray(alive, dtype=float)
    if len(al) < k + 1:
        raise ValueError(f"alive: need {k + 1} entries for a cap of {k}, got {len(al)}")
    p_all = 1.0
    for i in range(1, n):
        p_all *= cmap.accept_prob(float(confidence[i - 1])) * float(al[i])
        if not _pays(p_all, i, k, cmap, cycle_ms, rate_per_ms, al):
            return i
    return n
