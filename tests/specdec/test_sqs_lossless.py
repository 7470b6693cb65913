"""Quantise-then-sample verification is lossless for every scheme; sample-then-quantise is not.

Also: at temperature 0 (target one-hot) every scheme emits the target's greedy tokens.
The cloud side is the suite's own :func:`~jointbench.specdec.sampling.speculative_verify`
with ``q = q_hat``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from jointbench.specdec.sampling import greedy_verify, speculative_verify
from jointbench.specdec.sqs import DraftScheme, make_scheme

Q = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
P = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
DRAWS = 3000
SCHEMES: list[tuple[str, dict]] = [
    ("dense-fp32", {}), ("dense-fp16", {}), ("lattice", {"ell": 4}), ("ids", {}), ("ids", {"pick": "sample"}),
    ("k-sqs", {"k": 2, "ell": 4}), ("k-sqs", {"k": 3, "ell": 5}),
    ("c-sqs", {"alpha": 0.3, "eta": 0.05, "beta1": 0.1, "ell": 4, "ell_per_token": 1.0}),
]
# where q_hat is far from q (the dense float schemes are too close to q for S-Q to be visible)
COARSE = [SCHEMES[2], SCHEMES[3], SCHEMES[5], SCHEMES[7]]


def _first_emitted(scheme: DraftScheme, order: str, rng: np.random.Generator, gen: torch.Generator) -> int:
    """One draft position + verification; the first token the cloud commits."""
    d = scheme.encode(Q, rng)
    token = d.token if order == "quantise-sample" else int(rng.choice(Q.size, p=Q))  # S-Q: token ~ q
    n, nxt = speculative_verify([token], d.q_hat[None, :], np.stack([P, P]), gen)
    return token if n == 1 else nxt


def _pvalue(name: str, params: dict, order: str, seed: int) -> float:
    scheme = make_scheme(name, **params)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    out = np.bincount([_first_emitted(scheme, order, rng, gen) for _ in range(DRAWS)], minlength=P.size)
    return float(chisquare(out, DRAWS * P).pvalue)


@pytest.mark.parametrize("name, params", SCHEMES, ids=lambda x: str(x))
def test_quantise_then_sample_is_lossless(name: str, params: dict) -> None:
    assert _pvalue(name, params, "quantise-sample", seed=11) > 1e-3


@pytest.mark.parametrize("name, params", COARSE, ids=lambda x: str(x))
def test_sample_then_quantise_control_is_detectably_biased(name: str, params: dict) -> None:
    assert _pvalue(name, params, "sample-quantise", seed=11) < 1e-6


@pytest.mark.parametrize("name, params", SCHEMES, ids=lambda x: str(x))
def test_greedy_target_gives_the_target_greedy_tokens(name: str, params: dict) -> None:
    """T = 0 at the cloud (``p`` one-hot): every block emits the target's argmax prefix."""
    rng, gen = np.random.default_rng(3), torch.Generator().manual_seed(3)
    vocab, k = 6, 4
    scheme = make_scheme(name, **params)
    for trial in range(60):
        target = rng.integers(vocab, size=k + 1)
        p = np.eye(vocab)[target]
        if trial % 2:  # greedy draft too: q one-hot at the draft's argmax (agreeing 70% of the time)
            draft = np.where(rng.random(k) < 0.7, target[:k], rng.integers(vocab, size=k))
            q = np.eye(vocab)[draft]
        else:  # any draft distribution
            q = rng.dirichlet(np.ones(vocab), size=k)
        drafts = [scheme.encode(q[i], rng) for i in range(k)]
        ids = [d.token for d in drafts]
        n, nxt = speculative_verify(ids, np.stack([d.q_hat for d in drafts]), p, gen)
        assert ids[:n] == target[:n].tolist() and nxt == target[n]
        assert (n, nxt) == greedy_verify(ids, p)


def test_sampled_target_control_is_not_greedy() -> None:
    """Control: with a non-degenerate target the emitted token is not always its argmax."""
    scheme = make_scheme("k-sqs", k=2)
    rng, gen = np.random.default_rng(4), torch.Generator().manual_seed(4)
    emitted = {_first_emitted(scheme, "quantise-sample", rng, gen) for _ in range(200)}
    assert emitted != {int(np.argmax(P))}
