"""transport tcp refuses, before any sample, the parts the two-process path does not run."""

from __future__ import annotations

import pytest

from jointbench.specdec.policy import make_policy
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.transport.remote import check_tcp_strategy


def test_fallback_policies_and_per_position_codecs_are_refused() -> None:
    with pytest.raises(ValueError, match="policy_params: transport 'tcp' does not run edge_only fallback"):
        check_tcp_strategy(Strategy.build("edge_cloud", make_policy("nasd", 3)))
    with pytest.raises(ValueError, match="codec: transport 'tcp' runs the row codecs"):
        check_tcp_strategy(Strategy.build("edge_cloud", make_policy("fixed", 3), codec="k_sqs"))


def test_control_what_tcp_runs_passes() -> None:
    check_tcp_strategy(Strategy.build("edge_cloud", make_policy("nasd", 3, params={"cutoff": False})))
    check_tcp_strategy(Strategy.build("edge_cloud", make_policy("heuristic", 3), codec="dense_fp16"))
    check_tcp_strategy(Strategy.build("cloud_only"))
