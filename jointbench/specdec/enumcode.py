"""Exact bit-level codes for the sparse draft formats: bit I/O, subset ranks, size prefixes.

Everything here is integer arithmetic on Python ints (arbitrary precision), so an index
never loses a bit and the bit count of a message is known exactly before it is
padded to whole bytes.

- :class:`BitWriter` / :class:`BitReader`: MSB-first fixed-width fields.
- :func:`subset_rank` / :func:`subset_unrank`: the enumerative (combinadic, colex) index
  of a ``k``-subset of ``{0 .. N-1}``, a number in ``[0, C(N, k))``, hence
  :func:`subset_bits` ``= ceil(log2 C(N, k))`` bits.
- :func:`write_gamma` / :func:`read_gamma`: the Elias-gamma code of a positive int, the
  prefix for a variable support size (see :func:`size_code_bits` for why gamma).
"""

from __future__ import annotations

from math import comb
from typing import Iterable, Literal

SizeCode = Literal["gamma", "fixed"]
SIZE_CODES: tuple[str, ...] = ("gamma", "fixed")


def index_bits(count: int) -> int:
    """``ceil(log2 count)``: bits of a fixed-width field holding a value in ``[0, count)``.

    Parameters
    ----------
    count : int
        Number of possible values, ``>= 1`` (one value needs 0 bits).
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    return (count - 1).bit_length()


class BitWriter:
    """Append fixed-width unsigned fields, most significant bit first."""

    def __init__(self) -> None:
        self._acc = 0
        self._bits = 0

    @property
    def bits(self) -> int:
        """Exact number of bits written so far."""
        return self._bits

    def write(self, value: int, nbits: int) -> None:
        """Append ``value`` as an ``nbits``-bit unsigned field (``nbits = 0`` needs ``value = 0``)."""
        if nbits < 0 or value < 0 or value >> nbits:
            raise ValueError(f"value {value} does not fit in {nbits} bits")
        self._acc = (self._acc << nbits) | value
        self._bits += nbits

    def to_bytes(self) -> bytes:
        """The message padded with zero bits to ``ceil(bits / 8)`` bytes."""
        nbytes = (self._bits + 7) // 8
        return (self._acc << (8 * nbytes - self._bits)).to_bytes(nbytes, "big")


class BitReader:
    """Read the fields a :class:`BitWriter` wrote, in the same order and widths."""

    def __init__(self, payload: bytes) -> None:
        self._value = int.from_bytes(payload, "big")
        self._total = 8 * len(payload)
        self._pos = 0

    @property
    def position(self) -> int:
        """Bits consumed so far."""
        return self._pos

    def read(self, nbits: int) -> int:
        """Next ``nbits``-bit unsigned field."""
        if nbits < 0 or self._pos + nbits > self._total:
            raise ValueError(f"cannot read {nbits} bits at bit {self._pos} of a {self._total}-bit payload")
        self._pos += nbits
        return (self._value >> (self._total - self._pos)) & ((1 << nbits) - 1)


def subset_bits(n: int, k: int) -> int:
    """``ceil(log2 C(n, k))``: bits of the enumerative index of a ``k``-subset of ``n`` items."""
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    return index_bits(comb(n, k))


def subset_rank(items: Iterable[int], n: int) -> int:
    """Colex rank ``sum_j C(c_j, j + 1)`` of a subset ``c_0 < c_1 < ...`` of ``{0 .. n-1}``.

    Parameters
    ----------
    items : iterable of int
        Distinct members (any order), each in ``[0, n)``.
    n : int
        Size of the ground set.

    Returns
    -------
    int
        In ``[0, C(n, k))`` with ``k = len(items)``; a bijection for fixed ``(n, k)``.
    """
    c = sorted(int(i) for i in items)
    if len(set(c)) != len(c) or (c and (c[0] < 0 or c[-1] >= n)):
        raise ValueError(f"items must be distinct ints in [0, {n})")
    return sum(comb(cj, j + 1) for j, cj in enumerate(c))


def subset_unrank(rank: int, n: int, k: int) -> list[int]:
    """Inverse of :func:`subset_rank`: the sorted ``k``-subset of ``{0 .. n-1}`` with that rank.

    Greedy from the largest member: ``c_j`` is the largest ``c`` with ``C(c, j+1) <= rank``
    (found by bisection, ``O(k log n)`` binomials).
    """
    if not 0 <= rank < comb(n, k):
        raise ValueError(f"rank {rank} out of range for a {k}-subset of {n} items")
    out = [0] * k
    hi = n  # members are < hi
    for j in range(k - 1, -1, -1):
        lo, top = j, hi - 1  # C(j, j+1) = 0 <= rank always, so lo is feasible
        while lo < top:
            mid = (lo + top + 1) // 2
            if comb(mid, j + 1) <= rank:
                lo = mid
            else:
                top = mid - 1
        out[j] = lo
        rank -= comb(lo, j + 1)
        hi = lo
    return out


def gamma_bits(value: int) -> int:
    """Length ``2 floor(log2 v) + 1`` of the Elias-gamma code of ``v >= 1``."""
    if value < 1:
        raise ValueError(f"Elias gamma codes ints >= 1, got {value}")
    return 2 * value.bit_length() - 1


def write_gamma(writer: BitWriter, value: int) -> None:
    """Elias gamma: ``floor(log2 v)`` zeros, then ``v`` in binary (its leading 1 ends the zeros)."""
    nbits = gamma_bits(value)
    writer.write(value, nbits)  # the high (nbits - bit_length) bits of the field are the zeros


def read_gamma(reader: BitReader) -> int:
    """Inverse of :func:`write_gamma`."""
    zeros = 0
    while reader.read(1) == 0:
        zeros += 1
        if zeros > 64:
            raise ValueError("malformed Elias-gamma code (more than 64 leading zeros)")
    return (1 << zeros) | reader.read(zeros)


def size_code_bits(size: int, k_max: int, code: SizeCode) -> int:
    """Bits of a support size ``1 <= size <= k_max`` under ``code``.

    ``"fixed"`` is a ``ceil(log2 k_max)``-bit field holding ``size - 1``; ``"gamma"`` is
    Elias gamma (``2 floor(log2 size) + 1`` bits). Gamma is the default of C-SQS because
    the sizes that matter for bandwidth are small: in the sharp regime most supports have
    1-3 tokens, which gamma codes in 1-3 bits instead of the fixed field's 8 (``k_max =
    256``); its worst case, ``2 floor(log2 k_max) + 1``, exceeds the fixed field by at most
    ``floor(log2 k_max) + 1`` bits, negligible next to a ``k_max``-token support's
    ``~ k_max log2(V / k_max)`` index bits.
    """
    if not 1 <= size <= k_max:
        raise ValueError(f"support size {size} outside [1, k_max={k_max}]")
    if code == "gamma":
        return gamma_bits(size)
    if code == "fixed":
        return index_bits(k_max)
    raise ValueError(f"Unknown size code '{code}'. Available: {', '.join(SIZE_CODES)}")


def write_size(writer: BitWriter, size: int, k_max: int, code: SizeCode) -> None:
    """Write a support size with :func:`size_code_bits`' code."""
    nbits = size_code_bits(size, k_max, code)
    if code == "gamma":
        write_gamma(writer, size)
    else:
        writer.write(size - 1, nbits)


def read_size(reader: BitReader, k_max: int, code: SizeCode) -> int:
    """Inverse of :func:`write_size`."""
    if code == "gamma":
        size = read_gamma(reader)
    elif code == "fixed":
        size = reader.read(index_bits(k_max)) + 1
    else:
        raise ValueError(f"Unknown size code '{code}'. Available: {', '.join(SIZE_CODES)}")
    if size > k_max:
        raise ValueError(f"decoded support size {size} exceeds k_max={k_max}")
    return size

