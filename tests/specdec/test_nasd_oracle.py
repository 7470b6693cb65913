"""Oracle fixed K per condition, and NASD's table against it on the model it was built from."""

from __future__ import annotations

import pytest

from jointbench.specdec.nasd_sim import FixedLinkK, simulate, synthetic_costs
from jointbench.specdec.nasd_table import AcceptanceProfile, build_table
from jointbench.specdec.oracle import best_fixed_k, oracle_table, ratio_to_oracle


def test_best_fixed_k_is_the_argmax_with_ties_to_the_smaller_k() -> None:
    table = {1: 5.0, 3: 9.0, 5: 9.0, 10: 2.0}
    choice = best_fixed_k(lambda k, cond: table[k] * cond, [10, 5, 3, 1], 2.0)
    assert (choice.k, choice.tokens_per_s) == (3, 18.0) and choice.by_k[10] == 4.0
    with pytest.raises(ValueError, match="ks"):
        best_fixed_k(lambda k, c: 0.0, [], None)
    with pytest.raises(KeyError):
        ratio_to_oracle({"a": 1.0}, {})


def test_nasd_without_cutoff_matches_the_oracle_under_a_stable_rtt() -> None:
    acc, costs = AcceptanceProfile.geometric(0.8, 16), synthetic_costs(k_max=16)
    table = build_table(acc, costs, pair="p", edge_hardware="e", cloud_hardware="c")
    ks = list(range(1, 17))

    def evaluate(k: int, rtt: float) -> float:
        return simulate(FixedLinkK(k), acc, costs, lambda t: rtt, 4000, seed=2).tokens_per_s

    oracle = oracle_table(evaluate, ks, [0.0, 25.0, 100.0, 400.0])
    for rtt, choice in oracle.items():
        # same draws (seed) for every K: the table's K is the oracle's, or within 1% of it
        nasd_k = table.k_for(rtt)
        assert choice.by_k[nasd_k] >= 0.99 * choice.tokens_per_s, (rtt, nasd_k, choice.k)
    ratios = ratio_to_oracle({r: c.by_k[table.k_for(r)] for r, c in oracle.items()}, oracle)
    assert all(0.99 <= v <= 1.0 for v in ratios.values())
