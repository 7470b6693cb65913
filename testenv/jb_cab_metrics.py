"""Ianvs metric shims: set-valued cascade metrics over CAb trials (mean and std over trials)."""

from jointbench.cab.record_metrics import set_metric_mean, set_metric_std, set_trial_count
from jointbench.registry import ClassFactory, ClassType

__all__ = [
    "cab_dr_mean", "cab_dr_std", "cab_sr_mean", "cab_sr_std", "cab_ni_mean", "cab_ni_std",
    "cab_coverage_mean", "cab_coverage_std", "cab_accuracy_mean", "cab_accuracy_std",
    "cab_set_size_mean", "cab_empty_trials", "cab_trials",
]


@ClassFactory.register(ClassType.GENERAL, alias="CAb Deferral rate mean (%)")
def cab_dr_mean(y_true, y_pred):
    """Share of each trial's batch sent to the cloud, mean over trials, in %."""
    return set_metric_mean(y_pred, "deferral_rate", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb Deferral rate std (%)")
def cab_dr_std(y_true, y_pred):
    """Deferral rate, std over trials, in %."""
    return set_metric_std(y_pred, "deferral_rate", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb SR mean (%)")
def cab_sr_mean(y_true, y_pred):
    """Satisfaction rate among edge-served inputs (1 if none), mean over trials, in %."""
    return set_metric_mean(y_pred, "sr", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb SR std (%)")
def cab_sr_std(y_true, y_pred):
    """Satisfaction rate, std over trials, in %."""
    return set_metric_std(y_pred, "sr", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb Normalized inefficiency mean (ratio)")
def cab_ni_mean(y_true, y_pred):
    """Delivered set size over cloud set size (1 if deferred), mean over trials."""
    return set_metric_mean(y_pred, "ni")


@ClassFactory.register(ClassType.GENERAL, alias="CAb Normalized inefficiency std (ratio)")
def cab_ni_std(y_true, y_pred):
    """Normalized inefficiency, std over trials."""
    return set_metric_std(y_pred, "ni")


@ClassFactory.register(ClassType.GENERAL, alias="CAb Coverage mean (%)")
def cab_coverage_mean(y_true, y_pred):
    """Share of inputs whose sampled reference label is in the delivered set, mean over trials, in %."""
    return set_metric_mean(y_pred, "coverage", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb Coverage std (%)")
def cab_coverage_std(y_true, y_pred):
    """Marginal coverage, std over trials, in %."""
    return set_metric_std(y_pred, "coverage", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb Accuracy mean (%)")
def cab_accuracy_mean(y_true, y_pred):
    """Top-1 answer against the TeleQnA key, mean over trials, in %."""
    return set_metric_mean(y_pred, "accuracy", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb Accuracy std (%)")
def cab_accuracy_std(y_true, y_pred):
    """Accuracy against the key, std over trials, in %."""
    return set_metric_std(y_pred, "accuracy", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb Set size mean (options)")
def cab_set_size_mean(y_true, y_pred):
    """Size of the delivered prediction set, mean over trials, in options."""
    return set_metric_mean(y_pred, "set_size")


@ClassFactory.register(ClassType.GENERAL, alias="CAb Empty trials (%)")
def cab_empty_trials(y_true, y_pred):
    """Share of trials whose batch was entirely deferred, in %."""
    return set_metric_mean(y_pred, "empty", 100.0)


@ClassFactory.register(ClassType.GENERAL, alias="CAb Trials (count)")
def cab_trials(y_true, y_pred):
    """Number of trials evaluated (a count, as a float like every other metric)."""
    return float(set_trial_count(y_pred))
