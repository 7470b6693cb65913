"""C-SQS threshold controller: the long-run dropped-mass bound on adversarial sequences.

``(1/T) sum_t dropped_t <= alpha + (|beta_1| + 1 + eta alpha) / (eta T)`` for every prefix
``T`` (derivation in :class:`~jointbench.specdec.sqs_support.ConformalThreshold`), with two controls
that must break it: a lower clip at 0 and a binding support cap.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pytest

from jointbench.specdec.sqs import CSQS
from jointbench.specdec.sqs_support import ConformalThreshold, conformal_support

V = 400
STEPS = 4000
Adversary = Callable[[float, int, np.random.Generator], np.ndarray]


def _just_under_beta(beta: float, t: int, rng: np.random.Generator) -> np.ndarray:
    """Adaptive: all mass but the argmax's sits just below beta (dropped as much as possible)."""
    if beta <= 1.0 / V:
        return rng.dirichlet(np.ones(V))
    rest = min(0.999 * beta * (V - 1), 1.0 - 1.0 / V)
    q = np.full(V, rest / (V - 1))
    q[int(rng.integers(V))] = 1.0 - rest
    return q


def _sharp_flat(beta: float, t: int, rng: np.random.Generator) -> np.ndarray:
    """Blocks of near-one-hot drafts, then blocks of flat ones."""
    conc = 0.01 if (t // 50) % 2 else 5.0
    return rng.dirichlet(np.full(V, conc))


def _random_temperature(beta: float, t: int, rng: np.random.Generator) -> np.ndarray:
    logits = rng.gumbel(size=V) / rng.choice([0.1, 0.5, 1.0, 2.0, 8.0])
    q = np.exp(logits - logits.max())
    return q / q.sum()


ADVERSARIES = {"just-under-beta": _just_under_beta, "sharp-flat": _sharp_flat,
               "random-temperature": _random_temperature}


def _run(ctrl: ConformalThreshold, adversary: Adversary, k_max: int = V,
         seed: int = 0) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    for t in range(STEPS):
        beta = ctrl.beta
        q = adversary(beta, t, rng)
        support = conformal_support(q, beta, k_max)
        dropped = float(np.delete(q, support).sum())
        ctrl.update(dropped)
        yield dropped, support, q


def _worst_excess(ctrl: ConformalThreshold, adversary: Adversary, k_max: int = V) -> float:
    """max over prefixes T of mean dropped mass minus the bound (<= 0 when the bound holds)."""
    dropped = np.array([d for d, _, _ in _run(ctrl, adversary, k_max)])
    steps = np.arange(1, STEPS + 1)
    return float(np.max(np.cumsum(dropped) / steps - np.array([ctrl.bound(int(s)) for s in steps])))


@pytest.mark.parametrize("adversary", list(ADVERSARIES), ids=str)
@pytest.mark.parametrize("alpha, eta, beta1", [(0.05, 0.01, 0.05), (0.1, 0.05, 0.0), (0.2, 0.5, 0.9), (0.1, 1.0, 0.3)])
def test_long_run_dropped_mass_bound_holds_for_every_prefix(adversary: str, alpha: float, eta: float,
                                                            beta1: float) -> None:
    ctrl = ConformalThreshold(alpha=alpha, eta=eta, beta1=beta1)
    assert _worst_excess(ctrl, ADVERSARIES[adversary]) <= 1e-12


def test_telescoped_identity_and_invariants() -> None:
    ctrl = ConformalThreshold(alpha=0.1, eta=0.05, beta1=0.2)
    total_excess = 0.0
    for dropped, support, q in _run(ctrl, _just_under_beta):
        assert ctrl.beta_min <= ctrl.beta <= ctrl.beta_max
        assert int(np.argmax(q)) in support
        total_excess += dropped - 0.1
    # eta sum (dropped - alpha) <= beta_1 - beta_{T+1} (only the upper clip ever acts)
    assert 0.05 * total_excess <= 0.2 - ctrl.beta + 1e-9
    # the adaptive adversary keeps the average near alpha, not far below (the bound is not slack)
    assert total_excess / STEPS > -0.05


def test_control_lower_clip_at_zero_breaks_the_bound() -> None:
    ctrl = ConformalThreshold(alpha=0.1, eta=0.05, beta1=0.05, beta_min=0.0)
    assert _worst_excess(ctrl, _just_under_beta) > 0.2


def test_control_binding_cap_breaks_the_bound() -> None:
    ctrl = ConformalThreshold(alpha=0.1, eta=0.05, beta1=0.05)
    assert _worst_excess(ctrl, _sharp_flat, k_max=8) > 0.2


def test_scheme_encode_drives_the_controller() -> None:
    """Through ``CSQS.encode``: realised dropped mass, support and size code obey the rules."""
    scheme = CSQS(alpha=0.1, eta=0.05, beta1=0.05, k_max=32, ell=8)
    rng = np.random.default_rng(9)
    dropped, betas = [], []
    for t in range(300):
        q = _sharp_flat(scheme.beta, t * 7, rng)[:60]
        q = q / q.sum()
        beta = scheme.beta
        d = scheme.encode(q, rng)
        expected = conformal_support(q, beta, 32)
        assert d.support_size == expected.size <= 32
        assert abs(d.dropped_mass - np.delete(q, expected).sum()) < 1e-12
        assert np.isin(np.flatnonzero(d.q_hat), expected).all()
        dropped.append(d.dropped_mass)
        betas.append(scheme.beta)
    assert betas[-1] == pytest.approx(
        float(np.clip(betas[-2] - 0.05 * (dropped[-1] - 0.1), scheme.controller.beta_min, 1.0)))
    assert np.mean(dropped) <= scheme.controller.bound(300)
    scheme.reset()
    assert scheme.beta == 0.05


# The held-out rule's settings at T = 1.5 (benchmarks/sqs_csqs_rule.py: alpha, eta, beta1 per K_max 16 / 64 / 256);
# steps far smaller than the eta = 0.02, so the bound is checked over 10 / eta steps, where its slack
# (|beta_1| + 1 + eta alpha) / (eta T) is ~0.1.
RULE_SETTINGS = [(0.7852, 0.003607, 0.006874), (0.6871, 0.00101, 0.001892), (0.5624, 0.0003296, 0.0005628)]


def _worst_excess_over(ctrl: ConformalThreshold, adversary: Adversary, steps: int, k_max: int = V) -> float:
    rng = np.random.default_rng(0)
    dropped = np.empty(steps)
    for t in range(steps):
        q = adversary(ctrl.beta, t, rng)
        support = conformal_support(q, ctrl.beta, k_max)
        dropped[t] = 1.0 - q[support].sum()
        ctrl.update(float(dropped[t]))
    n = np.arange(1, steps + 1)
    slack = (abs(ctrl.beta1) + 1.0 + ctrl.eta * ctrl.alpha) / (ctrl.eta * n)
    return float(np.max(np.cumsum(dropped) / n - ctrl.alpha - slack))


def _always_flat(beta: float, t: int, rng: np.random.Generator) -> np.ndarray:
    return rng.dirichlet(np.full(V, 5.0))


@pytest.mark.parametrize("adversary", ["sharp-flat", "random-temperature"])
@pytest.mark.parametrize("alpha, eta, beta1", RULE_SETTINGS)
def test_long_run_bound_holds_for_the_rule_steps(adversary: str, alpha: float, eta: float, beta1: float) -> None:
    ctrl = ConformalThreshold(alpha=alpha, eta=eta, beta1=beta1)
    assert _worst_excess_over(ctrl, ADVERSARIES[adversary], int(np.ceil(10 / eta))) <= 1e-12


@pytest.mark.parametrize("alpha, eta, beta1", RULE_SETTINGS)
def test_control_binding_cap_breaks_the_bound_for_the_rule_steps(alpha: float, eta: float, beta1: float) -> None:
    ctrl = ConformalThreshold(alpha=alpha, eta=eta, beta1=beta1)
    assert _worst_excess_over(ctrl, _always_flat, int(np.ceil(10 / eta)), k_max=8) > 0.05
