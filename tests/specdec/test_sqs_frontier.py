"""The K-SQS frontier (Pareto front, log-bits interpolation), the paired bootstrap, and the ell rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointbench.specdec import lattice as lt
from jointbench.specdec import sqs_metrics as sm
from jointbench.specdec.codecs.sqs_codecs import CSQSCodec, KSQSCodec
from jointbench.specdec.sqs import CSQS, KSQS
from jointbench.specdec.sqs_frontier import bootstrap_gap, frontier_at, pareto

BITS = np.array([100.0, 400.0, 200.0, 800.0])
REJ = np.array([80.0, 60.0, 85.0, 50.0])  # the 200-bit point is dominated by the 100-bit one


def test_pareto_drops_dominated_points():
    assert pareto(BITS, REJ).tolist() == [0, 1, 3]
    # control: without the dominated point's removal the 200-bit point would be on the front
    assert 2 not in pareto(BITS, REJ).tolist()


def test_frontier_interpolates_in_log_bits():
    # 200 bits is half-way between 100 and 400 in log2 -> half-way between 80 and 60
    assert frontier_at(BITS, REJ, 200.0) == pytest.approx(70.0)
    # control: linear-in-bits interpolation would give 80 - 20 / 3
    assert frontier_at(BITS, REJ, 200.0) != pytest.approx(80.0 - 20.0 / 3.0)
    assert frontier_at(BITS, REJ, 400.0) == pytest.approx(60.0)
    assert frontier_at(BITS, REJ, 800.0) == pytest.approx(50.0)


def test_frontier_never_extrapolates():
    assert math.isnan(frontier_at(BITS, REJ, 99.0))
    assert math.isnan(frontier_at(BITS, REJ, 801.0))
    assert math.isnan(frontier_at(BITS, REJ, 0.0))


def test_frontier_is_flat_past_a_dominated_largest_point():
    """A largest K that rejects more ends the front; up to its bits the last front point is reachable."""
    bits, rej = np.array([100.0, 400.0, 800.0]), np.array([80.0, 60.0, 61.0])
    assert frontier_at(bits, rej, 600.0) == pytest.approx(60.0)
    # control: interpolating through the dominated point would give a value above 60
    assert frontier_at(bits, rej, 600.0) < np.interp(np.log(600.0), np.log(bits), rej)
    assert math.isnan(frontier_at(bits, rej, 900.0))


def _units(bits_per_token: float, rej_pct: float, n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Per-unit totals (bits, drafted, tv sum, verified) of a codec with 50 positions per unit."""
    tv = np.clip(rej_pct / 100 + noise * rng.standard_normal(n), 0, 1) * 50
    return np.stack([np.full(n, bits_per_token * 50), np.full(n, 50.0), tv, np.full(n, 50.0)], axis=1)


def test_bootstrap_gap_detects_a_codec_below_the_frontier():
    rng = np.random.default_rng(1)
    ksqs = {f"k{k}": _units(b, r, 24, 0.05, rng) for k, b, r in [(2, 100, 80), (8, 400, 60), (64, 1600, 40)]}
    below = bootstrap_gap(ksqs, _units(200, 62, 24, 0.05, rng))
    assert below.frontier == pytest.approx(70.0, abs=2.0)
    assert below.gap < 0 and below.lower and below.hi < 0 < below.se
    # control: a codec ON the frontier is not called lower
    on = bootstrap_gap(ksqs, _units(200, 70, 24, 0.05, rng))
    assert not on.lower and on.lo < 0 < on.hi


