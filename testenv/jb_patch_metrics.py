"""Ianvs metric shims of CRC + APS Grad-CAM patch offloading (units in the aliases)."""

from jointbench.metrics import accuracy_pct, cloud_share_pct
from jointbench.patchoffload import ianvs_metrics as m
from jointbench.registry import ClassFactory, ClassType

__all__ = ["patch_top1", "patch_offload_rate", "patch_comm_cost", "patch_mean_patches", "patch_accept_wrong",
           "patch_aps_coverage", "patch_aps_set_size", "patch_latency_1", "patch_latency_8", "patch_latency_20"]


@ClassFactory.register(ClassType.GENERAL, alias=m.TOP1_ALIAS)
def patch_top1(y_true, y_pred):
    """Top-1 accuracy of the system's final answer, in %."""
    return accuracy_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias=m.OFFLOAD_ALIAS)
def patch_offload_rate(y_true, y_pred):
    """Share of images sent to the server, in %."""
    return cloud_share_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias=m.COST_ALIAS)
def patch_comm_cost(y_true, y_pred):
    """Bytes uploaded over raw image bytes, over the test set (ratio)."""
    return m.communication_cost_ratio(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Patch mean patches sent (patches/image)")
def patch_mean_patches(y_true, y_pred):
    """Mean patches uploaded per image, 0 for accepted images (patches/image)."""
    return m.mean_patches_sent(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Patch accept-and-wrong risk (%)")
def patch_accept_wrong(y_true, y_pred):
    """Images accepted at the edge with a wrong answer, in % of all images (CRC's controlled risk)."""
    return m.accept_wrong_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Patch APS coverage (%)")
def patch_aps_coverage(y_true, y_pred):
    """Images whose label is in the edge's APS candidate set, in %."""
    return m.aps_coverage_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Patch APS set size (classes)")
def patch_aps_set_size(y_true, y_pred):
    """Mean APS candidate-set size, in classes."""
    return m.aps_set_size(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Patch upload latency @1Mbps (ms)")
def patch_latency_1(y_true, y_pred):
    """Mean per-image upload time at 1 Mbit/s (serialisation only), in ms."""
    return m.upload_latency_ms(y_true, y_pred, 1.0)


@ClassFactory.register(ClassType.GENERAL, alias="Patch upload latency @8Mbps (ms)")
def patch_latency_8(y_true, y_pred):
    """Mean per-image upload time at 8 Mbit/s (serialisation only), in ms."""
    return m.upload_latency_ms(y_true, y_pred, 8.0)


@ClassFactory.register(ClassType.GENERAL, alias="Patch upload latency @20Mbps (ms)")
def patch_latency_20(y_true, y_pred):
    """Mean per-image upload time at 20 Mbit/s (serialisation only), in ms."""
    return m.upload_latency_ms(y_true, y_pred, 20.0)
