"""Bit I/O, enumerative subset index and the support-size prefix codes."""

from __future__ import annotations

import itertools
from math import comb, log2

import numpy as np
import pytest

from jointbench.specdec import enumcode as ec


def test_bit_writer_reader_round_trip_and_padding() -> None:
    rng = np.random.default_rng(0)
    widths = [int(w) for w in rng.integers(0, 70, size=200)]
    values = [int.from_bytes(rng.bytes(9), "big") >> (72 - w) for w in widths]
    writer = ec.BitWriter()
    for v, w in zip(values, widths):
        writer.write(v, w)
    assert writer.bits == sum(widths)
    payload = writer.to_bytes()
    assert len(payload) == (sum(widths) + 7) // 8
    reader = ec.BitReader(payload)
    assert [reader.read(w) for w in widths] == values
    assert ec.BitWriter().to_bytes() == b""


def test_bit_writer_is_msb_first_and_rejects_overflow() -> None:
    writer = ec.BitWriter()
    writer.write(1, 1)
    writer.write(0, 2)
    writer.write(5, 3)
    assert writer.to_bytes() == bytes([0b10010100])
    with pytest.raises(ValueError, match="does not fit"):
        writer.write(8, 3)
    with pytest.raises(ValueError, match="cannot read"):
        ec.BitReader(b"\x00").read(9)


def test_index_bits_is_ceil_log2() -> None:
    for count in range(1, 2000):
        assert ec.index_bits(count) == (0 if count == 1 else int(np.ceil(log2(count) - 1e-12)))
    assert ec.index_bits(2**64) == 64 and ec.index_bits(2**64 + 1) == 65


@pytest.mark.parametrize("n, k", [(1, 0), (1, 1), (5, 2), (7, 3), (8, 8), (9, 4)])
def test_subset_rank_is_a_bijection(n: int, k: int) -> None:
    subsets = list(itertools.combinations(range(n), k))
    ranks = [ec.subset_rank(s, n) for s in subsets]
    assert sorted(ranks) == list(range(comb(n, k)))
    for s, r in zip(subsets, ranks):
        assert ec.subset_unrank(r, n, k) == list(s)
    assert ec.subset_bits(n, k) == ec.index_bits(comb(n, k))


def test_subset_rank_large_vocabulary_and_errors() -> None:
    rng = np.random.default_rng(2)
    for k in (1, 3, 8, 256):
        s = sorted(rng.choice(49152, size=k, replace=False).tolist())
        r = ec.subset_rank(s[::-1], 49152)  # any input order
        assert 0 <= r < comb(49152, k)
        assert ec.subset_unrank(r, 49152, k) == s
    # the notes' K-SQS table: V = 50,272, K = 3 support costs ceil(log2 C(V, 3)) = 45 bits
    assert ec.subset_bits(50272, 3) == 45
    with pytest.raises(ValueError, match="distinct"):
        ec.subset_rank([1, 1], 5)
    with pytest.raises(ValueError, match="distinct"):
        ec.subset_rank([5], 5)
    with pytest.raises(ValueError, match="out of range"):
        ec.subset_unrank(comb(5, 2), 5, 2)


def test_elias_gamma_round_trip_and_lengths() -> None:
    values = list(range(1, 300)) + [2**20, 2**40 + 3]
    writer = ec.BitWriter()
    for v in values:
        ec.write_gamma(writer, v)
    assert writer.bits == sum(2 * int(np.floor(log2(v))) + 1 for v in values)
    reader = ec.BitReader(writer.to_bytes())
    assert [ec.read_gamma(reader) for _ in values] == values
    assert [ec.gamma_bits(v) for v in (1, 2, 3, 4, 7, 8)] == [1, 3, 3, 5, 5, 7]
    with pytest.raises(ValueError):
        ec.gamma_bits(0)


@pytest.mark.parametrize("code", ["gamma", "fixed"])
def test_size_codes_round_trip(code: str) -> None:
    k_max = 256
    sizes = [1, 2, 3, 17, 255, 256]
    writer = ec.BitWriter()
    for s in sizes:
        ec.write_size(writer, s, k_max, code)  # type: ignore[arg-type]
    assert writer.bits == sum(ec.size_code_bits(s, k_max, code) for s in sizes)  # type: ignore[arg-type]
    reader = ec.BitReader(writer.to_bytes())
    assert [ec.read_size(reader, k_max, code) for _ in sizes] == sizes  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside"):
        ec.size_code_bits(257, k_max, code)  # type: ignore[arg-type]


def test_gamma_is_shorter_than_fixed_for_small_supports() -> None:
    assert ec.size_code_bits(1, 256, "gamma") == 1 < ec.size_code_bits(1, 256, "fixed") == 8
    assert ec.size_code_bits(256, 256, "gamma") == 17
    with pytest.raises(ValueError, match="Unknown size code"):
        ec.size_code_bits(1, 4, "unary")  # type: ignore[arg-type]
