"""NASD: network-adaptive speculation depth, a draft-length policy that sees the link.

Before each cycle the controller estimates the RTT (the previous cycle's measurement,
``rtt_mode="raw"``, or its RFC 6298 smoothed value SRTT, ``"srtt"``), looks ``K*`` up in
a calibrated :class:`~jointbench.specdec.nasd_table.NasdTable` for the current bandwidth
estimate, and predicts the rate of that ``K``. No model is called: a decision is two
bisections and one division.

**Cutoff.** Condition ``C``: the predicted rate of the best ``K`` is below
``cutoff_margin x`` the fallback's rate (edge-only by default, as in the seed;
cloud-only selectable). The cutoff enters after ``C`` held at ``enter_after``
consecutive decisions. While in cutoff, ``next_k`` returns 0 except for *probes*: one
speculative cycle (with the table's ``K``) once ``probe_interval_ms`` of virtual time
have passed since the cutoff began or the last probe ended, and again at the next
decision while the latest probe's own RTT sample predicts a rate above the release
level (the link looks recovered). The cutoff releases after ``release_after``
consecutive probes whose *estimate* predicts a rate above
``(1 + hysteresis) x cutoff_margin x`` the fallback's; any probe below that level
restarts the count. With ``probe_backoff > 1`` every probe that does not count towards
release multiplies the interval (up to ``probe_interval_max_ms``), as TCP backs off its
retransmission timer; entering the cutoff or a counting probe restores ``probe_interval_ms``.

**How the loop interprets** ``next_k(state) == 0``: not a target-only cycle
(``FixedK(0)``, one round trip per token) but one *fallback step*: with
``fallback == "edge_only"`` the edge decodes up to :attr:`Nasd.fallback_tokens` tokens
with the draft model alone and sends nothing (lossy: the query must be reported
as quality-changing, see :attr:`Nasd.lossy`); with ``"cloud_only"`` the cloud decodes
up to that many tokens with the target and streams them down (lossless). The loop then
calls ``update(CycleOutcome(drafted=0, accepted=0, committed=n, cycle_ms=...,
rtt_ms=None))``. A ``K > 0`` is an ordinary draft/verify cycle, reported with the RTT it
measured.

Edge-only is usually *faster* than speculative decoding when the draft runs alone
(``1/t_draft`` tokens/s against ``E[tau]/(K t_draft + ...)``): with ``cutoff_margin=1``
the edge-only cutoff then fires at every RTT. Use ``fallback="cloud_only"`` for a
lossless controller, or ``cutoff_margin < 1`` to ask how much slower than the lossy
edge-only path speculation may be before the cutoff trades quality for speed.

**Acceptance.** ``acceptance="table"`` (the seed) looks ``K*`` up in the table, built on the
calibration split's acceptance. ``"online"`` keeps a per-position acceptance estimate with
the table's profile as its prior, updated from the session's own cycles
(:class:`~jointbench.specdec.nasd_online.OnlineAcceptance`); ``"shift"`` moves the table's
profile by one logit shift fitted to the session's cycles
(:class:`~jointbench.specdec.nasd_shift.ShiftAcceptance`). Both re-maximise the same
rate model over ``K`` at every decision (``O(K_max)`` arithmetic, no model call). The cutoff
and the probes keep the table's prediction in both modes (:meth:`Nasd.cutoff_rate`): a mode
switch needs a steady signal, and once in cutoff the fallback runs no speculative cycles to
correct a dip of the online estimate (measured: driving the cutoff with the online estimate
held NASD + cloud fallback at 0.84 x the oracle at edge-npu-4x/this-cpu, RTT 100 ms).

**Draft stop.** With a :class:`~jointbench.specdec.nasd_stop.ConfidenceMap` (``stop``), a
speculative decision asks for ``stop_k_max`` tokens and sets :attr:`Nasd.draft_stop`: the rule
that ends the draft early by the draft's probabilities of its tokens, priced at the rate the
controller predicts at its RTT estimate (:mod:`~jointbench.specdec.nasd_stop`). The loop applies it.
"""

from __future__ import annotations

import math

