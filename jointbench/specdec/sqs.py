"""Draft-distribution schemes of QS-SD and SQS-SD: what the edge samples from and sends.

Each scheme is an encoder/decoder pair over ONE draft position's distribution ``q``
(shape ``(V,)``). :meth:`DraftScheme.encode` quantises ``q`` to ``q_hat``, THEN samples
the draft token from ``q_hat`` (the order that keeps speculative sampling lossless; the
cloud accepts with ``min(1, p / q_hat)`` and resamples from ``norm(max(p - q_hat, 0))``
over the full vocabulary, i.e. :func:`jointbench.specdec.sampling.speculative_verify`
with ``q = q_hat``), and returns the exact message. :meth:`DraftScheme.decode` rebuilds
the token and a ``q_hat`` bit-identical to the edge's. ``bits`` counts the message
exactly; ``payload`` is it padded to ``ceil(bits / 8)`` bytes.

Schemes (registry name: class):

- ``dense-fp32`` / ``dense-fp16``: the whole vector in IEEE float, plus the token id.
- ``lattice`` (QS-SD): the nearest type of resolution ``ell`` on the V-simplex, sent as
  its enumerative index, plus the token id.
- ``ids``: support of one token, ``q_hat`` its one-hot: 0 distribution bits, still lossless.
- ``k-sqs``: top-``K`` support, renormalised, lattice-quantised; enumerative support
  index + lattice index + the sampled token's index in the support.
- ``c-sqs``: support ``{x : q(x) >= beta}`` plus the argmax, capped at ``K_max``, with
  ``beta`` tracked online by
  :class:`~jointbench.specdec.sqs_support.ConformalThreshold`; the support size is
  prefix-coded (Elias gamma by default), the rest as in ``k-sqs``.

Token ids are fixed ``ceil(log2 V)``-bit fields. Sparse formats list the support in
ascending id order and the lattice counts in that order; ``ell`` is recomputed by the
decoder from the support size (:func:`~jointbench.specdec.lattice.resolution`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from jointbench.specdec import enumcode as ec
from jointbench.specdec import lattice as lt
from jointbench.specdec.sqs_support import (
    DEFAULT_ETA,
    ConformalThreshold,
    check_float_in,
    conformal_support,
    top_ids,
)


@dataclass(frozen=True)
class EncodedDraft:
    """One encoded draft position.

    Attributes
    ----------
    token : int
        Drafted token id, sampled from ``q_hat``.
    q_hat : numpy.ndarray, shape (V,), float64
        The distribution the token was sampled from (what the cloud verifies against).
    payload : bytes
        The message, ``ceil(bits / 8)`` bytes.
    bits : int
        Exact message length in bits before byte padding.
    support_size : int
        Tokens with a coded probability (``V`` for dense schemes).
    dropped_mass : float
        ``sum_{x not in support} q(x)`` (0 for dense schemes) = ``TV(q, q~)``.
    """

    token: int
    q_hat: np.ndarray
    payload: bytes
    bits: int
    support_size: int
    dropped_mass: float


def _check_q(q: np.ndarray) -> np.ndarray:
    """``q`` as a normalised float64 vector; raises on a malformed input."""
    x = np.asarray(q, dtype=np.float64).reshape(-1)
    total = float(x.sum()) if x.size else 0.0
    if x.size < 1 or not np.all(np.isfinite(x)) or np.any(x < 0) or total <= 0:
        raise ValueError("q must be a non-empty vector of finite non-negative probabilities with positive sum")
    return x / total


def _sample_float(q_hat: np.ndarray, rng: np.random.Generator) -> int:
    """Inverse-CDF draw from a float vector (zero-mass ids are never drawn)."""
    cdf = np.cumsum(q_hat)
    i = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(i, int(np.flatnonzero(q_hat)[-1]))  # u * total can round up to total


def _sparse_q_hat(support: np.ndarray, counts: np.ndarray, ell: int, vocab: int) -> np.ndarray:
    q_hat = np.zeros(vocab, dtype=np.float64)
    q_hat[support] = counts / float(ell)
    return q_hat


def _check_int(name: str, value: object, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: must be an int >= {low}, got {value!r}")


class DraftScheme:
    """Interface of a scheme (subclasses are dataclasses whose fields are its parameters)."""

    name: ClassVar[str]

    def encode(self, q: np.ndarray, rng: np.random.Generator) -> EncodedDraft:
        """Quantise ``q`` (shape (V,)), sample the draft token from ``q_hat``, encode both."""
        raise NotImplementedError

    def decode(self, payload: bytes, vocab: int) -> tuple[int, np.ndarray]:
        """``(token, q_hat)`` from a payload; ``q_hat`` bit-identical to the encoder's."""
        return self.decode_from(ec.BitReader(payload), vocab)

    def decode_from(self, reader: ec.BitReader, vocab: int) -> tuple[int, np.ndarray]:
        """:meth:`decode` reading the fields from ``reader`` (messages concatenated bit by bit)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget online state (a new request); stateless schemes do nothing."""


