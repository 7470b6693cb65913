"""How the Ianvs edge and cloud modules of one test case reach the same :class:`UTSSession`.

Ianvs hands the cloud module only the raw sample, never the edge's state, so the edge module
opens a session under a name (the ``session`` hyperparameter both modules share, like a host
and port) and the cloud module looks it up. Every byte between them still goes through the
uplink/downlink messages the session encodes and the simulated link; the registry only stands
in for the socket. A new test case reopens the name with a fresh edge model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jointbench.uncertainty.edge import EdgeAnswer
from jointbench.uncertainty.session import Question, UTSSession

__all__ = ["EdgeEndpoint", "edge_endpoint", "open_endpoint"]


@dataclass
class EdgeEndpoint:
    """The edge side of a session and the sample it answered last (awaiting the HEM's decision)."""

    session: UTSSession
    last: tuple[Question, EdgeAnswer, dict[str, Any]] | None = None
    cloud_configured: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


_ENDPOINTS: dict[str, EdgeEndpoint] = {}


def open_endpoint(name: str, session: UTSSession) -> EdgeEndpoint:
    """Register ``session`` under ``name`` (replacing an earlier test case's)."""
    _ENDPOINTS[name] = EdgeEndpoint(session)
    return _ENDPOINTS[name]


def edge_endpoint(name: str) -> EdgeEndpoint:
    """The endpoint the edge module opened as ``name``.

    Raises
    ------
    RuntimeError
        If no edge module with ``session: <name>`` has answered yet (names the fix).
    """
    if name not in _ENDPOINTS:
        raise RuntimeError(f"no UTS edge session named {name!r}: the edgemodel and cloudmodel of the job must "
                           f"set the same 'session' hyperparameter (open: {', '.join(sorted(_ENDPOINTS)) or 'none'})")
    return _ENDPOINTS[name]
