"""Answer-quality metrics."""

from __future__ import annotations

import math
from typing import Any, Sequence

from jointbench.metrics.slots import label_for, views


def accuracy_pct(y_true: Sequence[Any] | None, y_pred: Sequence[Any] | None) -> float:
    """Share of samples whose final answer is correct, in percent.

    A record's own ``correct`` flag wins when it is a bool; otherwise the record's
    ``prediction`` is compared (as stripped strings) with the aligned label
    (:func:`jointbench.metrics.slots.label_for`). Samples with neither are skipped.

    Returns
    -------
    float
        Accuracy in % (0-100); ``nan`` when no sample could be scored.
    """
    n_pred = len(y_pred or [])
    hits = scored = 0
    for view in views(y_pred):
        rec = view.result
        if rec is None:
            continue
        correct = rec.get("correct")
        if not isinstance(correct, bool):
            label = label_for(view, y_true, n_pred)
            if label is None or rec.get("prediction") is None:
                continue
            correct = str(rec["prediction"]).strip() == str(label).strip()
        hits += int(correct)
        scored += 1
    return 100.0 * hits / scored if scored else math.nan
