"""Jitter laws: moments within sample-size tolerances, clipping at -propagation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointbench.netsim import Link, LinkConfig, jitter_moments
from jointbench.netsim.jitter import draw_jitter_ms

# (non-excess) kurtosis of each law, for the standard error of the sample std
KURTOSIS = {"uniform": 1.8, "gauss": 3.0, "lognormal": 41.0}  # lognormal, s^2 = ln 2
Z = 5.0  # tolerance in standard errors


def _check_moments(sample: np.ndarray, dist: str, j: float) -> None:
    n = sample.size
    mean, std = jitter_moments(dist, j)
    se_mean = std / math.sqrt(n)
    se_std = std * math.sqrt((KURTOSIS[dist] - 1.0) / (4.0 * n))
    assert abs(sample.mean() - mean) <= Z * se_mean, (dist, sample.mean(), mean)
    assert abs(sample.std(ddof=1) - std) <= Z * se_std, (dist, sample.std(ddof=1), std)


def test_documented_moments() -> None:
    assert jitter_moments("uniform", 3.0) == (0.0, pytest.approx(3.0 / math.sqrt(3.0)))
    assert jitter_moments("gauss", 3.0) == (0.0, 3.0)
    assert jitter_moments("lognormal", 3.0) == (3.0, 3.0)


@pytest.mark.parametrize("dist", ["uniform", "gauss", "lognormal"])
def test_draw_moments_many(dist: str) -> None:
    rng = np.random.default_rng(123)
    _check_moments(np.asarray(draw_jitter_ms(rng, dist, 4.0, size=200_000)), dist, 4.0)


@pytest.mark.parametrize("dist", ["uniform", "gauss", "lognormal"])
def test_link_jitter_moments(dist: str) -> None:
    # propagation 500 ms >> jitter, so clipping never applies
    link = Link(LinkConfig(rtt_ms=1000.0, jitter_ms=4.0, jitter_dist=dist, seed=7))
    sample = np.array([link.send("up", 10).jitter_ms for _ in range(20_000)])
    _check_moments(sample, dist, 4.0)


def test_uniform_support() -> None:
    link = Link(LinkConfig(rtt_ms=100.0, jitter_ms=5.0))
    sample = np.array([link.send("down", 1).jitter_ms for _ in range(5000)])
    assert sample.min() >= -5.0 and sample.max() <= 5.0


def test_lognormal_is_one_sided() -> None:
    link = Link(LinkConfig(rtt_ms=10.0, jitter_ms=2.0, jitter_dist="lognormal"))
    assert all(link.send("up", 1).jitter_ms > 0 for _ in range(2000))


@pytest.mark.parametrize("dist", ["uniform", "gauss"])
def test_clipped_so_delay_never_negative(dist: str) -> None:
    # propagation 1 ms, jitter scale 5 ms: many draws below -1 ms are clipped to -1 ms
    link = Link(LinkConfig(rtt_ms=2.0, jitter_ms=5.0, jitter_dist=dist, seed=3))
    sample = np.array([link.send("up", 0).jitter_ms for _ in range(5000)])
    assert sample.min() == -1.0
    assert (sample == -1.0).sum() > 1000
    assert (sample + 1.0 >= 0).all()


def test_zero_jitter_is_exactly_zero() -> None:
    link = Link(LinkConfig(rtt_ms=10.0, jitter_ms=0.0, jitter_dist="gauss"))
    assert {link.send("up", 1).jitter_ms for _ in range(100)} == {0.0}


def test_unknown_dist_in_draw() -> None:
    with pytest.raises(ValueError, match="network_jitter_dist"):
        draw_jitter_ms(np.random.default_rng(0), "pareto", 1.0)