@dataclass
class _DenseFloat(DraftScheme):
    """The whole vector as IEEE floats (``V`` values, little-endian) then the token id."""

    dtype: ClassVar[str]

    def _q_hat(self, values: np.ndarray) -> np.ndarray:
        x = values.astype(np.float64)
        return x / x.sum()

    def encode(self, q: np.ndarray, rng: np.random.Generator) -> EncodedDraft:
        qn = _check_q(q)
        values = qn.astype(self.dtype)
        q_hat = self._q_hat(values)
        token = _sample_float(q_hat, rng)
        id_bits = ec.index_bits(qn.size)
        writer = ec.BitWriter()
        writer.write(token, id_bits)
        payload = values.tobytes() + writer.to_bytes()
        return EncodedDraft(token, q_hat, payload, 8 * values.nbytes + id_bits, qn.size, 0.0)

    def decode(self, payload: bytes, vocab: int) -> tuple[int, np.ndarray]:
        values = np.frombuffer(payload, dtype=self.dtype, count=vocab)
        token = ec.BitReader(payload[values.nbytes:]).read(ec.index_bits(vocab))
        return token, self._q_hat(values)


@dataclass
class DenseFP32(_DenseFloat):
    """Dense float32 distribution (the engine's current draft format)."""

    name: ClassVar[str] = "dense-fp32"
    dtype: ClassVar[str] = "<f4"


@dataclass
class DenseFP16(_DenseFloat):
    """Dense float16 distribution (the issue's dense baseline)."""

    name: ClassVar[str] = "dense-fp16"
    dtype: ClassVar[str] = "<f2"


@dataclass
class DenseLattice(DraftScheme):
    """QS-SD: nearest type of resolution ``ell`` on the whole V-simplex.

    Message: token id (``ceil(log2 V)`` bits), then the lattice index
    (``ceil(log2 C(ell + V - 1, V - 1))`` bits), QS-SD's count.
    """

    name: ClassVar[str] = "lattice"
    ell: int = 240

    def __post_init__(self) -> None:
        _check_int("ell", self.ell)

    def encode(self, q: np.ndarray, rng: np.random.Generator) -> EncodedDraft:
        qn = _check_q(q)
        counts = lt.nearest_type(qn, self.ell)
        token = lt.sample_counts(counts, rng)
        writer = ec.BitWriter()
        writer.write(token, ec.index_bits(qn.size))
        writer.write(lt.lattice_rank(counts), lt.lattice_bits(qn.size, self.ell))
        return EncodedDraft(token, counts / float(self.ell), writer.to_bytes(), writer.bits, qn.size, 0.0)

    def decode_from(self, reader: ec.BitReader, vocab: int) -> tuple[int, np.ndarray]:
        token = reader.read(ec.index_bits(vocab))
        counts = lt.lattice_unrank(reader.read(lt.lattice_bits(vocab, self.ell)), vocab, self.ell)
        return token, counts / float(self.ell)


