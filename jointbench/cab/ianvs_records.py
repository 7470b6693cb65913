"""The per-sample records the CAb Ianvs modules return (``SampleRecord`` dicts).

A record answers with the top-1 option (so the suite's ``Accuracy (%)`` works) and keeps
the set-valued output and the trial bookkeeping in ``extras``:

* ``cab_session``, ``trial``, ``position``, ``batch_size``, ``row``, ``alpha``:
  which trial batch the sample belongs to;
* edge record: ``edge_set_kind`` ("hms"/"cp"/"lcp"), ``sigma``, ``edge_set`` (option
  indices), ``confidence`` (max edge probability);
* cloud record: ``cloud_set`` (the cloud highest-mass set), ``confidence``;
* reference annotations, prefixed ``ref_``: the trial's sampled reference label
  ``ref_label`` (y ~ p*(.|x)), and on the edge record ``ref_alignment`` (C*(x), the
  cloud mass in the edge set), ``ref_satisfied`` (C*(x) >= 1 - alpha) and
  ``ref_cloud_set_size`` (|cloud set|, the NI denominator). They are computed from the
  cloud reference distribution like ``y_true``, only metrics read them, and no routing
  decision uses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jointbench.cab.ianvs_session import SESSION_FIELD, CabSession
from jointbench.datasets.teleqna import LETTERS
from jointbench.records import SampleRecord


def _trial_fields(session: CabSession, sample: Mapping[str, Any]) -> tuple[int, int, dict[str, Any], dict[str, Any]]:
    t, j = int(sample["trial"]), int(sample["position"])
    ref = session.reference(t, j)
    if int(sample["row"]) != ref["row"]:
        raise ValueError(f"sample of trial {t}, position {j} names row {sample['row']}, but the "
                         f"session's batch has row {ref['row']} there")
    fields = {SESSION_FIELD: session.key, "trial": t, "position": j, "batch_size": session.batch_size,
              "row": ref["row"], "alpha": session.design.alpha, "ref_label": ref["ref_label"]}
    return t, j, fields, ref


def _answer(session: CabSession, side: str, ref: Mapping[str, Any]) -> tuple[str, bool | None, float]:
    choice, conf = session.top1(side, ref["row"])
    correct = (choice == ref["key"]) if ref["key_valid"] else None
    return LETTERS[choice], correct, conf


def record_dict(record: SampleRecord) -> dict[str, Any]:
    """``record`` as the plain dict a module returns (shallow: its lists are fresh per sample).

    Equal to ``record.to_dict()``, without the recursive copy that dominates the run time
    of a job with thousands of samples per test case.
    """
    return dict(vars(record))


def edge_record(session: CabSession, sample: Mapping[str, Any], edge_set: str,
                sigma: float | str = "auto", run_edge: bool = True) -> SampleRecord:
    """The edge's answer and prediction set for one (trial, question) sample.

    Parameters
    ----------
    session : CabSession
    sample : mapping
        An input made by the CAb dataset processor.
    edge_set : {"hms", "cp", "lcp"}
    sigma : float, "auto" or "paper"
        RLCP bandwidth (LCP only).
    run_edge : bool
        False for a cloud-only system: no answer, no set, ``confidence`` None (so a
        confidence HEM defers), but the trial fields and references are kept.
    """
    t, j, extras, ref = _trial_fields(session, sample)
    extras.update(edge_set_kind=edge_set, sigma=sigma, ref_cloud_set_size=len(ref["cloud_set"]),
                  key_valid=ref["key_valid"])
    record = SampleRecord(sample_id=str(sample.get("qid", ref["row"])), sample_index=sample.get("index"),
                          route="edge", extras=extras)
    if not run_edge:
        extras.update({"skipped": True, "confidence": None, "edge_set": [], "ref_satisfied": False})
        return record
    letter, correct, conf = _answer(session, "edge", ref)
    record.prediction, record.correct = letter, correct
    extras.update(session.edge_set(t, j, edge_set, sigma))
    extras["confidence"] = conf
    return record


def cloud_record(session: CabSession, sample: Mapping[str, Any]) -> SampleRecord:
    """The cloud's answer and highest-mass set for one deferred (trial, question) sample."""
    _, _, fields, ref = _trial_fields(session, sample)
    letter, correct, conf = _answer(session, "cloud", ref)
    extras = {**fields, "cloud_set": ref["cloud_set"], "confidence": conf, "key_valid": ref["key_valid"]}
    return SampleRecord(sample_id=str(sample.get("qid", ref["row"])), sample_index=sample.get("index"),
                        prediction=letter, correct=correct, route="cloud", extras=extras)
