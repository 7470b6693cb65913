"""transport tcp refuses, before any sample, the parts the two-process path does not run."""

from __future__ import annotations

import pytest

from jointbench.specdec.policy import make_policy
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.transport.remote import check_tcp_strategy


def test_fallback_steps_at_t_above_0_are_refused() -> None:
    with pytest.raises(ValueError, match="fallback steps run at temperature 0 only"):
        check_tcp_strategy(Strategy.build("edge_cloud", make_policy("nasd", 3)), temperature=1.0)


def test_control_what_tcp_runs_passes() -> None:
    check_tcp_strategy(Strategy.build("edge_cloud", make_policy("nasd", 3)))  # edge-only fallback, T = 0
    check_tcp_strategy(Strategy.build("edge_cloud", make_policy("nasd", 3, params={"fallback": "cloud_only"})))
    check_tcp_strategy(Strategy.build("edge_cloud", make_policy("nasd", 3, params={"cutoff": False})), 1.0)
    check_tcp_strategy(Strategy.build("edge_cloud", make_policy("heuristic", 3), codec="dense_fp16"))
    check_tcp_strategy(Strategy.build("edge_cloud", make_policy("fixed", 3), codec="k_sqs"), 1.0)
    check_tcp_strategy(Strategy.build("edge_cloud", make_policy("fixed", 3), codec="c_sqs"), 1.0)
    check_tcp_strategy(Strategy.build("cloud_only"))
