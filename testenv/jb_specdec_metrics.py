"""Ianvs metric shims: throughput, speculation, wire cost and losslessness of generative methods."""

from jointbench.metrics.generation import (
    acceptance_rate_pct,
    accepted_per_cycle,
    cloud_agreement_pct,
    downlink_bytes_per_token,
    fallback_token_pct,
    lossy_pct,
    network_overhead_pct,
    tokens_per_s_percentile,
    uplink_bytes_per_drafted_token,
    uplink_bytes_per_token,
)
from jointbench.registry import ClassFactory, ClassType

__all__ = ["throughput_p50", "throughput_p95", "acceptance_rate", "accepted_tokens_per_cycle",
           "network_overhead", "uplink_per_token", "uplink_per_drafted_token", "downlink_per_token",
           "cloud_agreement", "lossy_queries", "fallback_tokens"]


@ClassFactory.register(ClassType.GENERAL, alias="Throughput P50 (tokens/s)")
def throughput_p50(y_true, y_pred):
    """Median per-query throughput (generated tokens / end-to-end latency), in tokens/s."""
    return tokens_per_s_percentile(y_pred, 50)


@ClassFactory.register(ClassType.GENERAL, alias="Throughput P95 (tokens/s)")
def throughput_p95(y_true, y_pred):
    """95th percentile of per-query throughput, in tokens/s."""
    return tokens_per_s_percentile(y_pred, 95)


@ClassFactory.register(ClassType.GENERAL, alias="Acceptance rate (%)")
def acceptance_rate(y_true, y_pred):
    """Accepted / drafted tokens, in %."""
    return acceptance_rate_pct(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Accepted per cycle (tokens)")
def accepted_tokens_per_cycle(y_true, y_pred):
    """Mean accepted drafted tokens per draft/verify cycle, in tokens."""
    return accepted_per_cycle(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Network overhead (%)")
def network_overhead(y_true, y_pred):
    """Exposed network time / end-to-end latency, in %."""
    return network_overhead_pct(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Uplink (B/token)")
def uplink_per_token(y_true, y_pred):
    """Edge-to-cloud wire bytes per generated token."""
    return uplink_bytes_per_token(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Uplink per drafted token (B/token)")
def uplink_per_drafted_token(y_true, y_pred):
    """Edge-to-cloud wire bytes per drafted token (draft codec cost)."""
    return uplink_bytes_per_drafted_token(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Downlink (B/token)")
def downlink_per_token(y_true, y_pred):
    """Cloud-to-edge wire bytes per generated token."""
    return downlink_bytes_per_token(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Cloud agreement (%)")
def cloud_agreement(y_true, y_pred):
    """Queries whose output equals the cloud-only greedy output, in % (lossless check)."""
    return cloud_agreement_pct(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Lossy queries (%)")
def lossy_queries(y_true, y_pred):
    """Queries served at least partly by draft-model-only decoding, in % (0 = lossless strategy)."""
    return lossy_pct(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Fallback tokens (%)")
def fallback_tokens(y_true, y_pred):
    """Output tokens committed by a policy's fallback steps (NASD's cutoff), in %."""
    return fallback_token_pct(y_pred)
