"""Decode Ianvs's 4-slot ``y_pred`` items into records.

Each item is ``[is_hard_example, result, edge_result, cloud_result]`` (contract C20).
Convention of the suite: a module's record covers only its own work (its compute and
the network exchanges it made), so a sample's totals add the edge and the cloud
record when both ran (inference-then-mining, hard) and use the one that ran otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from jointbench.records import as_record


@dataclass(frozen=True, slots=True)
class SampleView:
    """One ``y_pred`` item, decoded.

    Attributes
    ----------
    position : int
        Index of the item in ``y_pred``.
    is_hard : bool
        Whether the HEM sent the sample to the cloud (truthiness of slot 0).
    result : Mapping or None
        The final answer's record (slot 1).
    edge, cloud : Mapping or None
        The edge and cloud records (slots 2 and 3) when that side ran.
    """

    position: int
    is_hard: bool
    result: Mapping[str, Any] | None
    edge: Mapping[str, Any] | None
    cloud: Mapping[str, Any] | None

    def parts(self) -> list[Mapping[str, Any]]:
        """The records whose costs add up to this sample's cost."""
        parts = [r for r in (self.edge, self.cloud) if r is not None]
        if not parts and self.result is not None:
            parts = [self.result]
        return parts

    def total(self, field: str) -> float | None:
        """Sum of ``field`` over :meth:`parts`; ``None`` if no part reports it."""
        total: float | None = None
        for part in self.parts():
            v = part.get(field)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                total = (0 if total is None else total) + float(v)  # as sum() adds them
        return total


#: [y_pred object, its length, its views] of the last call: Ianvs calls every metric on the same
#: list, so it is decoded once per test case. Results do not depend on the memo.
_MEMO: list[Any] = [None, -1, ()]


def views(y_pred: Sequence[Any] | None) -> Iterator[SampleView]:
    """Iterate over a :class:`SampleView` per well-formed item; malformed items are skipped."""
    n = len(y_pred) if y_pred is not None else 0
    if y_pred is not None and _MEMO[0] is y_pred and _MEMO[1] == n:
        return iter(_MEMO[2])
    decoded = tuple(
        SampleView(i, bool(item[0]), as_record(item[1]), as_record(item[2]), as_record(item[3]))
        for i, item in enumerate(y_pred or []) if isinstance(item, (list, tuple)) and len(item) == 4)
    _MEMO[:] = [y_pred, n, decoded]
    return iter(decoded)


def label_for(view: SampleView, y_true: Sequence[Any] | None, n_pred: int) -> Any:
    """The reference label of ``view``, or ``None`` when it cannot be aligned.

    Uses the record's ``sample_index`` when present (robust to a subsampling
    ``dataset_processor``), else the position when ``y_true`` and ``y_pred``
    have the same length; never zips blindly.
    """
    if y_true is None:
        return None
    n_true = len(y_true)
    idx = view.result.get("sample_index") if view.result is not None else None
    if isinstance(idx, int) and not isinstance(idx, bool) and 0 <= idx < n_true:
        return y_true[idx]
    if n_true == n_pred:
        return y_true[view.position]
    return None
