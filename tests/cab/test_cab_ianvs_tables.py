"""The CAb session's per-sample tables (built in one pass) equal the per-sample formulas."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.cab.data import load_cascade_data
from jointbench.cab.ianvs_session import design_from_test_set, open_session
from jointbench.cab.satisfaction import alignment_score
from jointbench.confidence import top1


@pytest.fixture(scope="module")
def session():
    n_rows = load_cascade_data(4).answer.shape[0]
    design, lines = design_from_test_set([{"row": r, "index": r} for r in range(n_rows)], n_trials=3, seed=5)
    return open_session(design, lines)


def _reference(session, t: int, j: int) -> dict:
    """The per-sample formulas the tables replace (reference, top-1, edge set)."""
    ctx = session.context()
    row = int(ctx.trials.test[t, j])
    return {"row": row, "ref_label": int(ctx.trials.labels[t, row]), "key": int(session.data.answer[row]),
            "key_valid": bool(session.data.gold_valid[row]),
            "cloud_set": np.flatnonzero(ctx.prepared.cloud_set[row]).tolist()}


def _edge_set(session, t: int, j: int, kind: str, sigma) -> dict:
    ctx = session.context(sigma=sigma if kind == "lcp" else "auto")
    col = session.design.splits[1] + session.design.splits[2] + j
    mask = ctx.edge_masks(kind)[t, col]
    row = int(ctx.trials.test[t, j])
    out = {"edge_set": np.flatnonzero(mask).tolist(),
           "ref_alignment": float(alignment_score(mask, ctx.prepared.cloud_ref[row])),
           "ref_satisfied": bool(ctx.satisfied(kind)[t, col])}
    if kind == "lcp":
        out["sigma_value"] = ctx.sigma
    return out


def _same(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(type(a[k]) is type(b[k]) and a[k] == b[k] for k in a)


@pytest.mark.parametrize("kind,sigma", [("hms", "auto"), ("cp", "auto"), ("lcp", "auto"), ("lcp", 0.5)])
def test_tables_equal_the_per_sample_formulas(session, kind: str, sigma) -> None:
    T, m = session.test_rows().shape
    for t in range(T):
        for j in range(m):
            ref = session.reference(t, j)
            assert _same(ref, _reference(session, t, j)), (t, j)
            assert _same(session.edge_set(t, j, kind, sigma), _edge_set(session, t, j, kind, sigma)), (t, j)
            for side, probs in (("edge", session.data.edge_probs), ("cloud", session.data.cloud_probs)):
                idx, conf, _ = top1(probs[ref["row"]])
                assert session.top1(side, ref["row"]) == (int(idx[0]), float(conf[0]))
    # control: a different trial's sample differs somewhere
    assert any(not _same(session.reference(1, j), _reference(session, 0, j)) for j in range(m))


def test_served_dicts_are_fresh(session) -> None:
    a, b = session.edge_set(0, 0, "cp"), session.edge_set(0, 0, "cp")
    assert a == b and a["edge_set"] is not b["edge_set"]
    r1, r2 = session.reference(0, 0), session.reference(0, 0)
    assert r1 == r2 and r1["cloud_set"] is not r2["cloud_set"]
