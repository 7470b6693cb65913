"""The held-out rule for C-SQS parameters (:mod:`jointbench.specdec.sqs_rule`).

Guarantees: :func:`kept_at` is C-SQS's own support rule; at the chosen ``beta*`` the cap binds
on at most ``cap_rate`` of the positions, one order statistic lower on more; with the chosen
``(alpha, eta, beta1)`` the threshold *adapts* on flat drafts (it stays inside the range where
it decides, the cap rarely binds, the dropped mass tracks alpha), while the issue's parameters
on the same drafts do not (control). The long-run bound for the rule's small steps is in
``test_sqs_csqs.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.specdec.sqs_rule import RuleParams, choose, kept_at, position_terms
from jointbench.specdec.sqs_support import ConformalThreshold, conformal_support

V = 3000


def _flat_drafts(n: int, seed: int) -> np.ndarray:
    """Full draft distributions as flat as the SmolLM2 pair's at T = 1.5 (top-256 ~ half the mass)."""
    rng = np.random.default_rng(seed)
    logits = rng.gumbel(size=(n, V)) * rng.uniform(0.6, 1.4, size=(n, 1))
    q = np.exp(logits - logits.max(axis=1, keepdims=True))
    return q / q.sum(axis=1, keepdims=True)


def _tops(q: np.ndarray, width: int) -> np.ndarray:
    return -np.sort(-q, axis=1)[:, :width]


def test_kept_at_is_the_csqs_support() -> None:
    q = _flat_drafts(40, 1)
    tops = _tops(q, 65)
    for beta in (0.0, 2e-4, 5e-4, 1e-3, 0.5):
        sizes, dropped = kept_at(tops, beta, 64)
        for i in range(len(q)):
            s = conformal_support(q[i], beta, 64)
            assert sizes[i] == s.size
            assert dropped[i] == pytest.approx(1.0 - q[i, s].sum(), abs=1e-9)
    # control: another cap gives other supports
    assert not np.array_equal(kept_at(tops, 2e-4, 32)[0], kept_at(tops, 2e-4, 64)[0])
    with pytest.raises(ValueError, match="m > k_max"):
        kept_at(tops, 1e-3, 65)


@pytest.mark.parametrize("k_max, cap_rate", [(16, 0.05), (64, 0.05), (64, 0.2)])
def test_beta_star_is_the_cap_rate_quantile(k_max: int, cap_rate: float) -> None:
    tops = _tops(_flat_drafts(300, 2), k_max + 1)
    r = choose(tops, k_max, cap_rate)
    binds = lambda beta: float(np.mean(tops[:, k_max] >= beta))  # noqa: E731
    assert binds(r.beta1) <= cap_rate and r.cap_pct == pytest.approx(100 * binds(r.beta1))
    # control: one order statistic below the quantile the cap binds more often than allowed
    col = tops[:, k_max]
    edge = float(np.max(col[col < r.beta1]))
    assert binds(float(np.max(col[col < edge]))) > cap_rate
    sizes, dropped = kept_at(tops, r.beta1, k_max)
    assert r.alpha == pytest.approx(dropped.mean()) and r.support_mean == pytest.approx(sizes.mean())
    assert r.eta == pytest.approx(min(1.0, 0.1 * r.beta1 / dropped.std()))


def _replay(q: np.ndarray, ctrl: ConformalThreshold, k_max: int, query_len: int = 30) -> dict[str, float]:
    """C-SQS on a sequence of drafts in queries of ``query_len`` positions (reset per query)."""
    betas, dropped, capped = [], [], []
    for t in range(len(q)):
        if t % query_len == 0:
            ctrl.reset()
        betas.append(ctrl.beta)
        s = conformal_support(q[t], ctrl.beta, k_max)
        capped.append(int((q[t] >= ctrl.beta).sum()) > k_max)
        dropped.append(1.0 - q[t, s].sum())
        ctrl.update(dropped[-1])
    return {"beta_le0": float(np.mean(np.asarray(betas) <= 0)), "cap": float(np.mean(capped)),
            "dropped": float(np.mean(dropped)), "beta_mean": float(np.mean(betas))}


@pytest.mark.parametrize("k_max", [16, 64])
def test_chosen_parameters_let_the_threshold_adapt_on_fresh_drafts(k_max: int) -> None:
    r = choose(_tops(_flat_drafts(400, 3), k_max + 1), k_max)  # "held-out" drafts
    fresh = _flat_drafts(600, 4)  # other drafts from the same source ("judged")
    got = _replay(fresh, ConformalThreshold(r.alpha, r.eta, r.beta1), k_max)
    assert got["beta_le0"] < 0.02 and got["cap"] < 0.25
    assert got["dropped"] == pytest.approx(r.alpha, abs=0.03)
    assert 0.5 * r.beta1 < got["beta_mean"] < 2.0 * r.beta1
    # control: the issue's parameters on the same drafts -- alpha below the floor, beta runs to 0
    # and the cap decides almost everywhere
    issue = _replay(fresh, ConformalThreshold(alpha=0.1, eta=0.02, beta1=0.05), k_max)
    assert issue["beta_le0"] > 0.7 and issue["cap"] > 0.7


def test_codec_params_build_a_valid_codec() -> None:
    from jointbench.specdec.codecs.sqs_codecs import CSQSCodec

    r = choose(_tops(_flat_drafts(100, 5), 17), 16)
    assert isinstance(r, RuleParams)
    codec = CSQSCodec(**r.codec_params())
    assert codec.params["k_max"] == 16 and codec.params["eta"] == pytest.approx(r.eta, rel=1e-3)


@pytest.mark.parametrize("bad, match", [({"cap_rate": 1.5}, "cap_rate"), ({"move": 0.0}, "move")])
def test_bad_rule_parameters_are_named(bad: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        choose(_tops(_flat_drafts(10, 6), 17), 16, **bad)


def test_undecidable_threshold_is_refused() -> None:
    tops = np.zeros((10, 17))
    tops[:, 0] = 1.0  # one-hot drafts: nothing below the argmax, the threshold has nothing to decide
    with pytest.raises(ValueError, match="cannot decide"):
        choose(tops, 16)


@pytest.mark.parametrize("n, k_max", [(1, None), (3, None), (20, None), (7, 32), (32, 32)])
def test_position_terms_match_the_codecs(n: int, k_max: int | None) -> None:
    """From the top ids alone: the same ``q_hat`` TVs and bits as the schemes' real encoder."""
    from jointbench.specdec.sqs import CSQS, KSQS

    rng = np.random.default_rng(n)
    q = _flat_drafts(1, 7 + n)[0]
    p = rng.dirichlet(np.full(V, 0.3))
    order = np.lexsort((np.arange(V), -q))[:40]
    if k_max is None:
        scheme = KSQS(k=n)
    else:  # a threshold that keeps exactly the top n (and the cap at or above it)
        scheme = CSQS(alpha=0.5, beta1=float(q[order[n - 1]]), k_max=k_max)
    d = scheme.encode(q, rng)
    assert d.support_size == n
    tv_q, tv_p, bits = position_terms(q[order], p[order], n, V, k_max)
    assert tv_q == pytest.approx(0.5 * np.abs(q - d.q_hat).sum(), abs=1e-9)
    assert tv_p == pytest.approx(0.5 * np.abs(p - d.q_hat).sum(), abs=1e-9)
    assert bits == d.bits
    # control: the target's probabilities misaligned with the ids give another rejection
    if n > 1:
        assert position_terms(q[order], p[order][::-1], n, V, k_max)[1] != pytest.approx(tv_p, abs=1e-6)
