"""CabSelector (the Ianvs-facing fit/select object) against the vectorised experiment."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.cab.data import load_cascade_data
from jointbench.cab.experiment import run_experiment
from jointbench.cab.options import CabOptions
from cab_reference_selector import CabSelector, ReferenceSplit
from jointbench.cab.trials import draw_trials, prepare, trial_streams

SPLITS = (500, 200, 500, 100)


@pytest.fixture(scope="module")
def teleqna4():
    return load_cascade_data(4, embeddings=True)


def _split(data, rows: np.ndarray, labels: np.ndarray | None = None) -> ReferenceSplit:
    return ReferenceSplit(
        data.edge_probs[rows], data.cloud_probs[rows],
        labels=None if labels is None else labels[rows], embeddings=data.embeddings[rows],
    )


@pytest.mark.parametrize("mode", ["faithful", "clean"])
@pytest.mark.parametrize("edge_set", ["hms", "cp"])
def test_selector_reproduces_vectorised_trials(teleqna4, mode: str, edge_set: str) -> None:
    n_trials, seed, alpha, delta = 8, 11, 0.2, 0.25
    opts = CabOptions.from_mode(mode)
    streams = trial_streams(seed)
    trials = draw_trials(prepare(teleqna4, alpha, opts, "maxprob"), n_trials, SPLITS,
                         streams["split"], streams["label"])
    ref = run_experiment(teleqna4, alpha, delta, [("cab", edge_set)], n_trials=n_trials,
                         seed=seed, mode=opts, return_trials=True)
    per = next(iter(ref.values()))["per_trial"]
    for t in range(n_trials):
        labels = trials.labels[t]
        sel = CabSelector(alpha, delta, edge_set=edge_set, mode=opts).fit(
            _split(teleqna4, trials.cal[t], labels), _split(teleqna4, trials.train[t]),
            _split(teleqna4, trials.val[t]),
        )
        test = _split(teleqna4, trials.test[t])
        serve = sel.select(test.edge_probs)
        sat = sel.satisfied(test)
        assert serve.sum() == per["n_served"][t]
        expected_sr = sat[serve].mean() if serve.any() else 1.0
        assert expected_sr == pytest.approx(per["sr"][t])


def test_selector_decide_interface_and_state(teleqna4) -> None:
    rng = np.random.default_rng(0)
    rows = rng.permutation(teleqna4.n)
    cal, tr, val, te = rows[:500], rows[500:700], rows[700:1200], rows[1200:1300]
    sel = CabSelector(0.2, 0.25, edge_set="lcp", sigma=0.5).fit(
        _split(teleqna4, cal), _split(teleqna4, tr), _split(teleqna4, val)
    )
    out = sel.decide(teleqna4.edge_probs[te], teleqna4.embeddings[te])
    assert out["serve"].shape == (100,) and out["serve"].dtype == bool
    assert out["edge_sets"].shape == (100, 4)
    assert np.all((out["p_values"] > 0) & (out["p_values"] <= 1))
    # BH: every served input has a smaller p-value than every deferred one.
    if out["serve"].any() and (~out["serve"]).any():
        assert out["p_values"][out["serve"]].max() < out["p_values"][~out["serve"]].min()
    state = sel.state()
    assert state["n_selection_calibration"] == 500 and state["edge_set"] == "lcp"
    with pytest.raises(ValueError, match="embeddings"):
        sel.edge_sets(teleqna4.edge_probs[te])
    with pytest.raises(RuntimeError):
        CabSelector(0.2, 0.25).select(teleqna4.edge_probs[te])


def test_selector_drops_zero_cloud_rows() -> None:
    data = load_cascade_data(5)
    zero = int(np.flatnonzero(~(data.cloud_probs > 0).any(1))[0])
    rows = np.r_[zero, np.arange(1500, 2100)]
    split = ReferenceSplit(data.edge_probs[rows], data.cloud_probs[rows])
    sel = CabSelector(0.2, 0.25, edge_set="cp").fit(split, split, split)
    assert sel.state()["n_selection_calibration"] == rows.size - 1
    assert sel.cloud_sets(data.cloud_probs[[zero]]).all()
    keep = CabSelector(0.2, 0.25, mode=CabOptions.clean(zero_cloud_rows="unsatisfiable"))
    keep.fit(split, split, split)
    assert keep.state()["n_selection_calibration"] == rows.size
    assert not keep.satisfied(split.subset(np.arange(rows.size) == 0)).any()