@dataclass
class IdsOnly(DraftScheme):
    """Support of one token: ``q_hat`` = one-hot, message = the id only.

    ``pick = "argmax"`` drafts the mode of ``q`` (acceptance ``p(argmax q)``);
    ``"sample"`` draws it from ``q`` (acceptance ``sum_x q(x) p(x)``). Either is lossless:
    the cloud accepts with probability ``p(x)`` and otherwise resamples from ``p``
    restricted to the other tokens.
    """

    name: ClassVar[str] = "ids"
    pick: Literal["argmax", "sample"] = "argmax"

    def __post_init__(self) -> None:
        if self.pick not in ("argmax", "sample"):
            raise ValueError(f"pick: must be 'argmax' or 'sample', got {self.pick!r}")

    def encode(self, q: np.ndarray, rng: np.random.Generator) -> EncodedDraft:
        qn = _check_q(q)
        token = int(top_ids(qn, 1)[0]) if self.pick == "argmax" else _sample_float(qn, rng)
        q_hat = np.zeros(qn.size, dtype=np.float64)
        q_hat[token] = 1.0
        writer = ec.BitWriter()
        writer.write(token, ec.index_bits(qn.size))
        return EncodedDraft(token, q_hat, writer.to_bytes(), writer.bits, 1, float(1.0 - qn[token]))

    def decode_from(self, reader: ec.BitReader, vocab: int) -> tuple[int, np.ndarray]:
        token = reader.read(ec.index_bits(vocab))
        q_hat = np.zeros(vocab, dtype=np.float64)
        q_hat[token] = 1.0
        return token, q_hat


def _encode_support(qn: np.ndarray, support: np.ndarray, ell: int, writer: ec.BitWriter,
                    rng: np.random.Generator) -> tuple[int, np.ndarray]:
    """Lattice-quantise ``q`` on ``support`` (ascending ids), sample, write; -> (token, q_hat)."""
    n, vocab = support.size, qn.size
    counts = lt.nearest_type(qn[support] / qn[support].sum(), ell)
    j = lt.sample_counts(counts, rng)
    writer.write(ec.subset_rank(support.tolist(), vocab), ec.subset_bits(vocab, n))
    writer.write(lt.lattice_rank(counts), lt.lattice_bits(n, ell))
    writer.write(j, ec.index_bits(n))
    return int(support[j]), _sparse_q_hat(support, counts, ell, vocab)


def _decode_support(reader: ec.BitReader, n: int, ell: int, vocab: int) -> tuple[int, np.ndarray]:
    """Inverse of :func:`_encode_support` for a support of ``n`` tokens."""
    support = np.asarray(ec.subset_unrank(reader.read(ec.subset_bits(vocab, n)), vocab, n), dtype=np.int64)
    counts = lt.lattice_unrank(reader.read(lt.lattice_bits(n, ell)), n, ell)
    j = reader.read(ec.index_bits(n))
    return int(support[j]), _sparse_q_hat(support, counts, ell, vocab)


def _sparse_draft(qn: np.ndarray, support: np.ndarray, ell: int, prefix: ec.BitWriter,
                  rng: np.random.Generator) -> EncodedDraft:
    support = np.sort(support)
    token, q_hat = _encode_support(qn, support, ell, prefix, rng)
    dropped = float(np.delete(qn, support).sum())  # summed outside S: no 1 - (1 - eps) cancellation
    return EncodedDraft(token, q_hat, prefix.to_bytes(), prefix.bits, support.size, dropped)


