"""The suite's shared edge-cloud network simulator.

A :class:`Link` prices each message analytically (propagation, serialisation,
jitter, TCP-like loss recovery) on a virtual clock; :class:`Timeline` assembles a
request's compute and network into TTFT, per-token times and end-to-end latency;
:class:`EdgeCost`/:class:`CloudCost` price a cascade request and :func:`attach_costs` puts the
fields on its record; :func:`network_kwargs` is the one guard of modules taking ``network_*`` keys;
:class:`RealtimeLink` makes the same link really wait. Keys follow Ianvs's
``network_*`` hyperparameters; presets live in ``configs/network_profiles.yaml``.
See ``docs/netsim.md``.
"""

from __future__ import annotations

from jointbench.netsim.clock import Timeline, TimelineEvent, VirtualClock
from jointbench.netsim.config import VALID_KEYS, LinkConfig, network_kwargs
from jointbench.netsim.configfiles import CONFIG_DIR_ENV, config_dir
from jointbench.netsim.exchange import Exchange, NetworkTally
from jointbench.netsim.hardware import HardwareProfile, hardware_profile, load_hardware_profiles
from jointbench.netsim.jitter import JITTER_DISTS, jitter_moments
from jointbench.netsim.link import Link
from jointbench.netsim.payloads import (
    CONTROL_BYTES,
    TOKEN_ID_BYTES,
    array_bytes,
    text_bytes,
    token_bytes,
)
from jointbench.netsim.profiles import link_config_from_hyperparameters, load_network_profiles
from jointbench.netsim.realtime import RealtimeLink
from jointbench.netsim.request_costs import (
    CloudCost,
    EdgeCost,
    approx_tokens,
    attach_costs,
    cloud_cost_from_hyperparameters,
)
from jointbench.netsim.roundtrip import RequestResult, request_response
from jointbench.netsim.trace_specs import parse_trace_spec
from jointbench.netsim.traces import LinkState

__all__ = [
    "CONFIG_DIR_ENV",
    "CloudCost",
    "EdgeCost",
    "CONTROL_BYTES",
    "JITTER_DISTS",
    "TOKEN_ID_BYTES",
    "VALID_KEYS",
    "Exchange",
    "HardwareProfile",
    "Link",
    "LinkConfig",
    "LinkState",
    "NetworkTally",
    "RealtimeLink",
    "RequestResult",
    "Timeline",
    "TimelineEvent",
    "VirtualClock",
    "approx_tokens",
    "array_bytes",
    "attach_costs",
    "cloud_cost_from_hyperparameters",
    "config_dir",
    "hardware_profile",
    "jitter_moments",
    "link_config_from_hyperparameters",
    "load_hardware_profiles",
    "load_network_profiles",
    "network_kwargs",
    "parse_trace_spec",
    "request_response",
    "text_bytes",
    "token_bytes",
]
