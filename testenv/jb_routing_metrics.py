"""Ianvs metric shims: who answered."""

from jointbench.metrics import cloud_share_pct, edge_share_pct
from jointbench.registry import ClassFactory, ClassType

__all__ = ["deferral_rate", "edge_share"]


@ClassFactory.register(ClassType.GENERAL, alias="Deferral rate (%)")
def deferral_rate(y_true, y_pred):
    """Share of samples sent to the cloud, in %."""
    return cloud_share_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Edge share (%)")
def edge_share(y_true, y_pred):
    """Share of samples answered at the edge, in %."""
    return edge_share_pct(y_true, y_pred)
