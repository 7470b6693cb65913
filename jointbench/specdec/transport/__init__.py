"""Edge and cloud as separate processes over TCP on loopback, with the simulated link in between.

- :mod:`~jointbench.specdec.transport.frames`: length-prefixed frames (PREFILL, VERIFY, DECODE,
  CLOSE, ERROR); payloads are opaque bytes (the encodings of
  :mod:`jointbench.specdec.payload`, or a codec's).
- :mod:`~jointbench.specdec.transport.cloud` / :mod:`~jointbench.specdec.transport.cloud_server`: the
  cloud service (``python -m jointbench.specdec.transport.cloud_server --pair tiny-random --port 0``),
  the target with one KV cache per connection.
- :mod:`~jointbench.specdec.transport.client`: the edge's client (timeouts, ``tenacity`` retries,
  resume on a new connection, a log of every request).
- :mod:`~jointbench.specdec.transport.shaping`: a loopback proxy applying a netsim ``Link`` in
  real time (delay, bandwidth, jitter, loss recovery, traces).
- :mod:`~jointbench.specdec.transport.lifecycle`: start the service, await readiness, never
  leave an orphan.
- :mod:`~jointbench.specdec.transport.edge`: the edge's cycle sources for the suite's one loop
  (:func:`~jointbench.specdec.loop.run_query`): draft here and verify there, cloud-only
  streaming, edge-only decoding, each cycle's wall-clock marks.
- :mod:`~jointbench.specdec.transport.realtime`: the registered placement's face on the wall
  clock (measured compute, the proxy's pricing of every frame, tokens when committed).
- :mod:`~jointbench.specdec.transport.remote`: the ``transport: inprocess | tcp`` switch of
  :class:`~jointbench.specdec.session.SpecDecSession`: start the cloud process, the proxy
  and the connection; build each query's source and wall-clock strategy.
- :mod:`~jointbench.specdec.transport.vllm_backend`: optional greedy verification on an
  OpenAI-compatible engine (vLLM, own venv via ``scripts/install_vllm.sh``).

Every socket is on 127.0.0.1.
"""

from __future__ import annotations

from jointbench.specdec.transport.client import CloudClient, CloudError, CloudUnavailable, RequestLog
from jointbench.specdec.transport.frames import Frame, FrameError, MsgType
from jointbench.specdec.transport.lifecycle import ServiceProcess, ServiceStartError, cloud_command, cloud_service
from jointbench.specdec.transport.remote import TRANSPORTS, RemoteCloud, check_transport, remote_strategy
from jointbench.specdec.transport.shaping import LinkShaper, ScheduledMessage, ShapingProxy

__all__ = [
    "CloudClient",
    "CloudError",
    "CloudUnavailable",
    "Frame",
    "FrameError",
    "LinkShaper",
    "MsgType",
    "RemoteCloud",
    "RequestLog",
    "ScheduledMessage",
    "ServiceProcess",
    "ServiceStartError",
    "ShapingProxy",
    "TRANSPORTS",
    "check_transport",
    "cloud_command",
    "cloud_service",
    "remote_strategy",
]
