"""The metrics layer: numbers with units, nan on empty input, alignment without blind zips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointbench.metrics import (
    accuracy_pct,
    cloud_share_pct,
    downlink_kb_per_query,
    edge_share_pct,
    latency_mean_ms,
    latency_percentile_ms,
    ttft_percentile_ms,
    uplink_kb_per_query,
)
from jointbench.records import SampleRecord


def rec(pred, idx=None, latency=None, up=0, down=0, **kw):
    return SampleRecord(sample_id=str(idx), sample_index=idx, prediction=pred, latency_ms=latency,
                        bytes_up=up, bytes_down=down, **kw).to_dict()


@pytest.mark.parametrize("fn", [accuracy_pct, cloud_share_pct, edge_share_pct, uplink_kb_per_query,
                                downlink_kb_per_query])
def test_empty_input_gives_nan(fn):
    assert math.isnan(fn([], []))
    assert math.isnan(fn(None, None))


def test_latency_empty_and_missing_fields():
    assert math.isnan(latency_percentile_ms([], 50))
    assert math.isnan(latency_mean_ms([[False, rec("A"), rec("A"), None]]))  # no latency reported
    assert math.isnan(ttft_percentile_ms([[False, rec("A", latency=3.0), rec("A", latency=3.0), None]], 50))


def test_accuracy_aligns_by_sample_index_when_subsampled():
    y_true = np.array(["A", "B", "C", "D"])
    y_pred = [[False, rec("B", idx=1), rec("B", idx=1), None], [False, rec("A", idx=3), rec("A", idx=3), None]]
    assert accuracy_pct(y_true, y_pred) == 50.0


def test_accuracy_does_not_zip_unaligned_lengths():
    y_true = np.array(["A", "B", "C"])
    y_pred = [[False, rec("A"), rec("A"), None], [False, rec("B"), rec("B"), None]]  # no sample_index
    assert math.isnan(accuracy_pct(y_true, y_pred))


def test_accuracy_positional_when_lengths_match_and_correct_flag_wins():
    y_true = np.array(["A", "B"])
    y_pred = [[False, rec("A"), None, None], [False, rec("X", correct=True), None, None]]
    assert accuracy_pct(y_true, y_pred) == 100.0


def test_routing_counts_hard_flags():
    y_pred = [[True, rec("A"), rec("B"), rec("A")], [False, rec("B"), rec("B"), None],
              [0, rec("B"), rec("B"), None], [1, rec("C"), None, rec("C")]]
    assert cloud_share_pct(None, y_pred) == 50.0
    assert edge_share_pct(None, y_pred) == 50.0


def test_latency_and_bytes_add_edge_and_cloud_records():
    edge = rec("A", latency=10.0, up=0)
    cloud = rec("B", latency=90.0, up=2000, down=500)
    y_pred = [[True, dict(cloud), edge, cloud],        # edge ran, then the cloud: 100 ms
              [False, dict(edge), edge, None],         # edge only: 10 ms
              [True, dict(cloud), None, cloud]]        # cloud only: 90 ms
    assert latency_percentile_ms(y_pred, 50) == 90.0
    assert latency_percentile_ms(y_pred, 100) == 100.0
    assert latency_mean_ms(y_pred) == pytest.approx(200.0 / 3)
    assert uplink_kb_per_query(None, y_pred) == pytest.approx(4000 / 1000 / 3)
    assert downlink_kb_per_query(None, y_pred) == pytest.approx(1000 / 1000 / 3)


def test_malformed_items_are_skipped_not_crashing():
    y_pred = [None, "x", [False, rec("A", latency=5.0), None, None]]
    assert latency_mean_ms(y_pred) == 5.0
    assert cloud_share_pct(None, y_pred) == 0.0


def test_metric_shims_have_units_in_aliases():
    import importlib.util
    import pathlib

    from jointbench.registry import ClassFactory, ClassType

    for path in sorted(pathlib.Path(__file__).resolve().parents[1].glob("testenv/jb_*_metrics.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    registry = ClassFactory.__registry__[ClassType.GENERAL]
    aliases = [a for a, fn in registry.items() if getattr(fn, "__module__", "").startswith("jb_")]
    assert len(aliases) >= 10
    for alias in aliases:
        assert "(" in alias and alias.endswith(")"), alias
        assert isinstance(registry[alias]([], []), float)


def test_views_are_decoded_once_per_y_pred_and_never_stale() -> None:
    """Every metric of a test case reads the same decoded views; another list, or the same list
    grown, is decoded afresh (control: the memo is keyed on the object and its length)."""
    from jointbench.metrics.slots import views

    def item(i: int) -> list:
        return [i % 2 == 1, {"latency_ms": float(i)}, {"latency_ms": float(i)}, None]

    y_pred = [item(i) for i in range(4)] + ["malformed"]
    first = list(views(y_pred))
    assert [v.position for v in first] == [0, 1, 2, 3] and [v.is_hard for v in first] == [False, True] * 2
    assert all(a is b for a, b in zip(list(views(y_pred)), first, strict=True))  # decoded once
    twin = [list(x) if isinstance(x, list) else x for x in y_pred]
    again = list(views(twin))
    assert again == first and not any(a is b for a, b in zip(again, first))  # another list: fresh
    y_pred.append(item(9))
    grown = list(views(y_pred))
    assert len(grown) == 5 and grown[-1].position == 5 and grown[-1].edge == {"latency_ms": 9.0}
