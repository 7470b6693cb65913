"""Type-lattice quantiser: exact nearest point (vs brute force) and the enumerative index."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from jointbench.specdec.lattice import (
    lattice_bits,
    lattice_rank,
    lattice_size,
    lattice_unrank,
    nearest_type,
    resolution,
    sample_counts,
)


def _compositions(n: int, ell: int) -> list[tuple[int, ...]]:
    return [c for c in itertools.product(range(ell + 1), repeat=n) if sum(c) == ell]


def _brute_min(p: np.ndarray, ell: int, order: int) -> float:
    pts = np.array(_compositions(p.size, ell), dtype=float) / ell
    return float(np.min(np.linalg.norm(pts - p, ord=order, axis=1)))


def _naive_round(p: np.ndarray, ell: int) -> np.ndarray:
    """Control: round, then dump the whole sum error on the largest entry."""
    k = np.floor(ell * p + 0.5).astype(np.int64)
    k[np.argmax(p)] += ell - k.sum()
    return k


@pytest.mark.parametrize("n, ell", [(2, 1), (2, 5), (3, 4), (3, 7), (4, 3), (4, 6), (5, 4)])
def test_nearest_type_is_the_exact_l2_and_l1_nearest_point(n: int, ell: int) -> None:
    rng = np.random.default_rng(100 * n + ell)
    for trial in range(40):
        conc = [0.2, 1.0, 5.0][trial % 3]
        p = rng.dirichlet(np.full(n, conc))
        k = nearest_type(p, ell)
        assert k.sum() == ell and k.min() >= 0 and k.dtype == np.int64
        for order in (2, 1):
            got = float(np.linalg.norm(k / ell - p, ord=order))
            assert got <= _brute_min(p, ell, order) + 1e-12


def test_naive_rounding_control_is_not_nearest() -> None:
    """The brute-force check can fail: a naive sum fix is beaten on some inputs."""
    rng = np.random.default_rng(7)
    worse = 0
    for _ in range(200):
        p = rng.dirichlet(np.ones(5))
        k = _naive_round(p, 3)
        if k.min() < 0 or np.linalg.norm(k / 3 - p) > _brute_min(p, 3, 2) + 1e-12:
            worse += 1
    assert worse > 0


def test_nearest_type_edge_cases_and_errors() -> None:
    assert nearest_type(np.array([0.0, 1.0, 0.0]), 16).tolist() == [0, 16, 0]
    assert nearest_type(np.array([0.5, 0.5]), 1).tolist() == [1, 0]  # tie: lower index
    assert nearest_type(np.full(4, 0.25), 2).tolist() == [1, 1, 0, 0]
    p = np.random.default_rng(0).dirichlet(np.full(1000, 0.05))
    k = nearest_type(p, 240)
    assert k.sum() == 240 and np.max(np.abs(k / 240 - p)) < 1 / 240
    with pytest.raises(ValueError, match="ell"):
        nearest_type(p, 0)
    with pytest.raises(ValueError):
        nearest_type(np.array([0.5, -0.1, 0.6]), 4)
    with pytest.raises(ValueError, match="probability vector"):
        nearest_type(np.array([3.0, 3.0]), 4)


@pytest.mark.parametrize("n, ell", [(1, 5), (2, 6), (3, 5), (4, 4), (6, 3)])
def test_rank_is_a_bijection_onto_the_index_range(n: int, ell: int) -> None:
    comps = _compositions(n, ell)
    assert len(comps) == lattice_size(n, ell)
    ranks = [lattice_rank(np.array(c)) for c in comps]
    assert sorted(ranks) == list(range(len(comps)))
    for c, r in zip(comps, ranks):
        assert lattice_unrank(r, n, ell).tolist() == list(c)


def test_rank_round_trip_on_a_large_vocabulary_and_bit_count() -> None:
    rng = np.random.default_rng(1)
    vocab, ell = 49152, 240
    k = nearest_type(rng.dirichlet(np.full(vocab, 0.01)), ell)
    r = lattice_rank(k)
    assert 0 <= r < lattice_size(vocab, ell)
    assert np.array_equal(lattice_unrank(r, vocab, ell), k)
    # the notes' table: V = 50,272 dense, ell = 16/64/240/720 -> 206/704/2193/5451 bits
    assert [lattice_bits(50272, e) for e in (16, 64, 240, 720)] == [206, 704, 2193, 5451]
    assert lattice_bits(1, 16) == 0 and lattice_bits(2, 1) == 1
    with pytest.raises(ValueError, match="out of range"):
        lattice_unrank(lattice_size(3, 4), 3, 4)


def test_resolution_scales_with_support() -> None:
    assert resolution(16, 0.0, 100) == 16
    assert resolution(16, 2.0, 3) == 16
    assert resolution(16, 2.0, 100) == 200
    assert resolution(16, 0.5, 33) == 17


def test_sample_counts_is_exact_on_integers() -> None:
    counts = np.array([0, 3, 0, 1], dtype=np.int64)
    rng = np.random.default_rng(3)
    draws = np.bincount([sample_counts(counts, rng) for _ in range(4000)], minlength=4)
    assert draws[0] == 0 and draws[2] == 0
    assert abs(draws[1] / 4000 - 0.75) < 0.03
