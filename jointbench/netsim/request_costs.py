"""Virtual-clock cost of a cascade request: edge compute, and the cloud round trip when deferred.

Shared by every cascade-style method (the confidence cascade, CAb): :class:`EdgeCost` and
:class:`CloudCost` price one request, :func:`attach_costs` writes the fields onto a record.

The replayed TeleQnA models have no timings of their own, so compute time comes from
hardware profiles (``configs/hardware_profiles.yaml``: a prefill and a decode cost
per token for a model on a device) and network time from the shared simulator.
Token counts are estimated at 4 UTF-8 bytes per token (the usual ratio of BPE
tokenisers on English text; the Qwen2 tokenizer is not available offline), so the
latencies are model-based estimates, reproducible for a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from jointbench.netsim.hardware import HardwareProfile, hardware_profile
from jointbench.netsim.link import Link
from jointbench.netsim.payloads import text_bytes
from jointbench.netsim.profiles import link_config_from_hyperparameters
from jointbench.netsim.roundtrip import request_response

BYTES_PER_TOKEN = 4.0


def approx_tokens(text: str) -> int:
    """Estimated token count of ``text``: ``ceil(utf8_bytes / 4)``, at least 1."""
    return max(1, math.ceil(text_bytes(text) / BYTES_PER_TOKEN))


def generation_ms(profile: HardwareProfile, prompt_tokens: int, answer_tokens: int) -> float:
    """Prefill of the prompt plus decoding of the answer on ``profile`` (ms)."""
    return profile.prefill_ms(prompt_tokens) + profile.decode_ms(answer_tokens)


@lru_cache(maxsize=1 << 16)
def _prompt_cost(profile: HardwareProfile, answer_tokens: int, prompt: str) -> tuple[float, int]:
    """(cloud compute ms, prompt bytes) of one prompt; test sets repeat their prompts across trials
    and test cases, so each is priced once per process."""
    return generation_ms(profile, approx_tokens(prompt), answer_tokens), text_bytes(prompt)


@dataclass
class EdgeCost:
    """Compute cost of answering on the edge device.

    Parameters
    ----------
    profile : HardwareProfile
        Edge device and model (needs a prefill/decode cost model).
    answer_tokens : int
        Tokens generated per answer (the option letter and a little framing).
    """

    profile: HardwareProfile
    answer_tokens: int = 4

    def record_fields(self, prompt: str) -> dict[str, Any]:
        """``latency_ms`` and ``edge_compute_ms`` of one edge answer (ms)."""
        ms = generation_ms(self.profile, approx_tokens(prompt), self.answer_tokens)
        return {"latency_ms": ms, "edge_compute_ms": ms, "network_ms": 0.0}


@dataclass
class CloudCost:
    """Round trip of a deferred query: prompt up, cloud generation, answer down.

    Parameters
    ----------
    profile : HardwareProfile
        Cloud device and model.
    link : Link
        The seeded edge-cloud link (one per test case; messages draw its streams in order).
    answer_tokens : int
        Tokens the cloud generates and sends back (4 bytes each on the wire).
    query_interval_ms : float
        Queries arrive every this many ms (sample ``index`` at ``index * interval``),
        so a time-varying trace changes under a long test set.
    """

    profile: HardwareProfile
    link: Link
    answer_tokens: int = 4
    query_interval_ms: float = 1000.0

    def record_fields(self, prompt: str, index: int) -> dict[str, Any]:
        """Latency split and link accounting of one deferred query."""
        compute, up_bytes = _prompt_cost(self.profile, self.answer_tokens, prompt)
        rr = request_response(self.link, up_bytes, int(self.answer_tokens * BYTES_PER_TOKEN),
                              t_start_ms=index * self.query_interval_ms, server_compute_ms=compute,
                              up_kind="prompt", down_kind="answer")
        return {"latency_ms": rr.total_ms, "cloud_compute_ms": compute, "network_ms": rr.network_ms,
                "bytes_up": rr.bytes_up, "bytes_down": rr.bytes_down, "retransmissions": rr.retransmissions,
                "exchanges": rr.exchanges}


def cloud_cost_from_hyperparameters(hp: Mapping[str, Any], hardware: str, answer_tokens: int,
                                    query_interval_ms: float) -> CloudCost:
    """Build a :class:`CloudCost` from a module's hyperparameters (``network_*`` keys and profile names)."""
    return CloudCost(hardware_profile(hardware), Link(link_config_from_hyperparameters(hp)),
                     int(answer_tokens), float(query_interval_ms))


def attach_costs(record: Any, fields: Mapping[str, Any]) -> Any:
    """Set each cost field (``latency_ms``, ``network_ms``, ``bytes_up``, …) on ``record``; returns it.

    Parameters
    ----------
    record : jointbench.records.SampleRecord
        Any object with those attributes.
    fields : mapping
        From :meth:`EdgeCost.record_fields` or :meth:`CloudCost.record_fields`.
    """
    for key, value in fields.items():
        setattr(record, key, value)
    return record
