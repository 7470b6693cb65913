"""Ianvs metric shims: bytes on the edge-cloud link (1 KB = 1000 bytes)."""

from jointbench.metrics import downlink_kb_per_query, uplink_kb_per_query
from jointbench.registry import ClassFactory, ClassType

__all__ = ["uplink", "downlink"]


@ClassFactory.register(ClassType.GENERAL, alias="Uplink (KB/query)")
def uplink(y_true, y_pred):
    """Mean edge-to-cloud bytes per query, in KB."""
    return uplink_kb_per_query(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Downlink (KB/query)")
def downlink(y_true, y_pred):
    """Mean cloud-to-edge bytes per query, in KB."""
    return downlink_kb_per_query(y_true, y_pred)
