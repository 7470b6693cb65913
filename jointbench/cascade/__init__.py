"""Confidence-based deferral cascade (the baseline of the CAb issue)."""

from jointbench.cascade.deferral import defer_to_cloud, threshold_curve, top1

__all__ = ["defer_to_cloud", "threshold_curve", "top1"]
