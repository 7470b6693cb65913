"""Ianvs metric shims of the uncertainty-token (UTS / CD-CCA) collaboration; units in the aliases."""

from jointbench.registry import ClassFactory, ClassType
from jointbench.uncertainty import metrics as m

__all__ = ["served_accuracy", "heldout_before", "heldout_after", "heldout_gain", "rounds", "upload_fraction",
           "auroc", "uplink", "downlink", "compression", "dense_drop", "latency"]


@ClassFactory.register(ClassType.GENERAL, alias="UTS served accuracy (%)")
def served_accuracy(y_true, y_pred):
    """Accuracy of the answers users got, %."""
    return m.served_accuracy_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS held-out acc before (%)")
def heldout_before(y_true, y_pred):
    """Edge-alone held-out accuracy before any update, %."""
    return m.heldout_before_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS held-out acc after (%)")
def heldout_after(y_true, y_pred):
    """Edge-alone held-out accuracy after the last update, %."""
    return m.heldout_after_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS held-out gain (pp)")
def heldout_gain(y_true, y_pred):
    """Held-out accuracy after minus before, percentage points."""
    return m.heldout_gain_pp(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS update rounds (count)")
def rounds(y_true, y_pred):
    """Update rounds in the test case."""
    return m.update_rounds(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS upload fraction (%)")
def upload_fraction(y_true, y_pred):
    """Share of samples uploaded, %."""
    return m.upload_fraction_pct(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS uncertainty AUROC (0-1)")
def auroc(y_true, y_pred):
    """AUROC of the edge's uncertainty for its own errors (0.5 = chance)."""
    return m.uncertainty_auroc(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS uplink (B/query)")
def uplink(y_true, y_pred):
    """Mean edge-to-cloud wire bytes per query."""
    return m.uplink_bytes_per_query(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS downlink (B/update)")
def downlink(y_true, y_pred):
    """Mean wire bytes of one model update."""
    return m.downlink_bytes_per_update(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS compression ratio (x)")
def compression(y_true, y_pred):
    """Dense fp16 update bytes over sent update bytes."""
    return m.compression_ratio_x(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS compressed-vs-dense drop (pp)")
def dense_drop(y_true, y_pred):
    """Held-out accuracy with the dense update minus with the compressed one, percentage points."""
    return m.compressed_vs_dense_drop_pp(y_true, y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="UTS latency mean (ms)")
def latency(y_true, y_pred):
    """Mean end-to-end latency per query on the virtual clock, ms."""
    return m.latency_mean_ms(y_true, y_pred)
