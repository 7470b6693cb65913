"""Reproducibility: same seed -> same draws; fork/reset; independent streams."""

from __future__ import annotations

from jointbench.netsim import Link, link_config_from_hyperparameters, request_response

LOSSY = {"network_profile": "lossy", "network_seed": 17}


def _run(link: Link, n: int = 200, size: int = 20_000) -> list[dict]:
    out = []
    t = 0.0
    for _ in range(n):
        rr = request_response(link, size, 200, t_start_ms=t, server_compute_ms=5.0)
        out.extend(rr.exchanges)
        t = rr.t_end_ms
    return out


def test_same_seed_same_numbers() -> None:
    for hp in (
        LOSSY,
        {"network_profile": "markov", "network_seed": 2},
        {"network_profile": "oscillating", "network_seed": 2},
    ):
        cfg = link_config_from_hyperparameters(hp)
        assert _run(Link(cfg)) == _run(Link(cfg))


def test_different_seed_different_numbers() -> None:
    a = _run(Link(link_config_from_hyperparameters(LOSSY)))
    b = _run(Link(link_config_from_hyperparameters({**LOSSY, "network_seed": 18})))
    assert a != b


def test_lossy_profile_actually_loses() -> None:
    exs = _run(Link(link_config_from_hyperparameters(LOSSY)))
    assert sum(e["retransmissions"] for e in exs) > 0


def test_fork_continues_identically_and_independently() -> None:
    link = Link(link_config_from_hyperparameters(LOSSY))
    _run(link, n=37)
    twin = link.fork()
    a = _run(link, n=50)
    b = _run(twin, n=50)
    assert a == b
    # the original's further use does not move the twin, and vice versa
    _run(link, n=10)
    assert _run(twin.fork(), n=5) == _run(twin, n=5)


def test_reset_restarts_the_streams() -> None:
    link = Link(link_config_from_hyperparameters(LOSSY))
    first = _run(link, n=30)
    link.reset()
    assert _run(link, n=30) == first


def test_uplink_draws_do_not_depend_on_downlink_traffic() -> None:
    cfg = link_config_from_hyperparameters({"network_profile": "4g", "network_seed": 3})
    a, b = Link(cfg), Link(cfg)
    ups_a = [a.send("up", 500, t_ms=10.0 * i) for i in range(300)]
    ups_b = []
    for i in range(300):
        ups_b.append(b.send("up", 500, t_ms=10.0 * i))
        b.send("down", 9000, t_ms=10.0 * i + 1)
    assert ups_a == ups_b


def test_jitter_of_nth_message_does_not_depend_on_sizes() -> None:
    # two strategies sending different payloads see the same jitter per message index
    cfg = link_config_from_hyperparameters(LOSSY)
    a, b = Link(cfg), Link(cfg)
    ja = [a.send("up", 64).jitter_ms for _ in range(200)]
    jb = [b.send("up", 64_000).jitter_ms for _ in range(200)]
    assert ja == jb
