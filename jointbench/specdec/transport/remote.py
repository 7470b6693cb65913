"""The ``transport`` switch: ``inprocess`` (virtual clock) or ``tcp`` (two processes, real time).

:class:`RemoteCloud` is what a session with ``transport: tcp`` holds: the cloud service process
(:mod:`~jointbench.specdec.transport.cloud_server`, started and awaited by
:class:`~jointbench.specdec.transport.lifecycle.ServiceProcess`), a
:class:`~jointbench.specdec.transport.shaping.ShapingProxy` applying the session's link in real
time, and one :class:`~jointbench.specdec.transport.client.CloudClient` connection through it.
For each query it builds the loop's source (:mod:`~jointbench.specdec.transport.edge`) and the
strategy whose placement is the wall-clock face of the registered one
(:class:`~jointbench.specdec.transport.realtime.RealTimePlacement`); the session then runs
the suite's one loop, :func:`~jointbench.specdec.loop.run_query`, as in process.

It starts lazily (first query) and :meth:`RemoteCloud.close` stops everything; the service
process never outlives the edge process (see :mod:`~jointbench.specdec.transport.lifecycle`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any, Sequence

from jointbench.netsim import Link
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.transport.client import CloudClient, CloudError, CloudUnavailable
from jointbench.specdec.transport.edge import LocalDecodeSource, RemoteDecodeSource, RemoteSpeculativeSource
from jointbench.specdec.transport.lifecycle import ServiceProcess, cloud_command
from jointbench.specdec.transport.realtime import RealTimePlacement
from jointbench.specdec.transport.shaping import LinkShaper, ShapingProxy

TRANSPORTS: tuple[str, ...] = ("inprocess", "tcp")
"""Values of the ``transport`` hyperparameter."""

TCP_PLACEMENTS: tuple[str, ...] = ("cloud_only", "edge_only", "edge_cloud")
"""Placements ``transport: tcp`` runs (co-located has no edge<->cloud cycle to send)."""

TCP_HARDWARE = "this-cpu"
"""The only hardware profile of ``transport: tcp``: compute really runs on this machine."""


def check_transport(transport: Any, strategy: str, edge_hardware: str, cloud_hardware: str) -> str:
    """Validate the ``transport`` hyperparameter against the rest of the case; return it.

    Raises
    ------
    ValueError
        Unknown transport, or ``tcp`` with a placement or hardware profile it cannot run.
    """
    if transport not in TRANSPORTS:
        raise ValueError(f"transport: unknown transport {transport!r}. Available: {', '.join(TRANSPORTS)}")
    if transport == "tcp":
        if strategy not in TCP_PLACEMENTS:
            raise ValueError(f"transport: 'tcp' runs the strategies {', '.join(TCP_PLACEMENTS)}; strategy "
                             f"{strategy!r} has no edge<->cloud exchange to send (use transport: inprocess)")
        for key, value in (("edge_hardware", edge_hardware), ("cloud_hardware", cloud_hardware)):
            if value != TCP_HARDWARE:
                raise ValueError(f"{key}: transport 'tcp' measures real compute on this machine, so the "
                                 f"profile must be {TCP_HARDWARE!r}, got {value!r} (or use transport: inprocess)")
    return str(transport)


def check_tcp_strategy(strategy: Strategy, temperature: float = 0.0) -> None:
    """Refuse, before any sample, the parts the two-process path does not run.

    Raises
    ------
    ValueError
        A policy with fallback steps at T>0 (in process they run on T=0 traces only).
    """
    fallback = getattr(strategy.policy, "fallback", None) if strategy.speculative else None
    if fallback is not None and temperature != 0.0:
        raise ValueError(f"policy_params: fallback steps run at temperature 0 only (temperature={temperature:g}); "
                         "give the policy cutoff: false")


def remote_strategy(strategy: Strategy, client: CloudClient | None, draft: Any, eos_token_ids: Sequence[int],
                    prompt_ids: Sequence[int], max_new_tokens: int, *, temperature: float = 0.0, seed: int = 0,
                    vocab_limit: int | None = None, shaper: LinkShaper | None = None) -> tuple[Strategy, Any]:
    """``(strategy on the wall clock, source)`` of one query served through ``client``.

    Parameters
    ----------
    strategy : Strategy
        A registered placement of :data:`TCP_PLACEMENTS`, its policy and codec.
    client : CloudClient or None
        The session with the cloud service (``None`` for ``edge_only``).
    draft : transformers.PreTrainedModel
        The edge's draft model.
    eos_token_ids, prompt_ids : sequence of int
    max_new_tokens : int
    temperature : float
        Must equal the cloud service's.
    seed : int
        Sampling seed (T > 0).
    vocab_limit : int, optional
        Common vocabulary of the pair.
    shaper : LinkShaper, optional
        The shaping proxy's pricing of the frames (network events on the timeline).
    """
    if strategy.name not in TCP_PLACEMENTS:
        raise ValueError(f"strategy {strategy.name!r}: the two-process transport runs {', '.join(TCP_PLACEMENTS)}")
    if strategy.name == "edge_only":
        source: Any = LocalDecodeSource(draft, eos_token_ids, prompt_ids, max_new_tokens, temperature, seed,
                                        vocab_limit)
    elif client is None:
        raise ValueError(f"strategy {strategy.name!r} needs a connection to the cloud service")
    elif strategy.speculative:
        source = RemoteSpeculativeSource(draft, eos_token_ids, client, prompt_ids, max_new_tokens, strategy.codec,
                                         temperature, seed, vocab_limit)
    else:
        source = RemoteDecodeSource(client, prompt_ids, max_new_tokens, eos_token_ids)
    return Strategy(RealTimePlacement(strategy.placement, source, shaper), strategy.policy, strategy.codec), source


@dataclass
class RemoteCloud:
    """The cloud process, the shaping proxy and the edge's connection of one session.

    Parameters
    ----------
    pair : str
        Model pair; the service loads its target.
    link : Link
        The session's link; the proxy applies it in real time.
    temperature : float
    codec : str
        Registered draft codec; the service decodes draft blocks with it.
    codec_params : dict, optional
        The codec's parameters (the edge's ``codec_params``; the service builds the same codec).
    threads : int
        Torch threads of the cloud process.
    ready_timeout_s : float
        How long the service may take to print its readiness line.
    request_timeout_s : float
        Longest wait for any reply (s); after it (and one retry on a new connection) a query fails.
    """

    pair: str
    link: Link
    temperature: float = 0.0
    codec: str = "ids_only"
    codec_params: dict[str, Any] | None = None
    threads: int = 1
    ready_timeout_s: float = 300.0
    request_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        self.service: ServiceProcess | None = None
        self.proxy: ShapingProxy | None = None
        self.client: CloudClient | None = None

    @property
    def command(self) -> list[str]:
        """The service's command line."""
        return cloud_command(self.pair, temperature=self.temperature, threads=self.threads, codec=self.codec,
                             codec_params=self.codec_params)

    def start(self) -> RemoteCloud:
        """Start the service (raises :class:`~.lifecycle.ServiceStartError` naming the command), proxy, client."""
        if self.client is not None:
            return self
        try:
            self.service = ServiceProcess(self.command, ready_timeout_s=self.ready_timeout_s).start()
            self.proxy = ShapingProxy(self.link, self.service.port).start()
            self.client = CloudClient(port=self.proxy.port, timeout_s=self.request_timeout_s)
            self.client.connect()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Close the connection, stop the proxy and the service (idempotent)."""
        client, proxy, service = self.client, self.proxy, self.service
        self.client = self.proxy = self.service = None
        if client is not None:
            client.close()
        if proxy is not None:
            proxy.stop()
        if service is not None:
            service.close()

    def describe_failure(self, err: CloudUnavailable | CloudError) -> str:
        """A query's cloud failure with the service's command, port and state."""
        svc = self.service
        if svc is None:
            state = "not running"
        else:
            code = None
            if svc.proc is not None:
                try:  # a killed process closes its sockets a moment before it can be reaped
                    code = svc.proc.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    code = None
            state = f"pid {svc.pid} on 127.0.0.1:{svc.port}, " + (
                "still running" if code is None else f"exited with code {code}")
        return (f"transport tcp: the cloud service failed a request ({type(err).__name__}: {err}); service "
                f"{state}; command: {' '.join(self.command)}")

    def query(self, strategy: Strategy, prompt_ids: Sequence[int], max_new_tokens: int, loaded: Any,
              seed: int = 0) -> tuple[Strategy, Any]:
        """``(strategy on the wall clock, source)`` of one query, for :func:`~jointbench.specdec.loop.run_query`.

        Parameters
        ----------
        strategy : Strategy
            The session's strategy (its policy and codec are used as they are).
        prompt_ids : sequence of int
        max_new_tokens : int
        loaded : LoadedPair
            The pair as the edge loads it (its draft model and EOS ids).
        seed : int
            Sampling seed (T > 0).
        """
        vocab = min(int(m.config.get_text_config().vocab_size) for m in (loaded.target, loaded.draft))
        client = self.start().client if strategy.name != "edge_only" else None
        return remote_strategy(strategy, client, loaded.draft, loaded.eos_token_ids, prompt_ids, max_new_tokens,
                               temperature=self.temperature, seed=seed, vocab_limit=vocab,
                               shaper=self.proxy.shaper if self.proxy is not None else None)

    def __enter__(self) -> RemoteCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
