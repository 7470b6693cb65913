"""Ianvs metric shims: answer quality."""

from jointbench.metrics import accuracy_pct
from jointbench.registry import ClassFactory, ClassType

__all__ = ["accuracy"]


@ClassFactory.register(ClassType.GENERAL, alias="Accuracy (%)")
def accuracy(y_true, y_pred):
    """Accuracy of the final answers, in %."""
    return accuracy_pct(y_true, y_pred)