from jointbench.specdec.nasd_horizon import HORIZON_TOKENS, horizon_k
from jointbench.specdec.nasd_model import FALLBACKS, cycle_ms
from jointbench.specdec.nasd_online import (
    ACCEPTANCE_SOURCES,
    DEFAULT_DISCOUNT,
    DEFAULT_PRIOR_STRENGTH,
    OnlineAcceptance,
    best_k,
)
from jointbench.specdec.nasd_rtt import SRTT_ALPHA, RttEstimator
from jointbench.specdec.nasd_shift import DEFAULT_SHIFT_STRENGTH, ShiftAcceptance
from jointbench.specdec.nasd_stop import ConfidenceMap, DraftStop
from jointbench.specdec.nasd_table import NasdTable
from jointbench.specdec.nasd_types import CycleLog, CycleOutcome, LinkAwareState, log_totals

def _positive_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key}: must be an int >= 1, got {value!r}")
    return value


def _nonneg_float(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value) >= 0.0:
        raise ValueError(f"{key}: must be a number >= 0, got {value!r}")
    return float(value)


class Nasd:
    """The NASD draft-length controller (see the module docstring for the rules).

    Parameters
    ----------
    table : NasdTable
        Built for the run's pair and hardware pair (check with :meth:`NasdTable.check_for`).
    rtt_mode : {"raw", "srtt", "median3"}
        Previous cycle's RTT, RFC 6298 SRTT, or the median of the last three RTTs.
    fallback : {"edge_only", "cloud_only"}
        What a cutoff step runs.
    cutoff : bool
        False disables the cutoff (``next_k`` never returns 0).
    cutoff_margin : float
        Cutoff when predicted rate < ``cutoff_margin`` x fallback rate (> 0).
    hysteresis : float
        Release needs a predicted rate above ``(1 + hysteresis)`` x the cutoff level (>= 0).
    enter_after, release_after : int
        Consecutive decisions / probes needed to enter / release the cutoff (>= 1).
    probe_interval_ms : float
        Virtual time between probes while in cutoff (ms, > 0).
    probe_backoff : float
        Factor (>= 1) applied to the interval after a probe that saw no recovery (1 = fixed interval).
    probe_interval_max_ms : float or None
        Cap of the backed-off interval (ms, >= ``probe_interval_ms``); ``None`` = no cap.
    fallback_tokens : int
        Tokens one fallback step should decode (the loop reads it).
    initial_rtt_ms : float
        RTT assumed before any measurement (ms).
    rtt_alpha : float
        SRTT gain in (0, 1] (RFC 6298: 1/8; larger follows a changed link faster).
    acceptance : {"table", "online"}
        ``K*`` from the table (the seed) or from the online acceptance estimate (module docstring).
    prior_strength : float
        ``online``: pseudo-cycles the table's profile counts for per position (> 0).
    discount : float
        ``online``: forgetting factor in (0, 1] applied per verified cycle (1 = none).
    context : bool
        ``online``: separate estimates after a fully accepted draft and after a rejection.
    shift_strength : float
        ``shift``: prior precision of the session's logit shift (> 0).
    shift_local : float or None
        ``shift``: pseudo-cycles per position of a Beta posterior around the shifted profile (None: off).
    horizon : bool
        In the last :data:`~jointbench.specdec.nasd_horizon.HORIZON_TOKENS` tokens of a query, pick the
        ``K`` that minimises the expected time to finish it (:func:`~jointbench.specdec.nasd_horizon.horizon_k`)
        instead of the steady-state rate's argmax.
    stop : ConfidenceMap or None
        End drafts early by the draft's probabilities (module docstring, *Draft stop*); None: off.
    stop_k_max : int or None
        With ``stop``: the ``K`` asked (the cap of a stopped draft), at most the table's ``K_max``
        (None: the table's ``K_max``).
    stream_rtt : bool
        While in a cloud-only cutoff, take the round trip the transport sees on the token stream
        (:attr:`~jointbench.specdec.nasd_types.CycleOutcome.stream_rtt_ms`) as RTT samples, and release
        once ``release_after`` consecutive samples predict a rate above the release level, without
        waiting for a probe (default off: only probes measure the link in the cutoff).
    answer_end : bool
        With ``stop``: weigh each drafted token by the chance the target does not end the answer there,
        from the map's answer-length survival of the query's prompt kind (:attr:`query_kind`, set by the
        policy per query; :mod:`~jointbench.specdec.nasd_stop`, *Answer end*); default off.
    """

    def __init__(self, table: NasdTable, rtt_mode: str = "srtt", fallback: str = "edge_only", cutoff: bool = True,
                 cutoff_margin: float = 1.0, hysteresis: float = 0.1, enter_after: int = 1, release_after: int = 2,
                 probe_interval_ms: float = 1000.0, fallback_tokens: int = 8, initial_rtt_ms: float = 0.0,
                 rtt_alpha: float = SRTT_ALPHA, probe_backoff: float = 1.0,
                 probe_interval_max_ms: float | None = None, acceptance: str = "table",
                 prior_strength: float = DEFAULT_PRIOR_STRENGTH, discount: float = DEFAULT_DISCOUNT,
                 context: bool = False, shift_strength: float = DEFAULT_SHIFT_STRENGTH,
                 shift_local: float | None = None, horizon: bool = False, stop: ConfidenceMap | None = None,
                 stop_k_max: int | None = None, stream_rtt: bool = False, answer_end: bool = False) -> None:
        if not isinstance(table, NasdTable):
            raise TypeError(f"table: expected a NasdTable, got {type(table).__name__}")
        if fallback not in FALLBACKS:
            raise ValueError(f"fallback={fallback!r}: unknown. Available: {', '.join(FALLBACKS)}")
        if not isinstance(cutoff, bool):
            raise ValueError(f"cutoff: must be a bool, got {cutoff!r}")
        self.table = table
        self.rtt = RttEstimator(rtt_mode, alpha=rtt_alpha)
        self.fallback = fallback
        self.cutoff_enabled = cutoff
        self.cutoff_margin = _nonneg_float("cutoff_margin", cutoff_margin)
        if self.cutoff_margin <= 0:
            raise ValueError(f"cutoff_margin: must be > 0, got {cutoff_margin!r}")
        self.hysteresis = _nonneg_float("hysteresis", hysteresis)
        self.enter_after = _positive_int("enter_after", enter_after)
        self.release_after = _positive_int("release_after", release_after)
        self.probe_interval_ms = _nonneg_float("probe_interval_ms", probe_interval_ms)
        if self.probe_interval_ms <= 0:
            raise ValueError(f"probe_interval_ms: must be > 0, got {probe_interval_ms!r}")
        self.probe_backoff = _nonneg_float("probe_backoff", probe_backoff)
        if self.probe_backoff < 1.0:
            raise ValueError(f"probe_backoff: must be >= 1, got {probe_backoff!r}")
        self.probe_interval_max_ms = (math.inf if probe_interval_max_ms is None
                                      else _nonneg_float("probe_interval_max_ms", probe_interval_max_ms))
        if self.probe_interval_max_ms < self.probe_interval_ms:
            raise ValueError(f"probe_interval_max_ms: must be >= probe_interval_ms ({self.probe_interval_ms}), "
                             f"got {probe_interval_max_ms!r}")
        self.fallback_tokens = _positive_int("fallback_tokens", fallback_tokens)
        if acceptance not in ACCEPTANCE_SOURCES:
            raise ValueError(f"acceptance={acceptance!r}: unknown. Available: {', '.join(ACCEPTANCE_SOURCES)}")
        self.acceptance = acceptance
        if not isinstance(horizon, bool):
            raise ValueError(f"horizon: must be a bool, got {horizon!r}")
        self.horizon = horizon
        if not isinstance(stream_rtt, bool):
            raise ValueError(f"stream_rtt: must be a bool, got {stream_rtt!r}")
        self.stream_rtt = stream_rtt
        if stop is not None and not isinstance(stop, ConfidenceMap):
            raise TypeError(f"stop: expected a ConfidenceMap or None, got {type(stop).__name__}")
        self.stop = stop
        self.stop_k_max = table.k_max if stop_k_max is None else _positive_int("stop_k_max", stop_k_max)
        if self.stop_k_max > table.k_max:
            raise ValueError(f"stop_k_max: must be <= the table's K_max ({table.k_max}), got {stop_k_max!r}")
        if not isinstance(answer_end, bool):
            raise ValueError(f"answer_end: must be a bool, got {answer_end!r}")
        if answer_end and stop is None:
            raise ValueError("answer_end: needs the draft stop (draft_stop: true)")
        if answer_end and stop is not None and not stop.survival:
            raise ValueError("answer_end: the confidence map has no answer-length survival; rebuild it with "
                             "`python -m jointbench.specdec.nasd_calibrate --confidence-only`")
        self.answer_end = answer_end
        self.query_kind: str | None = None
        """The prompt kind of the query being served (the answer end's survival); None: unknown."""
        self.draft_stop: DraftStop | None = None
        """The stop rule of the cycle :meth:`next_k` just asked for (None: draft all ``K``)."""
        self.online: OnlineAcceptance | ShiftAcceptance | None = (
            OnlineAcceptance(table.acceptance, prior_strength, discount, context=context) if acceptance == "online"
            else ShiftAcceptance(table.acceptance, shift_strength, discount, shift_local) if acceptance == "shift"
            else None)
        self._fixed_ms: dict[int, tuple[float, ...]] = {}
        self.initial_rtt_ms = _nonneg_float("initial_rtt_ms", initial_rtt_ms)
        self.enter_level = self.cutoff_margin * table.fallback_rate(fallback)
        """Predicted tokens/s below which condition C holds."""
        self.release_level = (1.0 + self.hysteresis) * self.enter_level
        """Predicted tokens/s a probe's estimate must exceed to count towards release."""
        self.reset_link()

    def __repr__(self) -> str:
        return (f"Nasd(formula={self.table.formula}, rtt_mode={self.rtt.mode}, fallback={self.fallback}, "
                f"cutoff={self.cutoff_enabled}, acceptance={self.acceptance})")

    # -- state ------------------------------------------------------------------------------

    def reset_link(self) -> None:
        """Forget the link (RTT estimate, cutoff mode) and the log: a fresh controller."""
        self.rtt.reset()
        self.in_cutoff = False
        self.cutoff_entries = 0
        self._below = 0
        self._above = 0
        self._reprobe = False
        self._last_probe_ms = 0.0
        self._interval_ms = self.probe_interval_ms
        self._bw: float | None = None
        if self.online is not None:
            self.online.reset()
        self.reset()

    def reset(self) -> None:
        """Start a new query's log. The link estimate and the cutoff mode carry over (same link)."""
        self.log: list[CycleLog] = []
        self.lossy = False
        """True once an edge-only fallback step was asked for in this query (quality-changing)."""
        self._pending: tuple[float, int, float | None, float, bool, bool] | None = None

    def totals(self) -> dict[str, float]:
        """Sums over this query's log (:func:`~jointbench.specdec.nasd_types.log_totals`)."""
        return log_totals(self.log)

    # -- decisions --------------------------------------------------------------------------

    def best(self, rtt_ms: float, bandwidth_mbps: float | None) -> tuple[int, float]:
        """``(K*, predicted tokens/s of K*)`` at an RTT and bandwidth estimate."""
        if self.online is not None:
            return best_k(self.online.expected(), self._fixed(bandwidth_mbps), rtt_ms, self.table.k_min,
                          self.table.k_max)
        k = self.table.k_for(rtt_ms, bandwidth_mbps)
        return k, self.table.rate(k, rtt_ms, bandwidth_mbps)

    def _fixed(self, bandwidth_mbps: float | None) -> tuple[float, ...]:
        """Cycle time without the RTT per ``K = 0..K_max`` at the table row's bandwidth (ms), cached per row."""
        row = self.table.row_index(bandwidth_mbps)
        if row not in self._fixed_ms:
            bw = self.table.bandwidths_mbps[row]
            self._fixed_ms[row] = tuple(cycle_ms(k, 0.0, bw, self.table.costs, self.table.formula)
                                        for k in range(self.table.k_max + 1))
        return self._fixed_ms[row]

    def condition(self, rtt_ms: float, bandwidth_mbps: float | None) -> bool:
        """Cutoff condition C: the best ``K``'s predicted rate is below the enter level."""
        return self.cutoff_enabled and self.cutoff_rate(rtt_ms, bandwidth_mbps) < self.enter_level

    def cutoff_rate(self, rtt_ms: float, bandwidth_mbps: float | None) -> float:
        """Predicted tokens/s the cutoff compares with the fallback's: the table's ``K*`` under the table's
        acceptance, whichever source picks ``K`` (module docstring, *Acceptance*)."""
        return self.table.rate(self.table.k_for(rtt_ms, bandwidth_mbps), rtt_ms, bandwidth_mbps)

    def _condition_from(self, rate: float) -> bool:
        return self.cutoff_enabled and rate < self.enter_level

    def next_k(self, state: LinkAwareState) -> int:
        """Draft length of the next cycle; 0 = one fallback step (module docstring)."""
        if self.rtt.value is None and state.last_rtt_ms is not None:
            self.rtt.update(state.last_rtt_ms)
        est = self.rtt.value if self.rtt.value is not None else self.initial_rtt_ms
        bw = state.bandwidth_estimate()
        self._bw = bw
        k_best = self.best(est, bw)[0]
        if self.horizon and state.remaining is not None and 1 < state.remaining <= HORIZON_TOKENS:
            # remaining == 1: any K > 0 is clipped to 0 by the loop; returning 0 here would ask for a fallback step
            profile = self.online.profile() if self.online is not None else self.table.acceptance.a
            k_best = horizon_k(profile, self._fixed(bw), est, state.remaining, self.table.k_min, self.table.k_max)
        rate = self.cutoff_rate(est, bw)
        probe = False
        if not self.in_cutoff:
            self._below = self._below + 1 if self._condition_from(rate) else 0
            if self._below >= self.enter_after:
                self.in_cutoff, self._below, self._above = True, 0, 0
                self.cutoff_entries += 1
                self._last_probe_ms = float(state.t_ms)
                self._interval_ms = self.probe_interval_ms
            k = 0 if self.in_cutoff else k_best
        elif self._reprobe or state.t_ms - self._last_probe_ms >= self._interval_ms:
            probe, k = True, k_best
        else:
            k = 0
        if k == 0 and self.fallback == "edge_only":
            self.lossy = True
        self.draft_stop = None
        if k > 0 and self.stop is not None:
            k = self.stop_k_max
            self.draft_stop = DraftStop(self.stop, self._fixed(bw), self.best(est, bw)[1] / 1000.0,
                                        self.stop.survival_for(self.query_kind) if self.answer_end else (),
                                        state.generated or 0)
        self._pending = (float(state.t_ms), k, self.rtt.last, est, self.in_cutoff, probe)
        return k

    def update(self, outcome: CycleOutcome) -> None:
        """Record the cycle just run, feed its RTT sample, and evaluate a probe for release."""
        if self._pending is None:
            raise RuntimeError("update() called without a preceding next_k()")
        t_ms, k, seen, est, in_cutoff, probe = self._pending
        self._pending = None
        if outcome.rtt_ms is not None:
            self.rtt.update(outcome.rtt_ms)
        elif self.stream_rtt and outcome.stream_rtt_ms is not None:
            self.rtt.update(outcome.stream_rtt_ms)
            if self.in_cutoff and not probe:
                self._evaluate_stream()
        if self.online is not None:
            self.online.observe(outcome.drafted, outcome.accepted)
        took_ms = float(outcome.cycle_ms)
        network = outcome.network_ms
        k_run = k if outcome.k is None else int(outcome.k)
        self.log.append(CycleLog(len(self.log), t_ms, k_run, seen, est, in_cutoff, probe, outcome.drafted,
                                 outcome.accepted, outcome.committed, took_ms, network, network / took_ms, k))
        if probe:
            self._last_probe_ms = t_ms + took_ms  # the interval runs from the probe's end
            if outcome.rtt_ms is not None:
                self._evaluate_probe(float(outcome.rtt_ms))

    def _count_release(self) -> bool:
        """Whether the RTT estimate predicts a rate above the release level; counts it towards release."""
        est = self.rtt.value
        assert est is not None
        good = self.cutoff_rate(est, self._bw) > self.release_level
        self._above = self._above + 1 if good else 0
        return good

    def _release_if_due(self) -> None:
        if self._above >= self.release_after:
            self.in_cutoff, self._above, self._reprobe = False, 0, False

    def _evaluate_stream(self) -> None:
        """A stream RTT sample in the cutoff: count towards release as a probe's estimate would."""
        self._count_release()
        self._release_if_due()

    def _evaluate_probe(self, sample_ms: float) -> None:
        good = self._count_release()
        self._interval_ms = (self.probe_interval_ms if good
                             else min(self._interval_ms * self.probe_backoff, self.probe_interval_max_ms))
        self._reprobe = self.cutoff_rate(sample_ms, self._bw) > self.release_level
        self._release_if_due()
