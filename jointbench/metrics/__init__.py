"""Pure metric functions over Ianvs's ``y_true`` and ``y_pred``.

Each takes ``(y_true, y_pred)``, reads only documented record fields
(:mod:`jointbench.records`), never crashes on empty input (it returns ``nan``,
documented per function) and carries its unit in its registered alias.
"""

from jointbench.metrics.bandwidth import downlink_kb_per_query, uplink_kb_per_query
from jointbench.metrics.latency import latency_mean_ms, latency_percentile_ms, ttft_percentile_ms
from jointbench.metrics.quality import accuracy_pct
from jointbench.metrics.routing import cloud_share_pct, edge_share_pct

__all__ = [
    "accuracy_pct",
    "cloud_share_pct",
    "downlink_kb_per_query",
    "edge_share_pct",
    "latency_mean_ms",
    "latency_percentile_ms",
    "ttft_percentile_ms",
    "uplink_kb_per_query",
]
