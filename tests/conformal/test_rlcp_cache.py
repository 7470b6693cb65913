"""The RLCP disk cache returns bit-identical thresholds and generator state; any changed input misses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from jointbench.conformal import cached_rlcp_thresholds, rlcp_cache, rlcp_thresholds

N, D, B, N_CAL, M = 60, 5, 3, 20, 10


def _inputs(seed: int = 0) -> dict[str, Any]:
    g = np.random.default_rng(seed)
    rows = np.stack([g.permutation(N)[: N_CAL + M] for _ in range(B)])
    return {"features": g.normal(size=(N, D)).astype(np.float32), "cal_rows": rows[:, :N_CAL],
            "cal_scores": g.exponential(size=(B, N_CAL)), "test_rows": rows[:, N_CAL:],
            "alpha": 0.2, "sigma": 0.7, "clamp": None}


def _call(inp: dict[str, Any], rng: np.random.Generator, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    return cached_rlcp_thresholds(inp["features"], inp["cal_rows"], inp["cal_scores"], inp["test_rows"],
                                  inp["alpha"], inp["sigma"], rng, clamp=inp["clamp"], **kw)


def _reference(inp: dict[str, Any], seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = inp["features"]
    q, ess = rlcp_thresholds(f[inp["cal_rows"]], inp["cal_scores"], f[inp["test_rows"]], inp["alpha"],
                             inp["sigma"], rng, clamp=inp["clamp"])
    return q, ess, rng.standard_normal(4)  # the next draws show the generator's end state


def _forbid_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("computed: cache miss")

    monkeypatch.setattr(rlcp_cache, "rlcp_thresholds", boom)


@pytest.fixture(autouse=True)
def _cache_root(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))


def test_miss_then_hit_are_bit_identical_with_the_generator_state(tmp_path: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    inp = _inputs()
    q_ref, ess_ref, next_ref = _reference(inp)
    assert np.isfinite(q_ref).any()
    for _ in range(2):  # miss (computes and writes), then hit (reads)
        rng = np.random.default_rng(5)
        q, ess = _call(inp, rng)
        assert np.array_equal(q, q_ref) and np.array_equal(ess, ess_ref)
        assert np.array_equal(rng.standard_normal(4), next_ref)
        assert len(list((tmp_path / "rlcp").glob("*.npz"))) == 1
        _forbid_compute(monkeypatch)  # the second round must not compute
    # control: with the computation forbidden, the same call without the cache fails
    with pytest.raises(AssertionError, match="cache miss"):
        _call(inp, np.random.default_rng(5), use_cache=False)


@pytest.mark.parametrize("change", ["features", "cal_rows", "cal_scores", "test_rows", "alpha", "sigma",
                                    "clamp", "rng"])
def test_every_input_that_decides_the_thresholds_is_in_the_key(change: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    inp = _inputs()
    _call(inp, np.random.default_rng(5))  # fill the cache
    _forbid_compute(monkeypatch)
    _call(inp, np.random.default_rng(5))  # unchanged: a hit
    changed = dict(inp)
    seed = 5
    if change == "features":
        changed["features"] = inp["features"].copy()
        changed["features"][inp["test_rows"][0, 0], 0] += 1e-3
    elif change in ("cal_rows", "test_rows"):
        changed[change] = inp[change][:, ::-1].copy()
    elif change == "cal_scores":
        changed["cal_scores"] = inp["cal_scores"] * (1 + 1e-12)
    elif change in ("alpha", "sigma"):
        changed[change] = inp[change] + 0.05
    elif change == "clamp":
        changed["clamp"] = 3.0
    else:
        seed = 6
    with pytest.raises(AssertionError, match="cache miss"):
        _call(changed, np.random.default_rng(seed))


def test_an_unreadable_entry_is_recomputed_with_a_warning(tmp_path: Any) -> None:
    inp = _inputs()
    q_ref, ess_ref, _ = _reference(inp)
    _call(inp, np.random.default_rng(5))
    (entry,) = (tmp_path / "rlcp").glob("*.npz")
    entry.write_bytes(b"not an npz")
    with pytest.warns(UserWarning, match="unreadable RLCP cache entry"):
        q, ess = _call(inp, np.random.default_rng(5))
    assert np.array_equal(q, q_ref) and np.array_equal(ess, ess_ref)