@dataclass
class KSQS(DraftScheme):
    """K-SQS: top-``k`` support, renormalised, lattice at ``resolution(ell, ell_per_token, k)``.

    Bits: ``ceil(log2 C(V, k)) + ceil(log2 C(ell + k - 1, k - 1)) + ceil(log2 k)``.
    """

    name: ClassVar[str] = "k-sqs"
    k: int = 3
    ell: int = lt.ELL_FLOOR
    ell_per_token: float = lt.ELL_PER_TOKEN

    def __post_init__(self) -> None:
        _check_int("k", self.k)
        _check_int("ell", self.ell)
        check_float_in("ell_per_token", self.ell_per_token, 0.0, 1e6)

    def encode(self, q: np.ndarray, rng: np.random.Generator) -> EncodedDraft:
        qn = _check_q(q)
        if self.k > qn.size:
            raise ValueError(f"k: {self.k} exceeds the vocabulary size {qn.size}")
        ell = lt.resolution(self.ell, self.ell_per_token, self.k)
        return _sparse_draft(qn, top_ids(qn, self.k), ell, ec.BitWriter(), rng)

    def decode_from(self, reader: ec.BitReader, vocab: int) -> tuple[int, np.ndarray]:
        ell = lt.resolution(self.ell, self.ell_per_token, self.k)
        return _decode_support(reader, self.k, ell, vocab)


@dataclass
class CSQS(DraftScheme):
    """C-SQS: conformal threshold support (argmax kept, at most ``k_max``), size prefix-coded.

    Bits: size code (:func:`~jointbench.specdec.enumcode.size_code_bits`) + the
    :class:`KSQS` fields for ``k = |S|``. ``encode`` updates the threshold after each
    position (stateful; :meth:`reset` per request); ``decode`` needs no state.
    """

    name: ClassVar[str] = "c-sqs"
    alpha: float = 0.1
    eta: float = DEFAULT_ETA
    beta1: float = 0.05
    beta_min: float | None = None
    beta_max: float = 1.0
    k_max: int = 256
    ell: int = lt.ELL_FLOOR
    ell_per_token: float = lt.ELL_PER_TOKEN
    size_code: ec.SizeCode = "gamma"
    controller: ConformalThreshold = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_int("k_max", self.k_max)
        _check_int("ell", self.ell)
        check_float_in("ell_per_token", self.ell_per_token, 0.0, 1e6)
        if self.size_code not in ec.SIZE_CODES:
            raise ValueError(f"size_code: must be one of {', '.join(ec.SIZE_CODES)}, got {self.size_code!r}")
        self.controller = ConformalThreshold(self.alpha, self.eta, self.beta1, self.beta_min, self.beta_max)

    @property
    def beta(self) -> float:
        """The threshold the next :meth:`encode` uses."""
        return self.controller.beta

    def encode(self, q: np.ndarray, rng: np.random.Generator) -> EncodedDraft:
        qn = _check_q(q)
        support = conformal_support(qn, self.controller.beta, self.k_max)
        writer = ec.BitWriter()
        ec.write_size(writer, support.size, self.k_max, self.size_code)
        ell = lt.resolution(self.ell, self.ell_per_token, support.size)
        draft = _sparse_draft(qn, support, ell, writer, rng)
        self.controller.update(draft.dropped_mass)
        return draft

    def decode_from(self, reader: ec.BitReader, vocab: int) -> tuple[int, np.ndarray]:
        n = ec.read_size(reader, self.k_max, self.size_code)
        return _decode_support(reader, n, lt.resolution(self.ell, self.ell_per_token, n), vocab)

    def reset(self) -> None:
        self.controller.reset()


SCHEMES: dict[str, type[DraftScheme]] = {
    cls.name: cls for cls in (DenseFP32, DenseFP16, DenseLattice, IdsOnly, KSQS, CSQS)
}


def make_scheme(name: str, **params: object) -> DraftScheme:
    """Build a scheme by registry name with its dataclass fields as parameters."""
    if name not in SCHEMES:
        raise KeyError(f"Unknown draft scheme '{name}'. Available: {', '.join(SCHEMES)}")
    return SCHEMES[name](**params)  # type: ignore[arg-type]
