"""A placement on the wall clock: the registered placement's face, the cycles as they really ran.

With ``transport: tcp`` the loop (:func:`~jointbench.specdec.loop.run_query`) is unchanged:
its source (:mod:`~jointbench.specdec.transport.edge`) runs each cycle across the two
processes, and :class:`RealTimePlacement` puts that cycle on the query's
:class:`~jointbench.netsim.Timeline` at the times the source measured, instead of adding
calibrated compute and analytic delays. The timeline's time axis is the query's virtual
start plus wall-clock milliseconds since the query began, so records, metrics and the
policy's :class:`~jointbench.specdec.policy.DraftState` read the same fields in both modes.

What goes on the timeline per cycle:

- edge compute: the source's measured span (drafting; edge-only decoding; the draft prefill; a
  policy's edge-only fallback step, token by token);
- network: every frame the shaping proxy priced for this cycle (its
  :class:`~jointbench.netsim.Exchange`, shifted onto the timeline and named as the virtual
  placements name that message: ``prompt``, ``draft``, ``verdict``, ``token``), so bytes,
  retransmissions and the exposed network time are the link's account of the real frames;
- cloud compute: the time the cloud reported in its reply, ending when the proxy received
  the reply; the cloud's prefill (reported by the first VERIFY reply, ``prior_us``) starting
  when the PREFILL frame was delivered to the cloud, ending by the time that VERIFY started;
- the cycle's tokens, emitted when they were committed at the edge.

Whatever the cycle took beyond these (sockets, the proxy's scheduling) is in the latency but in
no component: the overhead the benchmark measures.

The policy is told the round trip the edge measured minus the cloud's reported compute and
the priced serialisation of both frames, the virtual placement's definition of ``rtt_ms``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Literal, Protocol

from jointbench.netsim import Exchange, Timeline
from jointbench.netsim.clock import TimelineEvent
from jointbench.specdec.placement import Cycle, PlacedCycle, Placement, stream_rtt_ms
from jointbench.specdec.transport.edge import CycleMarks
from jointbench.specdec.transport.shaping import LinkShaper


KINDS: dict[tuple[str, str], str] = {("up", "PREFILL"): "prompt", ("up", "DECODE"): "prompt",
                                     ("up", "VERIFY"): "draft", ("down", "VERIFY"): "verdict",
                                     ("down", "DECODE"): "token", ("up", "STREAM"): "fallback",
                                     ("down", "STREAM"): "token"}
"""(direction, frame type) -> the message kind the virtual placements give the same message."""


class MarkedSource(Protocol):
    """A source of :mod:`~jointbench.specdec.transport.edge`: started by the placement, marks per cycle."""

    t0_s: float
    prefill_end_s: float
    marks: list[CycleMarks]

    def begin(self) -> None:
        """Start the query for real (prompt up, prefills)."""


class _RealQuery:
    def __init__(self, tl: Timeline, source: MarkedSource, shaper: LinkShaper | None, speculative: bool) -> None:
        self.tl, self.source, self.shaper, self.speculative = tl, source, shaper, speculative
        self._up = self._down = len(shaper.schedule) if shaper is not None else 0
        self._stream_seq = -1  # the last STREAM request's seq (its replies carry it)
        source.begin()
        if source.prefill_end_s > source.t0_s:
            tl.compute("edge", (source.prefill_end_s - source.t0_s) * 1e3, stage="prefill", at_ms=tl.start_ms)

    def _ms(self, wall_s: float) -> float:
        """Timeline time of a ``time.perf_counter`` instant."""
        return self.tl.start_ms + (wall_s - self.source.t0_s) * 1e3

    @property
    def now_ms(self) -> float:
        return self._ms(time.perf_counter())

    def _frames(self, n_down: int = 1, reply: str | None = None) -> tuple[list[Any], list[Any], list[Any]]:
        """This cycle's frames: ``(every up frame priced so far, its n_down replies, stale stream frames)``.

        ``reply=None``: the next ``n_down`` down frames. Otherwise only down frames of that type, of the
        last STREAM request when it is ``"STREAM"``; STREAM frames passed on the way are *stale*: the
        cloud streamed them before it saw the request that cut its stream (real bytes, no tokens).
        """
        if self.shaper is None:
            return [], [], []
        sched = self.shaper.schedule
        new = sched[self._up:]
        self._up = len(sched)
        up = [m for m in new if m.direction == "up"]
        self._stream_seq = next((m.seq for m in reversed(up) if m.kind == "STREAM"), self._stream_seq)
        replies, stale = [], []
        while len(replies) < n_down and self._down < len(sched):
            entry = sched[self._down]
            self._down += 1
            if entry.direction != "down":
                continue
            if reply is None or (entry.kind == reply and (reply != "STREAM" or entry.seq == self._stream_seq)):
                replies.append(entry)
            elif entry.kind == "STREAM":
                stale.append(entry)
        return up, replies, stale

    def _shift(self, ex: Exchange) -> Exchange:
        """The exchange on the timeline's axis (the shaper prices on its own epoch)."""
        assert self.shaper is not None
        offset = self._ms(self.shaper.epoch_s)
        kind = KINDS.get((ex.direction, ex.kind), ex.kind)
        return dataclasses.replace(ex, kind=kind, send_ms=ex.send_ms + offset, arrival_ms=ex.arrival_ms + offset)

    def _network(self, ex: Exchange) -> Exchange:
        shifted = self._shift(ex)
        self.tl.events.append(TimelineEvent("network", shifted.direction, shifted.kind, shifted.send_ms,
                                            shifted.arrival_ms))
        self.tl.tally.add(shifted)
        return shifted

    def place(self, cycle: Cycle, index: int) -> PlacedCycle:
        tl, mark = self.tl, self.source.marks[index]
        start, done = self._ms(mark.start_s), self._ms(mark.done_s)
        if cycle.fallback == "edge_only":  # the draft decoded alone: each token when it was decoded
            t = start
            for token_s in mark.token_s:
                end = self._ms(token_s)
                tl.compute("edge", end - t, stage="fallback", at_ms=t)
                tl.clock.advance_to(end)
                tl.emit(1)
                t = end
            return PlacedCycle(start, done)
        if cycle.fallback == "cloud_only":
            return self._cloud_step(cycle, mark, start, done)
        if cycle.fallback is not None:
            raise ValueError(f"fallback={cycle.fallback!r}: unknown. Available: edge_only, cloud_only")
        if mark.compute_end_s > mark.start_s:
            stage = "draft" if self.speculative else "decode"
            tl.compute("edge", (mark.compute_end_s - mark.start_s) * 1e3, stage=stage, at_ms=start)
        up, downs, stale = self._frames(1, "VERIFY" if self.speculative else None)
        down = downs[0] if downs else None
        for entry in stale:
            self._network(entry.exchange)
        ups = [self._network(m.exchange) for m in up]
        verdict = self._network(down.exchange) if down is not None else None
        if mark.cloud_ms > 0:
            end = self._ms(self.shaper.epoch_s + down.received_ms / 1e3) if down is not None and self.shaper else done
            stage = "verify" if self.speculative else ("prefill" if index == 0 else "decode")
            begin = max(tl.start_ms, end - mark.cloud_ms)
            if mark.cloud_prior_ms > 0:  # the PREFILL this request waited on, from its delivery to the cloud
                prompt = next((ex for ex in ups if ex.kind == "prompt"), None)
                latest = begin - mark.cloud_prior_ms
                at = min(prompt.arrival_ms, latest) if prompt is not None else latest
                tl.compute("cloud", mark.cloud_prior_ms, stage="prefill", at_ms=max(tl.start_ms, at))
            tl.compute("cloud", mark.cloud_ms, stage=stage, at_ms=begin)
        tl.clock.advance_to(done)
        tl.emit(len(cycle.tokens))
        down_bytes = down.payload_bytes if down is not None else 0
        if not self.speculative:
            return PlacedCycle(start, done, 0, down_bytes)
        draft = next((ex for ex in reversed(ups) if ex.kind == "draft"), None)
        serial = (draft.serialisation_ms if draft else 0.0) + (verdict.serialisation_ms if verdict else 0.0)
        rtt = max(0.0, (mark.done_s - mark.compute_end_s) * 1e3 - mark.cloud_ms - serial)
        up_bytes = draft.payload_bytes if draft else cycle.bytes_up  # with the fallback tokens it carried
        return PlacedCycle(start, done, up_bytes, down_bytes, rtt, draft.serialisation_ms if draft else None, draft)

    def _cloud_step(self, cycle: Cycle, mark: CycleMarks, start: float, done: float) -> PlacedCycle:
        """A cloud-only fallback step: the STREAM request (first step of a run), each token as streamed."""
        tl = self.tl
        up, downs, stale = self._frames(len(cycle.tokens), "STREAM")
        for entry in stale:
            self._network(entry.exchange)
        ups = [self._network(m.exchange) for m in up]
        last = None
        for i, (entry, token_s, cloud_ms) in enumerate(zip(downs, mark.token_s, mark.token_cloud_ms)):
            sent = self._ms(self.shaper.epoch_s + entry.received_ms / 1e3) if self.shaper else self._ms(token_s)
            begin = max(tl.start_ms, sent - cloud_ms)
            if i == 0 and mark.cloud_prior_ms > 0:  # the query's PREFILL, reported by this first reply
                tl.compute("cloud", mark.cloud_prior_ms, stage="prefill",
                           at_ms=max(tl.start_ms, begin - mark.cloud_prior_ms))
            tl.compute("cloud", cloud_ms, stage="decode", at_ms=begin)
            last = self._network(entry.exchange)
            tl.clock.advance_to(self._ms(token_s))
            tl.emit(1)
        tl.clock.advance_to(done)
        return PlacedCycle(start, done, sum(ex.payload_bytes for ex in ups), sum(e.payload_bytes for e in downs),
                           stream_rtt_ms=stream_rtt_ms(last))


class RealTimePlacement:
    """The registered placement ``base`` (same name, label, route), placed on the wall clock.

    One is built per query around that query's source.

    Parameters
    ----------
    base : Placement
        The placement the strategy names (``cloud_only``, ``edge_only``, ``edge_cloud``).
    source : MarkedSource
        The query's source; :meth:`begin` starts it.
    shaper : LinkShaper, optional
        The shaping proxy's pricing of every frame (``None`` when nothing crosses a link).
    """

    def __init__(self, base: Placement, source: MarkedSource, shaper: LinkShaper | None) -> None:
        self.base, self.source, self.shaper = base, source, shaper
        self.name, self.label, self.order = base.name, base.label, base.order
        self.speculative, self.uses_link = base.speculative, base.uses_link
        self.fallbacks: bool = bool(getattr(base, "fallbacks", False))
        self.route: Literal["edge", "cloud", "both"] = base.route

    def begin(self, tl: Timeline, n_prompt: int, compute: Any) -> _RealQuery:
        """Start the query for real at ``tl.start_ms`` (``compute`` is not used: times are measured)."""
        return _RealQuery(tl, self.source, self.shaper if self.uses_link else None, self.speculative)
