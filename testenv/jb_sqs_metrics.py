"""Ianvs metric shims of the SQS leaderboard: draft-codec bits, rejection, support (T>0)."""

from jointbench.registry import ClassFactory, ClassType
from jointbench.specdec.sqs_metrics import (
    bits_per_accepted_token,
    dropped_mass_pct,
    rejection_analytic_pct,
    rejection_realised_pct,
    support_size_mean,
    uplink_bits_per_draft_token,
)

__all__ = ["uplink_bits_per_draft", "bits_per_accepted", "rejection_realised", "rejection_analytic",
           "dropped_mass", "support_size"]


@ClassFactory.register(ClassType.GENERAL, alias="Uplink per draft token (bit/token)")
def uplink_bits_per_draft(y_true, y_pred):
    """Draft-message bits (header, ids, distribution) per drafted token, in bit/token."""
    return uplink_bits_per_draft_token(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Bits per accepted token (bit/token)")
def bits_per_accepted(y_true, y_pred):
    """Draft-message bits per accepted drafted token, in bit/token."""
    return bits_per_accepted_token(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Rejection realised (%)")
def rejection_realised(y_true, y_pred):
    """Rejected over verified drafted positions, in %."""
    return rejection_realised_pct(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Rejection analytic TV (%)")
def rejection_analytic(y_true, y_pred):
    """Mean TV(p, q_hat) over verified drafted positions, in % (expected rejection rate)."""
    return rejection_analytic_pct(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Dropped mass (%)")
def dropped_mass(y_true, y_pred):
    """Time-averaged draft mass outside the coded support, in % (sparse codecs)."""
    return dropped_mass_pct(y_pred)


@ClassFactory.register(ClassType.GENERAL, alias="Support size (tokens)")
def support_size(y_true, y_pred):
    """Mean coded support size per drafted position, in tokens (bit-coded codecs)."""
    return support_size_mean(y_pred)
