"""One test case of the speculative-decoding leaderboard: configuration in, records out.

:class:`SpecDecSession` is what the Ianvs edge module wraps: it resolves the pair, the
compute model (calibration cached per pair, or read from ``calibration_file``; hardware
profiles per side), the network link and the strategy (placement × policy × codec, looked
up by name) from flat hyperparameters, and answers one query at a time through the loop
(:func:`~jointbench.specdec.loop.run_query`): from recorded traces at T=0, from cached or
live sampled generations at T>0. Queries run back to back on one virtual clock and one
link, so a network trace (``oscillating``) evolves across the test set.
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping, Sequence

import torch

from jointbench.netsim import Link, link_config_from_hyperparameters
from jointbench.specdec.answers import parse_answer
from jointbench.specdec.calibrate import Calibration
from jointbench.specdec.compute import (
    ComputeModel,
    cached_calibration,
    calibration_from_dict,
    calibration_path,
    calibration_provenance,
    compute_model,
    load_calibration_file,
    warn_if_loaded,
)
from jointbench.specdec.loop import BandwidthMeter, Outcome, run_query
from jointbench.specdec.policy import make_policy
from jointbench.specdec.sampled import decode_text, finish_live, link_digest, sampled_fields, source_for
from jointbench.specdec.sources import LiveSource, TokenSource, TraceSource
from jointbench.specdec.strategy import Strategy, outcome_record
from jointbench.specdec.prefixstore import PrefixStore
from jointbench.specdec.tracestore import RECORDING_S, encode_prompt, get_pair, get_trace, record_all
from jointbench.specdec.transport.client import CloudError, CloudUnavailable
from jointbench.specdec.transport.remote import RemoteCloud, check_tcp_strategy, check_transport
from jointbench.workers import refuse_in_parallel_worker

_CALIBRATIONS: dict[str, tuple[Calibration, str]] = {}
_COMPUTE: dict[tuple[str, str, str, str, bool], ComputeModel] = {}


def get_calibration(pair: str, calibration_file: str | None = None, context: bool = False) -> tuple[Calibration, str]:
    """``(calibration, source)``: from ``calibration_file``, else in process, the JSON cache, or measured.

    ``context=True`` without a file: the cached calibration with context fits (its own file).
    """
    if calibration_file:
        key = f"file:{calibration_file}"
        if key not in _CALIBRATIONS:
            _CALIBRATIONS[key] = (load_calibration_file(calibration_file), str(calibration_file))
        return _CALIBRATIONS[key]
    key = f"{pair}:t{torch.get_num_threads()}" + (":context" if context else "")
    if key not in _CALIBRATIONS:
        path = calibration_path(pair, context=context)
        if path.is_file():
            cal = calibration_from_dict(json.loads(path.read_text()))
            warn_if_loaded(cal, str(path))
        else:
            cal, measured_s = cached_calibration(get_pair(pair), context=context)
            RECORDING_S["calibrate_s"] = RECORDING_S.get("calibrate_s", 0.0) + measured_s
        _CALIBRATIONS[key] = (cal, str(path))
    return _CALIBRATIONS[key]


def split_hardware(hardware: str | None, edge_hardware: str, cloud_hardware: str) -> tuple[str, str]:
    """``"edge/cloud"`` (one grid axis for both sides) or the two names as given."""
    if hardware:
        edge, sep, cloud = str(hardware).partition("/")
        if not sep or not edge or not cloud:
            raise ValueError(f"hardware='{hardware}': expected '<edge profile>/<cloud profile>'")
        return edge, cloud
    return edge_hardware, cloud_hardware


class SpecDecSession:
    """Serve queries under one strategy, pair, hardware and network configuration.

    Parameters
    ----------
    strategy : str
        Registered placement: ``cloud_only``, ``edge_only``, ``colocated``, ``edge_cloud``.
    pair : str
        Model pair of ``configs/models.yaml``.
    policy : str
        Registered draft-length policy of the speculative placements (``fixed``, ``heuristic``).
    k : int
        Fixed ``K`` or the policy's start.
    k_max : int, optional
        Upper bound of adaptive policies.
    transient : bool
        Adaptive policies restart from ``k`` at every query.
    policy_params : dict, optional
        Policy-specific parameters, checked by the policy.
    codec : str, optional
        Registered draft codec; default ``ids_only`` at T=0, ``dense_fp32`` at T>0.
    codec_params : dict, optional
        The codec's parameters (e.g. ``{"k": 3}`` for ``k_sqs``), checked by the codec.
    max_new_tokens : int
        Generation limit (tokens).
    hardware : str, optional
        ``"<edge profile>/<cloud profile>"``; overrides ``edge_hardware``/``cloud_hardware``.
    edge_hardware, cloud_hardware : str
        Profiles of ``configs/hardware_profiles.yaml``.
    chat : bool
        Wrap prompts in the pair's chat template.
    temperature : float
        0: greedy, replayed from recorded traces. > 0: sampled, generated once per
        (strategy, policy, codec, seed) and replayed across profiles
        (:mod:`jointbench.specdec.sampled`).
    sample_seed : int
        Seed of the sampled generations (T > 0); query ``i`` uses ``sample_seed + i``.
    keep_exchanges : bool
        Keep every message's :class:`~jointbench.netsim.Exchange` in the records (large).
    bandwidth_mbps : float, optional
        Both directions' bandwidth (Mbit/s) unless a ``network_*_bandwidth_mbps`` key is given.
    torch_threads : int
        Torch threads for recording and calibration (the calibration is cached per count).
    calibration_file : str, optional
        A saved calibration JSON to use instead of this machine's cached one (so two machines
        or runs compare like with like).
    network : dict, optional
        ``network_profile``, ``network_seed`` and any ``network_*`` key (checked by netsim).
    transport : {"inprocess", "tcp"}
        ``inprocess``: one process, the virtual clock (calibrated compute, analytic link).
        ``tcp``: the same strategy across two processes in real time: the target in a cloud
        service process this session starts (and :meth:`close` stops), the link applied
        by a shaping proxy on the loopback socket path, the draft here; timings are
        measured wall time (:mod:`jointbench.specdec.transport`). ``tcp`` runs
        ``cloud_only``, ``edge_only`` and ``edge_cloud`` on the ``this-cpu`` profiles.
    compute_context : bool
        ``inprocess`` only: charge draft steps, verify passes and decode steps at the cache length
        each has (prompt + committed tokens), from a calibration with context fits (the cached
        ``-context`` one, measured on first use, or ``calibration_file`` if it has them; see
        :mod:`jointbench.specdec.compute`). False (default): the flat calibration.
    """

    def __init__(self, strategy: str = "cloud_only", pair: str = "smollm2-135m-int8", policy: str = "fixed",
                 k: int = 3, k_max: int | None = None, transient: bool = False,
                 policy_params: Mapping[str, Any] | None = None, codec: str | None = None,
                 codec_params: Mapping[str, Any] | None = None,
                 max_new_tokens: int = 64, hardware: str | None = None, edge_hardware: str = "this-cpu",
                 cloud_hardware: str = "this-cpu", chat: bool = True, temperature: float = 0.0,
                 sample_seed: int = 0, keep_exchanges: bool = False, bandwidth_mbps: float | None = None,
                 torch_threads: int = 1, calibration_file: str | None = None,
                 network: Mapping[str, Any] | None = None, transport: str = "inprocess",
                 compute_context: bool = False) -> None:
        if float(temperature) < 0.0:
            raise ValueError(f"temperature={temperature!r}: must be >= 0")
        # The calibration (and so every timing) depends on the thread count: pin it, so the
        # same YAML gives the same numbers on any machine with that many free cores.
        torch.set_num_threads(int(torch_threads))
        self.pair = str(pair)
        self.temperature = float(temperature)
        self.sample_seed = int(sample_seed)
        self.max_new_tokens = int(max_new_tokens)
        self.chat = bool(chat)
        self.keep_exchanges = bool(keep_exchanges)
        self.calibration_file = calibration_file
        self.compute_context = bool(compute_context)
        self.edge_hardware, self.cloud_hardware = split_hardware(hardware, edge_hardware, cloud_hardware)
        codec_name = codec or ("ids_only" if self.temperature == 0.0 else "dense_fp32")
        self.strategy = Strategy.build(strategy, make_policy(policy, k, k_max, transient, policy_params),
                                       codec_name, codec_params)
        if self.strategy.speculative:
            self.strategy.codec.check_temperature(self.temperature)
            bind = getattr(self.strategy.policy, "bind", None)
            if bind is not None:  # link-aware policies (NASD) pick their table by pair and hardware pair
                bind(self.pair, self.edge_hardware, self.cloud_hardware, lambda: self.compute)
        self.prefix_store = PrefixStore(self.pair)
        self.needs_confidence = bool(getattr(self.strategy.policy, "needs_confidence", False))
        """The policy ends drafts by the draft's probabilities: traces must hold them."""
        self.policy_desc = f"{policy}:{k}:{k_max}:{json.dumps(dict(policy_params or {}), sort_keys=True)}"
        # T>0: a fresh (transient) policy per query, so a query's draws never depend on the ones before.
        self._sampled_policy = (lambda: make_policy(policy, k, k_max, True, policy_params))
        net = dict(network or {})
        if bandwidth_mbps is not None:
            net.setdefault("network_uplink_bandwidth_mbps", float(bandwidth_mbps))
            net.setdefault("network_downlink_bandwidth_mbps", float(bandwidth_mbps))
        self.link = Link(link_config_from_hyperparameters(net))
        self.meter = BandwidthMeter()
        self._compute: ComputeModel | None = None
        self.clock_ms = 0.0
        self.last_outcome: Outcome | None = None
        """The last query's :class:`~jointbench.specdec.loop.Outcome` (timeline, cycles), for benchmarks."""
        self.transport = check_transport(transport, strategy, self.edge_hardware, self.cloud_hardware)
        if self.transport == "tcp":
            check_tcp_strategy(self.strategy, self.temperature)
            refuse_in_parallel_worker("transport: tcp")
        self.remote = RemoteCloud(self.pair, self.link, self.temperature, codec_name,
                                  dict(codec_params) if codec_params else None, int(torch_threads)) \
            if self.transport == "tcp" else None

    def close(self) -> None:
        """Stop the cloud service of ``transport: tcp`` (idempotent; nothing to do in process)."""
        if self.remote is not None:
            self.remote.close()

    @property
    def compute(self) -> ComputeModel:
        """The compute model (calibration loaded or measured on first use)."""
        if self._compute is None:
            cal, source = get_calibration(self.pair, self.calibration_file, self.compute_context)
            key = (source, cal.timing_hash(), self.edge_hardware, self.cloud_hardware, self.compute_context)
            if key not in _COMPUTE:
                _COMPUTE[key] = compute_model(cal, self.edge_hardware, self.cloud_hardware, self.compute_context,
                                              source)
            self._compute = _COMPUTE[key]
        return self._compute

    def provenance(self) -> dict[str, Any]:
        """Calibration values, hash and load average (in process); strategy parts and transport (``env.json``)."""
        if self.remote is not None:
            calibration: dict[str, Any] = {"used": False, "why": "transport tcp measures compute"}
        else:
            calibration = calibration_provenance(*get_calibration(self.pair, self.calibration_file,
                                                                  self.compute_context))
            if self.compute_context:
                calibration["compute_context"] = True
        strategy = {"placement": self.strategy.name, "policy": repr(self.strategy.policy),
                    "codec": self.strategy.codec.name}
        if getattr(self.strategy.codec, "params", None):
            strategy["codec_params"] = dict(self.strategy.codec.params)
        return {"calibration": calibration, "strategy": strategy, "transport": self.transport}

    def prepare(self, texts: Sequence[str], progress: bool = True) -> None:
        """Record every missing trace up front (one progress bar) and calibrate."""
        if self.temperature == 0.0:
            record_all(self.pair, texts, self.max_new_tokens, self.chat, progress, confidence=self.needs_confidence)
        if self.remote is None:  # tcp measures compute: no calibration needed
            _ = self.compute

    def predict(self, question: Mapping[str, Any] | str, index: int | None = None) -> dict[str, Any]:
        """Serve one query; return its :class:`~jointbench.records.SampleRecord` dict.

        Parameters
        ----------
        question : dict or str
            A test-set row's ``question``: ``{"prompt", "kind", "id", "index"}`` or the prompt.
        index : int, optional
            Row index, when ``question`` does not carry one.
        """
        q = {"prompt": question} if isinstance(question, str) else dict(question)
        text = str(q["prompt"])
        kind = str(q.get("kind", "teleqna"))
        idx = q.get("index", index)
        codec_stats: list[dict[str, Any]] = []
        tell = getattr(self.strategy.policy, "set_query_kind", None)
        if tell is not None:  # a policy that adapts to the task (NASD's answer end); None when unknown
            tell(str(q["kind"]) if q.get("kind") is not None else None)
        if self.remote is not None:
            outcome, text_out, n_prompt, reference, codec_stats = self._remote_query(text, int(idx or 0))
            windows = 0
        elif self.temperature > 0.0:
            outcome, text_out, n_prompt, codec_stats = self._sampled(text, int(idx or 0))
            reference, windows = None, 0
        else:
            trace = get_trace(self.pair, text, self.max_new_tokens, self.chat, confidence=self.needs_confidence)
            n_prompt = len(trace.prompt_ids)
            if self.strategy.speculative:
                source: Any = TraceSource(trace.greedy, self.strategy.codec, self.max_new_tokens,
                                          self.prefix_store)
            else:
                out = trace.edge_tokens if self.strategy.name == "edge_only" else trace.target_tokens
                source = TokenSource(n_prompt, out[:self.max_new_tokens])
            outcome = self._run(self.strategy, source)
            reference = trace.target_tokens[:self.max_new_tokens]
            windows = int(getattr(trace.greedy, "estimated_windows", 0))
            same = list(outcome.tokens) == list(reference)
            edge = self.strategy.name == "edge_only"
            text_out = trace.meta.get("edge_text" if edge else "target_text") if (edge or same) else None
            if text_out is None and outcome.lossy:  # a lossy fallback left the trace: decode its own text
                text_out = decode_text(self.pair, outcome.tokens)
        self.clock_ms += outcome.timeline.latency_ms
        self.last_outcome = outcome
        rec = outcome_record(outcome, reference, self.strategy, str(q.get("id", idx)),
                             int(idx) if idx is not None else None, windows, self.keep_exchanges)
        rec["prediction"] = parse_answer(kind, text_out or "") or ""
        rec["extras"].update({"text": text_out, "kind": kind, "prompt_tokens": n_prompt,
                              "temperature": self.temperature,
                              "edge_hardware": self.edge_hardware, "cloud_hardware": self.cloud_hardware})
        if self.strategy.speculative and codec_stats:
            rec["extras"]["codec_stats"] = codec_stats
        return rec

    def _run(self, strategy: Strategy, source: Any) -> Outcome:
        return run_query(strategy, source, self.compute, self.link, self.max_new_tokens, self.clock_ms,
                         self.keep_exchanges, self.meter)

    def _remote_query(self, text: str, index: int
                      ) -> tuple[Outcome, str | None, int, list[int] | None, list[dict[str, Any]]]:
        """``transport: tcp``: the loop runs the query across the two processes in real time.

        At T=0 the prompt and the reference (cloud-only) tokens come from the query's trace.
        The compute model is not used (times are measured), so no calibration is loaded.
        Returns the outcome, its text, the prompt length, the reference and the edge's per-cycle codec
        statistics (T>0).
        """
        assert self.remote is not None
        loaded = get_pair(self.pair)
        reference: list[int] | None = None
        trace = None
        if self.temperature == 0.0:
            trace = get_trace(self.pair, text, self.max_new_tokens, self.chat)
            prompt, reference = list(trace.prompt_ids), list(trace.target_tokens[:self.max_new_tokens])
        else:
            prompt = encode_prompt(loaded, text, self.chat)
        strategy = self.strategy
        if self.temperature > 0.0 and strategy.speculative:  # as in process: a fresh policy per sampled query
            strategy = Strategy(strategy.placement, self._sampled_policy(), strategy.codec)
        real, source = self.remote.query(strategy, prompt, self.max_new_tokens, loaded, self.sample_seed + index)
        try:
            outcome = run_query(real, source, None, self.link, self.max_new_tokens,  # type: ignore[arg-type]
                                self.clock_ms, self.keep_exchanges, self.meter)
        except (CloudUnavailable, CloudError) as err:
            raise RuntimeError(self.remote.describe_failure(err)) from err
        if trace is not None and list(outcome.tokens) == reference:
            text_out = trace.meta.get("target_text")
        elif trace is not None and self.strategy.name == "edge_only" and list(outcome.tokens) == list(
                trace.edge_tokens[:self.max_new_tokens]):
            text_out = trace.meta.get("edge_text")
        else:
            text_out = decode_text(self.pair, outcome.tokens)
        return outcome, text_out, len(prompt), reference, [dict(c) for c in getattr(source, "codec_stats", [])]

    def _sampled(self, text: str, index: int) -> tuple[Outcome, str, int, list[dict[str, Any]]]:
        """A sampled (T > 0) query: cached cycles replayed, or generated live through the loop."""
        seed = self.sample_seed + index
        policy = self._sampled_policy() if self.strategy.speculative else None
        bind = getattr(policy, "bind", None)
        if bind is not None:
            bind(self.pair, self.edge_hardware, self.cloud_hardware, lambda: self.compute)
        strategy = Strategy(self.strategy.placement, policy, self.strategy.codec)
        network = None
        if strategy.reads_link:
            network = {"link": link_digest(self.link), "hardware": [self.edge_hardware, self.cloud_hardware],
                       "calibration": self.compute.calibration.timing_hash() + (":context" if self.compute_context
                                                                                else ""),
                       "start_ms": self.clock_ms,
                       "bandwidth_mbps": self.meter.mbps}
        fields = sampled_fields(self.pair, text, self.max_new_tokens, self.chat, strategy, self.policy_desc,
                                self.temperature, seed, network)
        source, run = source_for(fields, strategy, self.pair, text, self.chat, self.max_new_tokens,
                                 self.temperature, seed)
        t0 = time.perf_counter()
        outcome = self._run(strategy, source)
        if run is None:
            assert isinstance(source, LiveSource)
            run = finish_live(fields, source, self.pair, time.perf_counter() - t0)
        # Sampled outputs match cloud-only in distribution, not token by token (the chi-squared
        # tests check that); there is no per-query reference.
        return outcome, run.text, len(run.prompt_ids), [dict(c) for c in run.codec_stats]
