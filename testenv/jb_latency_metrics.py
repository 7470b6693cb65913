"""Ianvs metric shims: end-to-end latency and time to first token (virtual clock)."""

from jointbench.metrics import latency_mean_ms, latency_percentile_ms, ttft_percentile_ms
from jointbench.registry import ClassFactory, ClassType

__all__ = ["latency_p50", "latency_p95", "latency_p99", "latency_mean", "ttft_p50", "ttft_p95"]


@ClassFactory.register(ClassType.GENERAL, alias="Latency P50 (ms)")
def latency_p50(y_true, y_pred):
    """Median end-to-end latency, in ms."""
    return latency_percentile_ms(y_pred, 50)


@ClassFactory.register(ClassType.GENERAL, alias="Latency P95 (ms)")
def latency_p95(y_true, y_pred):
    """95th-percentile end-to-end latency, in ms."""
    return latency_percentile_ms(y_pred, 95)


@ClassFactory.register(ClassType.GENERAL, alias="Latency P99 (ms)")
def latency_p99(y_true, y_pred):
    """99th-percentile end-to-end latency, in ms."""
    return latency_percentile_ms(y_pred, 99)


@ClassFactory.register(ClassType.GENERAL, alias="Latency mean (ms)")
def latency_mean(y_true, y_pred):
    """Mean end-to-end latency, in ms."""
    return latency_mean_ms(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="TTFT P50 (ms)")
def ttft_p50(y_true, y_pred):
    """Median time to first token, in ms."""
    return ttft_percentile_ms(y_pred, 50)


@ClassFactory.register(ClassType.GENERAL, alias="TTFT P95 (ms)")
def ttft_p95(y_true, y_pred):
    """95th-percentile time to first token, in ms."""
    return ttft_percentile_ms(y_pred, 95)
