"""NASD's RTT -> K* table: monotone in RTT, exact lookups, seed vs corrected formula, JSON tags."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jointbench.specdec.nasd_sim import synthetic_costs
from jointbench.specdec.nasd_table import (
    AcceptanceProfile,
    CycleCosts,
    NasdTable,
    TablePairMismatchError,
    argmax_rate,
    build_table,
    predicted_rate,
)

K_MAX = 20
DENSE_TOKEN_BYTES = 4 * 49152  # float32 distribution over SmolLM2's vocabulary, per drafted token
GRID = (0.0, 1500.0, 1.0)
RTTS = np.arange(0.0, 1501.0, 1.0)


def _table(alpha: float = 0.8, formula: str = "corrected", bandwidths=(None,), costs: CycleCosts | None = None,
           acceptance: AcceptanceProfile | None = None) -> NasdTable:
    return build_table(acceptance or AcceptanceProfile.geometric(alpha, K_MAX), costs or synthetic_costs(),
                       pair="toy-pair", edge_hardware="edge-x", cloud_hardware="cloud-y", formula=formula,
                       bandwidths_mbps=bandwidths, rtt_grid_ms=GRID)


def _monotone(ks: np.ndarray) -> bool:
    return bool(np.all(np.diff(ks) >= 0))


def test_expected_tokens_matches_the_closed_form() -> None:
    prof = AcceptanceProfile.geometric(0.7, 10)
    assert prof.expected_tokens(5) == pytest.approx((1 - 0.7**6) / (1 - 0.7))  # 2.941, methods-llm §4.1
    assert prof.conditional() == pytest.approx((0.7,) * 10)
    with pytest.raises(ValueError, match="non-increasing"):
        AcceptanceProfile((0.5, 0.6))


@pytest.mark.parametrize("alpha", [0.5, 0.7, 0.8, 0.9, 0.97])
@pytest.mark.parametrize("bandwidths", [(None,), (1.0, 10.0, 100.0, None)])
def test_table_is_monotone_in_rtt_under_a_monotone_cost_model(alpha: float, bandwidths) -> None:
    table = _table(alpha, bandwidths=bandwidths, costs=synthetic_costs(token_bytes=DENSE_TOKEN_BYTES))
    for bw in bandwidths:
        ks = np.array([table.k_for(r, bw) for r in RTTS])
        assert _monotone(ks), (alpha, bw)
    ks = np.array([table.k_for(r, None) for r in RTTS])
    assert ks[-1] > ks[0]  # the table does move with RTT


def test_lookup_equals_brute_force_argmax() -> None:
    table = _table(0.85, bandwidths=(5.0, None), costs=synthetic_costs(token_bytes=DENSE_TOKEN_BYTES // 64))
    rng = np.random.default_rng(0)
    for rtt in np.concatenate([rng.integers(0, 1500, 200).astype(float), [0.0, 1500.0]]):
        for bw in (5.0, None):
            rates = [predicted_rate(k, rtt, bw, table.acceptance, table.costs) for k in range(1, K_MAX + 1)]
            assert table.k_for(rtt, bw) == 1 + int(np.argmax(rates))
            assert table.rate(table.k_for(rtt, bw), rtt, bw) == pytest.approx(max(rates))


def test_monotone_even_with_noisy_non_monotone_verify_costs_and_control_with_non_monotone_e() -> None:
    rng = np.random.default_rng(1)
    base = synthetic_costs()
    for _ in range(20):  # measured t_verify(K) with noise: not monotone in K
        verify = tuple(float(v) for v in 60.0 + rng.uniform(-25, 25, K_MAX + 1))
        noisy = CycleCosts(base.draft_ms, verify, base.decode_ms, base.up_wire_bytes, base.down_wire_bytes)
        assert _monotone(np.array([_table(0.8, costs=noisy).k_for(r) for r in RTTS]))
    # Control: the guarantee rests on E[tau](K) being non-decreasing; a non-monotone E breaks it,
    # so the monotonicity check above can fail.
    expected = np.array([2.0, 3.5, 2.2])
    fixed = np.array([10.0, 100.0, 20.0])
    ks = argmax_rate(expected, fixed, RTTS)
    assert not _monotone(ks)


def test_seed_and_corrected_formulas_differ_as_predicted() -> None:
    dense = synthetic_costs(token_bytes=DENSE_TOKEN_BYTES)
    seed, corrected = _table(0.8, "seed", (10.0,), dense), _table(0.8, "corrected", (10.0,), dense)
    ks_seed = np.array([seed.k_for(r, 10.0) for r in RTTS])
    ks_corr = np.array([corrected.k_for(r, 10.0) for r in RTTS])
    # Per-token transmit cost (a 196 KB distribution per draft at 10 Mbit/s) shortens K ...
    assert np.all(ks_corr <= ks_seed) and np.any(ks_corr < ks_seed)
    # ... and the corrected choice is never slower on the true cycle time (with transmit), often faster.
    true_seed = np.array([predicted_rate(int(k), r, 10.0, seed.acceptance, dense) for k, r in zip(ks_seed, RTTS)])
    true_corr = np.array([predicted_rate(int(k), r, 10.0, seed.acceptance, dense) for k, r in zip(ks_corr, RTTS)])
    assert np.all(true_corr >= true_seed - 1e-9) and np.mean(true_corr / true_seed) > 1.1
    # With ids only on an unlimited link the transmit term is 0: the two formulas agree exactly.
    assert _table(0.8, "seed").rows == _table(0.8, "corrected").rows


def test_per_message_overhead_acts_like_extra_rtt() -> None:
    # Ids only over a very slow link: the fixed per-message bytes (headers, verdict) cost like a
    # longer RTT, so at low RTT the corrected table drafts *more* than on an unlimited link.
    table = _table(0.8, bandwidths=(0.05, None), costs=synthetic_costs(token_bytes=4))
    low = RTTS[RTTS <= 50]
    ks_slow = np.array([table.k_for(r, 0.05) for r in low])
    ks_fast = np.array([table.k_for(r, None) for r in low])
    assert np.all(ks_slow >= ks_fast) and np.any(ks_slow > ks_fast)


def test_row_selection_is_conservative() -> None:
    table = _table(0.8, bandwidths=(1.0, 10.0, None))
    assert table.row_index(0.5) == 0 and table.row_index(1.0) == 0 and table.row_index(9.9) == 0
    assert table.row_index(10.0) == 1 and table.row_index(1e6) == 1
    assert table.row_index(None) == 2 and table.row_index(float("inf")) == 2


def test_json_round_trip_pair_tags_and_hand_edit_refused(tmp_path) -> None:
    table = _table(0.8, bandwidths=(1.0, None))
    path = table.save(tmp_path / "toy.json")
    loaded = NasdTable.load(path, "toy-pair", "edge-x", "cloud-y")
    assert loaded == table and loaded.calibration_hash == table.calibration_hash
    with pytest.raises(TablePairMismatchError) as err:
        NasdTable.load(path, "other-pair", "edge-x", "cloud-z")
    msg = str(err.value)
    assert "toy-pair" in msg and "edge-x/cloud-y" in msg and "other-pair" in msg and "edge-x/cloud-z" in msg
    data = json.loads(path.read_text())
    data["rows"][0][0][1] += 1  # a hand edit
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="calibration_hash"):
        NasdTable.load(path)
    data["format"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="format"):
        NasdTable.load(path)


def test_with_costs_keeps_the_tags_and_follows_the_new_costs() -> None:
    table = _table(0.8, bandwidths=(10.0, None))
    slow_edge = synthetic_costs(draft_ms=60.0)
    other = table.with_costs(slow_edge)
    assert (other.pair, other.hardware, other.formula, other.bandwidths_mbps) == \
        (table.pair, table.hardware, table.formula, table.bandwidths_mbps)
    assert other.costs == slow_edge and other.calibration_hash != table.calibration_hash
    assert other.k_for(50.0) < table.k_for(50.0)  # a slower draft step shortens K*
    assert other.rows == _table(0.8, bandwidths=(10.0, None), costs=slow_edge).rows


def test_invalid_arguments_name_the_key() -> None:
    with pytest.raises(ValueError, match="formula"):
        _table(formula="bogus")
    with pytest.raises(ValueError, match="bandwidths_mbps"):
        _table(bandwidths=(None, 10.0))
    with pytest.raises(ValueError, match="k_min"):
        build_table(AcceptanceProfile.geometric(0.8, 5), synthetic_costs(), pair="p", edge_hardware="e",
                    cloud_hardware="c", k_max=9)
