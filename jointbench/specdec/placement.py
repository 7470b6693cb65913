"""Placements: where the models run and how one cycle lands on the virtual clock.

A placement (registered by name, :data:`~jointbench.specdec.parts.PLACEMENT`; modules in
:mod:`jointbench.specdec.placements`) starts a query on a
:class:`~jointbench.netsim.Timeline` (:meth:`Placement.begin`: prompt upload, prefills) and
returns a :class:`PlacedQuery` that places one :class:`Cycle` at a time. Each side keeps its
own clock; a message leaves when its sender is done and the receiver starts when it is free
and the message has arrived. Output tokens are delivered in order. Message sizes come from
:mod:`~jointbench.specdec.payload` (prompt, verdict, tokens) and from the cycle, whose draft
size the codec decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TYPE_CHECKING

from jointbench.netsim import Exchange, Link, Timeline
from jointbench.specdec.parts import PLACEMENT, lookup

if TYPE_CHECKING:  # typing only: compute imports torch (via calibrate)
    from jointbench.specdec.compute import ComputeModel


@dataclass(frozen=True)
class Cycle:
    """One draft/verify cycle (or one token of a single-model placement), without timing.

    Attributes
    ----------
    k : int
        Draft length used (0 for single-model steps).
    drafted : int
        Tokens drafted (``<= k``; fewer when the draft emitted EOS).
    accepted : int
        Leading drafted tokens the target accepted.
    tokens : tuple of int
        Tokens committed by this cycle.
    bytes_up : int
        Encoded draft message (the codec's length; 0 for single-model steps).
    fallback : {"edge_only", "cloud_only"} or None
        Set for a policy's fallback step in a speculative placement (no draft, no verify):
        the edge's draft or the cloud's target decoded ``tokens`` alone
        (see :func:`~jointbench.specdec.loop.run_query`).
    """

    k: int
    drafted: int
    accepted: int
    tokens: tuple[int, ...]
    bytes_up: int = 0
    fallback: str | None = None


@dataclass(frozen=True)
class PlacedCycle:
    """How a cycle went on the clock (the link part of a :class:`~.policy.CycleOutcome`)."""

    start_ms: float
    end_ms: float
    bytes_up: int = 0
    bytes_down: int = 0
    rtt_ms: float | None = None
    transmit_ms: float | None = None
    draft_message: Exchange | None = None
    stream_rtt_ms: float | None = None
    """A cloud fallback step's round trip as the transport would see it while tokens stream down
    (:func:`stream_rtt_ms`), ms."""


class PlacedQuery(Protocol):
    """One query in progress on a timeline."""

    @property
    def now_ms(self) -> float:
        """Virtual time at which the next cycle starts (the drafter's clock)."""

    def place(self, cycle: Cycle, index: int) -> PlacedCycle:
        """Put cycle number ``index`` of this query on the timeline."""


class Placement(Protocol):
    """Where the models run.

    Attributes
    ----------
    name : str
    label : str
        Short label for tables and plots (``cloud-only``, ``edge-cloud``, …).
    order : int
        Position in plots' legends.
    speculative : bool
        True for draft/verify placements (they take a policy and a codec).
    uses_link : bool
        False when nothing crosses the network (edge-only).
    route : {"edge", "cloud", "both"}
        The record's ``route``.
    """

    name: str
    label: str
    order: int
    speculative: bool
    uses_link: bool
    route: Literal["edge", "cloud", "both"]

    def begin(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> PlacedQuery:
        """Start a query of ``n_prompt`` prompt tokens at ``tl.now_ms``."""


def new_timeline(link: Link | None, start_ms: float, keep_exchanges: bool = False) -> Timeline:
    """A :class:`Timeline` whose tally lists its exchanges only if ``keep_exchanges``."""
    tl = Timeline(link, start_ms=start_ms)
    tl.tally.keep = keep_exchanges
    return tl


def round_trip_ms(up: Exchange, down: Exchange) -> float:
    """Round trip of a draft and its verdict without serialisation (ms)."""
    return (up.delay_ms - up.serialisation_ms) + (down.delay_ms - down.serialisation_ms)


def stream_rtt_ms(last: Exchange | None) -> float | None:
    """The round trip a transport sees while tokens stream down: twice the last token's delay without
    serialisation (TCP's own estimate from the data and its ACKs), ms; ``None`` when nothing streamed."""
    return None if last is None else 2.0 * (last.delay_ms - last.serialisation_ms)


def make_placement(name: str) -> Placement:
    """Build the placement registered as ``name`` (``cloud_only``, ``edge_only``, ``colocated``, ``edge_cloud``).

    Raises
    ------
    jointbench.registry.UnknownAliasError
        Listing the registered placements.
    """
    return lookup(PLACEMENT, name)()
