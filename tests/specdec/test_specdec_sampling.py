"""The acceptance rule: greedy prefix matching, losslessness at T>0, and E[tau]."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from jointbench.specdec.sampling import (
    acceptance_probability,
    expected_tokens_per_cycle,
    greedy_verify,
    probs_from_logits,
    residual_distribution,
    sample,
    speculative_verify,
)


def _one_hot_logits(ids: list[int], vocab: int = 6) -> torch.Tensor:
    logits = torch.zeros(len(ids), vocab)
    logits[torch.arange(len(ids)), torch.tensor(ids)] = 5.0
    return logits


@pytest.mark.parametrize(
    "drafts, target_argmax, expected",
    [
        ([1, 2, 3], [1, 2, 3, 4], (3, 4)),  # all accepted, bonus token
        ([1, 2, 3], [1, 5, 3, 4], (1, 5)),  # reject at 2: target's token replaces it
        ([1, 2, 3], [0, 2, 3, 4], (0, 0)),  # reject at 1, later agreement is irrelevant
        ([], [4], (0, 4)),  # K = 0: one target step
    ],
)
def test_greedy_verify_longest_prefix_then_target_token(drafts, target_argmax, expected):
    assert greedy_verify(drafts, _one_hot_logits(target_argmax)) == expected


def test_greedy_verify_checks_shapes():
    with pytest.raises(ValueError):
        greedy_verify([1, 2], _one_hot_logits([1, 2]))


def test_residual_and_acceptance_probability():
    p = torch.tensor([0.5, 0.3, 0.2, 0.0])
    q = torch.tensor([0.2, 0.3, 0.1, 0.4])
    assert acceptance_probability(p, q) == pytest.approx(0.2 + 0.3 + 0.1)
    assert torch.allclose(residual_distribution(p, q), torch.tensor([0.75, 0.0, 0.25, 0.0]))
    # p == q: no positive residual mass, fall back to p
    assert torch.allclose(residual_distribution(p, p), p)
    assert np.allclose(residual_distribution(p.numpy(), q.numpy()).numpy(), [0.75, 0, 0.25, 0])


def _markov(vocab: int, seed: int, concentration: float) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.dirichlet([concentration] * vocab, size=vocab), dtype=torch.float32)


def _spec_generate(P, Q, length, k, gen, verify) -> tuple[int, ...]:
    """Generate ``length`` tokens of a Markov chain by speculative sampling from start 0."""
    out: list[int] = []
    prev = 0
    while len(out) < length:
        drafts, q_rows, ctx = [], [], prev
        for _ in range(k):
            q = Q[ctx]
            tok = sample(q, gen)
            drafts.append(tok)
            q_rows.append(q)
            ctx = tok
        contexts = [prev, *drafts]
        p = torch.stack([P[c] for c in contexts])
        n, nxt = verify(drafts, torch.stack(q_rows), p, gen)
        out.extend([*drafts[:n], nxt])
        prev = out[-1]
    return tuple(out[:length])


def _broken_verify(draft_ids, q, p, generator):
    """A plausible bug: on rejection, resample from p instead of norm(max(p - q, 0))."""
    n, _ = speculative_verify(draft_ids, q, p, generator)
    return n, sample(p[n], generator)


def _chi2_pvalue(P, Q, verify, draws: int, seed: int) -> float:
    vocab, length, k = P.shape[0], 3, 2
    gen = torch.Generator().manual_seed(seed)
    cells = list(itertools.product(range(vocab), repeat=length))
    index = {c: i for i, c in enumerate(cells)}
    counts = np.zeros(len(cells))
    for _ in range(draws):
        counts[index[_spec_generate(P, Q, length, k, gen, verify)]] += 1
    P64 = P.double().numpy()
    expected = np.array([P64[0, a] * P64[a, b] * P64[b, c] for a, b, c in cells])
    expected *= draws / expected.sum()  # float32 rows sum to 1 only up to rounding
    return float(chisquare(counts, expected).pvalue)


def test_speculative_sampling_is_lossless_chi_square():
    """Joint law of 3 tokens of a 4-state chain equals the target's (64 cells, 12k draws)."""
    P, Q = _markov(4, seed=1, concentration=1.0), _markov(4, seed=2, concentration=1.0)
    assert 0.3 < acceptance_probability(P[0], Q[0]) < 0.95  # drafts are neither perfect nor useless
    assert _chi2_pvalue(P, Q, speculative_verify, draws=12_000, seed=0) > 1e-3


def test_chi_square_detects_a_lossy_rule():
    """Negative control: the same test, same draws, rejects resampling from p."""
    P, Q = _markov(4, seed=1, concentration=1.0), _markov(4, seed=2, concentration=1.0)
    assert _chi2_pvalue(P, Q, _broken_verify, draws=12_000, seed=0) < 1e-6


@pytest.mark.parametrize("k", [1, 3, 5])
def test_mean_tokens_per_cycle_matches_expected_tau(k):
    """i.i.d. acceptance with alpha = sum min(p, q): mean accepted + 1 -> E[tau]."""
    p = torch.tensor([0.40, 0.25, 0.15, 0.10, 0.10])
    q = torch.tensor([0.10, 0.30, 0.30, 0.10, 0.20])
    alpha = acceptance_probability(p, q)
    assert alpha == pytest.approx(0.70)
    gen = torch.Generator().manual_seed(k)
    cycles = 20_000
    taus = np.empty(cycles)
    p_rows = p.expand(k + 1, -1)
    q_rows = q.expand(k, -1)
    for i in range(cycles):
        drafts = torch.multinomial(q, k, replacement=True, generator=gen)
        n, _ = speculative_verify(drafts, q_rows, p_rows, gen)
        taus[i] = n + 1
    expected = expected_tokens_per_cycle(alpha, k)
    stderr = taus.std(ddof=1) / np.sqrt(cycles)
    assert abs(taus.mean() - expected) < 4 * stderr
    # the tolerance is much tighter than the gap to a neighbouring alpha
    assert 4 * stderr < abs(expected_tokens_per_cycle(0.65, k) - expected)


def test_expected_tau_formula():
    assert expected_tokens_per_cycle(0.7, 5) == pytest.approx(2.941, abs=1e-3)
    assert expected_tokens_per_cycle(1.0, 4) == 5.0
    assert expected_tokens_per_cycle(0.0, 4) == 1.0


def test_probs_from_logits_temperature():
    logits = torch.tensor([1.0, 2.0, 3.0])
    assert torch.allclose(probs_from_logits(logits, 1.0), torch.softmax(logits, -1))
    assert probs_from_logits(logits, 0.1)[2] > 0.99
    with pytest.raises(ValueError):
        probs_from_logits(logits, 0.0)


def test_speculative_verify_is_seeded():
    P, Q = _markov(6, seed=3, concentration=0.5), _markov(6, seed=4, concentration=0.5)
    runs = [_spec_generate(P, Q, 8, 3, torch.Generator().manual_seed(s), speculative_verify) for s in (7, 7, 8)]
    assert runs[0] == runs[1] != runs[2]