def test_bootstrap_gap_is_paired():
    """A shared per-unit effect (hard prompts) cancels in the paired gap."""
    rng = np.random.default_rng(2)
    hard = rng.uniform(-0.3, 0.3, 12)  # per-unit difficulty shared by every codec

    def units(b: float, r: float) -> np.ndarray:
        tv = (r / 100 + hard + 0.002 * rng.standard_normal(12)) * 50
        return np.stack([np.full(12, b * 50), np.full(12, 50.0), tv, np.full(12, 50.0)], axis=1)

    ksqs = {"a": units(100, 70), "b": units(400, 50)}
    gap = bootstrap_gap(ksqs, units(200, 58))
    assert gap.lower and gap.hi - gap.lo < 1.0
    # control: resampling the codec's units independently of the frontier's loses the pairing
    shuffled = units(200, 58)[rng.permutation(12)]
    unpaired = bootstrap_gap(ksqs, shuffled)
    assert unpaired.hi - unpaired.lo > 5 * (gap.hi - gap.lo)


def test_bootstrap_gap_outside_range_is_undefined():
    rng = np.random.default_rng(3)
    ksqs = {"a": _units(100, 70, 8, 0.01, rng), "b": _units(400, 50, 8, 0.01, rng)}
    gap = bootstrap_gap(ksqs, _units(1000, 10, 8, 0.01, rng))
    assert math.isnan(gap.gap) and not gap.lower


def test_totals_pool_like_the_metrics():
    rec = {"extras": {"drafted_per_cycle": [3, 2], "accepted_per_cycle": [1, 2],
                      "codec_stats": [{"tv": [0.1, 0.5, 0.9], "message_bits": 100},
                                      {"tv": [0.2, 0.0], "message_bits": 80}]}}
    items = [[False, rec, rec, None]]
    bits, drafted, tv, verified = sm.totals(items)
    assert (bits, drafted, verified) == (180.0, 5.0, 4.0) and tv == pytest.approx(0.8)
    assert 100 * tv / verified == pytest.approx(sm.rejection_analytic_pct(items))
    assert bits / drafted == pytest.approx(sm.uplink_bits_per_draft_token(items))


def test_ell_rule_is_the_default_of_both_sparse_codecs():
    for n in (1, 3, 8, 9, 64, 256):
        want = max(16, math.ceil(2.0 * n))
        assert lt.resolution(lt.ELL_FLOOR, lt.ELL_PER_TOKEN, n) == want
        assert lt.resolution(KSQS(k=n).ell, KSQS(k=n).ell_per_token, n) == want
        c = CSQS()
        assert lt.resolution(c.ell, c.ell_per_token, n) == want
    assert KSQSCodec().params["ell_per_token"] == CSQSCodec().params["ell_per_token"] == lt.ELL_PER_TOKEN
    # control: a fixed ell = 16 (the earlier K-SQS default) cannot resolve a 64-token support
    assert lt.resolution(16, 0.0, 64) != lt.resolution(lt.ELL_FLOOR, lt.ELL_PER_TOKEN, 64)


def test_ell_rule_keeps_the_distortion_bound_as_the_support_grows():
    """TV(q~, q_hat) < |S| / (2 ell) <= 1/4 for a flat support of any size under the rule."""
    rng = np.random.default_rng(4)
    for n in (8, 64, 256):
        q = rng.dirichlet(np.full(n, 5.0))
        q_hat = lt.nearest_type(q, lt.resolution(lt.ELL_FLOOR, lt.ELL_PER_TOKEN, n)) / lt.resolution(
            lt.ELL_FLOOR, lt.ELL_PER_TOKEN, n)
        assert 0.5 * np.abs(q - q_hat).sum() < 0.25
        # control: a fixed ell = 16 on a 256-token support is far coarser
        fixed = lt.nearest_type(q, 16) / 16
        if n == 256:
            assert 0.5 * np.abs(q - fixed).sum() > 0.5


def test_draw_frontier_writes_a_png(tmp_path):
    from jointbench.specdec.sqs_plots import draw_frontier

    path = draw_frontier({"k-sqs-2": (37.0, 80.0), "k-sqs-8": (131.0, 70.0)},
                         {"c-sqs-0.1": (60.0, 74.0, 72.0, 76.0), "ids-k1": (16.0, 88.0, math.nan, math.nan)},
                         str(tmp_path / "f.png"), 1.5)
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
