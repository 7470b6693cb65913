"""Draft schemes: exact encode/decode round trip and payload length = accounted bits."""

from __future__ import annotations

from math import ceil, comb, log2

import numpy as np
import pytest

from jointbench.specdec import enumcode as ec
from jointbench.specdec.lattice import lattice_bits
from jointbench.specdec.sqs import (
    CSQS,
    KSQS,
    SCHEMES,
    DenseFP16,
    DenseLattice,
    DraftScheme,
    IdsOnly,
    make_scheme,
)

CONFIGS: list[tuple[str, dict]] = [
    ("dense-fp32", {}), ("dense-fp16", {}), ("lattice", {"ell": 12}), ("ids", {}),
    ("ids", {"pick": "sample"}), ("k-sqs", {"k": 1}), ("k-sqs", {"k": 3}), ("k-sqs", {"k": 6, "ell_per_token": 4.0}),
    ("c-sqs", {"alpha": 0.1}), ("c-sqs", {"alpha": 0.2, "k_max": 5, "size_code": "fixed"}),
]


def _distributions(vocab: int, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = [np.eye(vocab)[int(rng.integers(vocab))]]  # T = 0: one-hot
    out += [rng.dirichlet(np.full(vocab, c)) for c in np.geomspace(0.01, 3.0, n)]
    return out


@pytest.mark.parametrize("name, params", CONFIGS, ids=lambda x: str(x))
@pytest.mark.parametrize("vocab", [7, 300])
def test_round_trip_is_bit_identical_and_bytes_match_bits(name: str, params: dict, vocab: int) -> None:
    enc, dec = make_scheme(name, **params), make_scheme(name, **params)
    rng = np.random.default_rng(vocab)
    for q in _distributions(vocab, 12, seed=vocab + 1):
        d = enc.encode(q, rng)
        token, q_hat = dec.decode(d.payload, vocab)
        assert token == d.token
        assert q_hat.dtype == np.float64 and q_hat.shape == (vocab,)
        assert np.array_equal(q_hat, d.q_hat)  # bit-identical, not just close
        assert len(d.payload) == ceil(d.bits / 8)
        assert d.q_hat[d.token] > 0
        assert abs(d.q_hat.sum() - 1.0) < 1e-12
        assert np.count_nonzero(d.q_hat) <= d.support_size
        support_q = np.sort(q)[::-1][: d.support_size].sum()
        assert d.dropped_mass >= 1.0 - support_q - 1e-12


def test_corrupted_payload_decodes_differently() -> None:
    """Control for the round trip: the decoder really reads the payload."""
    q = np.random.default_rng(0).dirichlet(np.ones(300))
    for scheme in (DenseLattice(ell=12), KSQS(k=3), CSQS()):
        d = scheme.encode(q, np.random.default_rng(1))
        flipped = bytes([d.payload[0] ^ 0x80]) + d.payload[1:]
        try:
            token, q_hat = scheme.decode(flipped, 300)
        except ValueError:
            continue
        assert token != d.token or not np.array_equal(q_hat, d.q_hat)


def test_bit_counts_match_the_formulas() -> None:
    vocab = 49152
    q = np.random.default_rng(4).dirichlet(np.full(vocab, 0.02))
    rng = np.random.default_rng(5)
    id_bits = ceil(log2(vocab))
    assert DenseFP16().encode(q, rng).bits == 16 * vocab + id_bits
    assert make_scheme("dense-fp32").encode(q, rng).bits == 32 * vocab + id_bits
    assert DenseLattice(ell=240).encode(q, rng).bits == id_bits + lattice_bits(vocab, 240)
    assert IdsOnly().encode(q, rng).bits == id_bits
    for k in (1, 2, 3, 8):
        expect = ceil(log2(comb(vocab, k))) + lattice_bits(k, 16) + ec.index_bits(k)
        assert KSQS(k=k, ell=16).encode(q, rng).bits == expect
    c = CSQS(k_max=256, ell=16, ell_per_token=1.0)
    d = c.encode(q, rng)
    n = d.support_size
    size_bits = 2 * int(log2(n)) + 1
    assert d.bits == size_bits + ceil(log2(comb(vocab, n))) + lattice_bits(n, max(16, n)) + ec.index_bits(n)
    # K = 1 sparse is exactly ids-only: one id, no distribution bits
    assert KSQS(k=1).encode(q, rng).bits == IdsOnly().encode(q, rng).bits


def test_k_sqs_support_is_top_k_and_lattice_is_renormalised() -> None:
    q = np.array([0.05, 0.4, 0.05, 0.3, 0.2])
    d = KSQS(k=3, ell=10).encode(q, np.random.default_rng(0))
    assert np.flatnonzero(d.q_hat).tolist() == [1, 3, 4]
    # 10 * q / 0.9 = 4.44, 3.33, 2.22 rounds to 4, 3, 2 (sum 9): the most negative error gets +1
    assert d.q_hat[[1, 3, 4]].tolist() == [0.5, 0.3, 0.2]
    assert abs(d.dropped_mass - 0.1) < 1e-12


def test_registry_and_parameter_validation() -> None:
    assert set(SCHEMES) == {"dense-fp32", "dense-fp16", "lattice", "ids", "k-sqs", "c-sqs"}
    assert all(issubclass(cls, DraftScheme) and cls.name == n for n, cls in SCHEMES.items())
    with pytest.raises(KeyError, match="Unknown draft scheme 'topk'. Available: dense-fp32"):
        make_scheme("topk")
    for bad, key in [({"k": 0}, "k:"), ({"k": 2.5}, "k:"), ({"ell": -1}, "ell:")]:
        with pytest.raises(ValueError, match=key):
            KSQS(**bad)
    for bad, key in [({"alpha": 0.0}, "alpha:"), ({"eta": 2.0}, "eta:"), ({"size_code": "unary"}, "size_code:"),
                     ({"beta_min": 0.5}, "beta_min:"), ({"beta1": 1.5}, "beta1:"), ({"k_max": 0}, "k_max:")]:
        with pytest.raises(ValueError, match=key):
            CSQS(**bad)
    with pytest.raises(ValueError, match="pick:"):
        IdsOnly(pick="first")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exceeds the vocabulary"):
        KSQS(k=9).encode(np.ones(5) / 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="non-negative"):
        KSQS().encode(np.array([0.5, np.nan, 0.5]), np.random.default_rng(0))
