"""One test case of the speculative-decoding leaderboard: configuration in, records out.

:class:`SpecDecSession` is what the Ianvs edge module wraps: it resolves the pair,
the compute model (calibration cached per pair, hardware profiles per side), the
network link and the strategy from flat hyperparameters, and answers one query at a
time from recorded traces. Queries run back to back on one virtual clock and one
link, so a network trace (``oscillating``) evolves across the test set.
"""

from __future__ import annotations

import json
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
    compute_model,
)
from jointbench.specdec.sampled import get_sampled
from jointbench.specdec.strategies import Strategy, make_policy, outcome_record, run_cycles
from jointbench.specdec.tracestore import RECORDING_S, get_pair, get_trace, record_all

_CALIBRATIONS: dict[str, Calibration] = {}
_COMPUTE: dict[tuple[str, str, str, int], ComputeModel] = {}


def get_calibration(pair: str) -> Calibration:
    """The pair's calibration: in process, else the JSON cache, else measured (loads the pair)."""
    if pair not in _CALIBRATIONS:
        path = calibration_path(pair)
        if path.is_file():
            _CALIBRATIONS[pair] = calibration_from_dict(json.loads(path.read_text()))
        else:
            _CALIBRATIONS[pair], measured_s = cached_calibration(get_pair(pair))
            RECORDING_S["calibrate_s"] = RECORDING_S.get("calibrate_s", 0.0) + measured_s
    return _CALIBRATIONS[pair]


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
    strategy : {"cloud_only", "edge_only", "colocated", "edge_cloud"}
    pair : str
        Key of :data:`jointbench.specdec.models.PAIRS`.
    policy : {"fixed", "heuristic"}
        Draft-length policy of the speculative strategies.
    k : int
        Fixed ``K`` or the heuristic's start.
    k_max : int, optional
        Heuristic upper bound.
    transient : bool
        Heuristic resets ``K`` per query.
    max_new_tokens : int
        Generation limit (tokens).
    hardware : str, optional
        ``"<edge profile>/<cloud profile>"``; overrides ``edge_hardware``/``cloud_hardware``.
    edge_hardware, cloud_hardware : str
        Profiles of ``configs/hardware_profiles.yaml``.
    chat : bool
        Wrap prompts in the pair's chat template.
    temperature : float
        0: greedy, replayed from recorded traces. > 0: sampled; each query's generation
        runs once per (strategy, policy, seed) and is replayed across profiles
        (:mod:`jointbench.specdec.sampled`).
    sample_seed : int
        Seed of the sampled generations (T > 0); query ``i`` uses ``sample_seed + i``.
    torch_threads : int
        Torch threads for recording and calibration (the calibration is cached per count).
    keep_exchanges : bool
        Keep every message's :class:`~jointbench.netsim.Exchange` in the records (large).
    bandwidth_mbps : float, optional
        Both directions' bandwidth (Mbit/s) unless a ``network_*_bandwidth_mbps`` key is given.
    **network : Any
        ``network_profile``, ``network_seed`` and any ``network_*`` key.
    """

    def __init__(self, strategy: str = "cloud_only", pair: str = "smollm2-135m-int8", policy: str = "fixed",
                 k: int = 3, k_max: int | None = None, transient: bool = False, max_new_tokens: int = 64,
                 hardware: str | None = None, edge_hardware: str = "this-cpu",
                 cloud_hardware: str = "this-cpu", chat: bool = True, temperature: float = 0.0,
                 sample_seed: int = 0, keep_exchanges: bool = False, bandwidth_mbps: float | None = None, torch_threads: int = 1,
                 **network: Any) -> None:
        if float(temperature) < 0.0:
            raise ValueError(f"temperature={temperature!r}: must be >= 0")
        unknown = [key for key in network if not key.startswith("network_")]
        if unknown:
            raise TypeError(f"unknown hyperparameter(s) {unknown}")
        # The calibration (and so every timing) depends on the thread count: pin it, so the
        # same YAML gives the same numbers on any machine with that many free cores.
        torch.set_num_threads(int(torch_threads))
        self.pair = str(pair)
        self.temperature = float(temperature)
        self.sample_seed = int(sample_seed)
        self.policy_desc = f"{policy}:{k}:{k_max}"
        self._new_policy = lambda: make_policy(policy, k, k_max, transient=True)
        self.max_new_tokens = int(max_new_tokens)
        self.chat = bool(chat)
        self.keep_exchanges = bool(keep_exchanges)
        self.edge_hardware, self.cloud_hardware = split_hardware(hardware, edge_hardware, cloud_hardware)
        speculative = strategy in ("colocated", "edge_cloud")
        self.strategy = Strategy(strategy, make_policy(policy, k, k_max, transient) if speculative else None)
        if bandwidth_mbps is not None:
            network.setdefault("network_uplink_bandwidth_mbps", float(bandwidth_mbps))
            network.setdefault("network_downlink_bandwidth_mbps", float(bandwidth_mbps))
        self.link = Link(link_config_from_hyperparameters(dict(network)))
        self._compute: ComputeModel | None = None
        self.clock_ms = 0.0

    @property
    def compute(self) -> ComputeModel:
        """The compute model (calibration loaded or measured on first use)."""
        if self._compute is None:
            key = (self.pair, self.edge_hardware, self.cloud_hardware, torch.get_num_threads())
            if key not in _COMPUTE:
                _COMPUTE[key] = compute_model(get_calibration(self.pair), self.edge_hardware, self.cloud_hardware)
            self._compute = _COMPUTE[key]
        return self._compute

    def prepare(self, texts: Sequence[str], progress: bool = True) -> None:
        """Record every missing trace up front (one progress bar) and calibrate."""
        record_all(self.pair, texts, self.max_new_tokens, self.chat, progress)
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
        if self.temperature > 0.0:
            outcome, text_out, n_prompt = self._sampled(text, int(idx or 0))
            reference, windows = None, 0
        else:
            trace = get_trace(self.pair, text, self.max_new_tokens, self.chat)
            outcome = self.strategy.run(trace, self.compute, self.link, self.max_new_tokens, self.clock_ms,
                                        self.keep_exchanges)
            reference = trace.target_tokens[:self.max_new_tokens]
            windows = int(getattr(trace.greedy, "estimated_windows", 0))
            n_prompt = len(trace.prompt_ids)
            same = list(outcome.tokens) == list(reference)
            edge = self.strategy.name == "edge_only"
            text_out = trace.meta.get("edge_text" if edge else "target_text") if (edge or same) else None
        self.clock_ms += outcome.timeline.latency_ms
        rec = outcome_record(outcome, reference, self.strategy, str(q.get("id", idx)),
                             int(idx) if idx is not None else None, windows, self.keep_exchanges)
        rec["prediction"] = parse_answer(kind, text_out or "") or ""
        rec["extras"].update({"text": text_out, "kind": kind, "prompt_tokens": n_prompt,
                              "temperature": self.temperature,
                              "edge_hardware": self.edge_hardware, "cloud_hardware": self.cloud_hardware})
        return rec

    def _sampled(self, text: str, index: int) -> tuple[Any, str, int]:
        """Outcome of a sampled (T > 0) query, generated once per seed and replayed here."""
        run = get_sampled(self.pair, text, self.max_new_tokens, self.chat, self.strategy.name,
                          self.policy_desc, self._new_policy, self.temperature, self.sample_seed + index)
        outcome = run_cycles(self.strategy, len(run.prompt_ids), run.tokens, run.cycles, self.compute,
                             self.link, self.clock_ms, self.keep_exchanges)
        # Sampled outputs match cloud-only in distribution, not token by token (the chi-squared
        # tests check that); there is no per-query reference.
        return outcome, run.text, len(run.prompt_ids)
