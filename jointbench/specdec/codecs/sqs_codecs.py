"""Bit-coded draft codecs of QS-SD and SQS-SD: ``dense_lattice``, ``ids_k1``, ``k_sqs``, ``c_sqs``.

Each wraps a scheme of :mod:`jointbench.specdec.sqs` (the math, the exact bit formats and
the tests of the quantiser live there) as a loop codec. At T>0 the edge drafts a
position with :meth:`draft_step`: the scheme quantises ``q`` to ``q_hat`` THEN samples the
token from ``q_hat`` (the lossless order) and returns its exact bit string; C-SQS also
moves its threshold ``beta`` (state kept across the positions and cycles of one query,
:meth:`reset` at the start of each). The cloud accepts with ``min(1, p / q_hat)`` and
resamples from ``norm(max(p - q_hat, 0))`` over the full vocabulary
(:func:`~jointbench.specdec.sampling.speculative_verify` with the decoded ``q_hat``).

Message (:meth:`encode_steps`): ``uint32 K, uint32 V`` then the ``K`` positions' bit
strings concatenated with no padding between them, zero-padded to a byte at the end, so
``len = 8 + ceil(sum(bits) / 8)`` bytes (:func:`message_bits` is the accounted size).
At T=0 the draft distribution is a point mass and greedy verification needs the ids only:
:meth:`encode` with ``q = None`` is the ``ids_only`` message, so every codec also serves
T=0 and gives the cloud-only tokens.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar, Sequence

import numpy as np
import torch

from jointbench.specdec import enumcode as ec
from jointbench.specdec import lattice as lt
from jointbench.specdec.codec import DRAFT_HEADER, DraftStep, decode_ids, encode_ids, ids_len
from jointbench.specdec.parts import CODEC, register
from jointbench.specdec.sqs import CSQS, KSQS, DenseLattice, DraftScheme, IdsOnly
from jointbench.specdec.sqs_support import DEFAULT_ETA


def message_bits(steps: Sequence[DraftStep]) -> int:
    """Accounted size of a bit-coded draft message: header plus every step's exact bits."""
    return 8 * DRAFT_HEADER.size + sum(s.code[1] for s in steps if s.code is not None)


class _SchemeCodec:
    """A :class:`~jointbench.specdec.sqs.DraftScheme` as a loop codec (see the module doc)."""

    name: ClassVar[str] = ""
    sends_distribution = True
    reads_link = False
    scheme: DraftScheme
    params: dict[str, Any]

    def _build(self, cls: type[DraftScheme], **params: Any) -> None:
        try:
            self.scheme = cls(**params)
        except ValueError as e:
            raise ValueError(f"codec_params of codec '{self.name}': {e}") from e
        self.params = dict(params)

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"

    def check_temperature(self, temperature: float) -> None:
        """Any ``temperature >= 0`` (T=0 sends the ids only)."""
        if temperature < 0:
            raise ValueError(f"codec: '{self.name}' needs temperature >= 0, got {temperature}")

    def sampling_distribution(self, q: torch.Tensor) -> torch.Tensor:
        """Not available: the token comes with its encoding from :meth:`draft_step`."""
        raise NotImplementedError(f"codec '{self.name}' samples inside draft_step(); call draft_step() per "
                                  "position and encode_steps() per block")

    def reset(self) -> None:
        """Back to the scheme's initial state (C-SQS: ``beta = beta1``)."""
        self.scheme.reset()

    def draft_step(self, q: torch.Tensor, generator: torch.Generator) -> DraftStep:
        """Quantise ``q`` (shape (V,)), sample from ``q_hat``, encode (the draws seeded from ``generator``)."""
        beta = getattr(self.scheme, "beta", None)  # C-SQS: the threshold this position uses
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        d = self.scheme.encode(q.detach().to(torch.float64).reshape(-1).numpy(), rng)
        stats = {"bits": float(d.bits), "support_size": float(d.support_size), "dropped_mass": d.dropped_mass}
        if beta is not None:
            stats["beta"] = float(beta)
        return DraftStep(d.token, code=(d.payload, d.bits), stats=stats)

    def encode_steps(self, steps: Sequence[DraftStep], vocab: int) -> bytes:
        """Header ``(K, V)`` then the steps' bit strings back to back (``(0, 0)`` when ``K = 0``)."""
        if not steps:
            return encode_ids([], 0)
        writer = ec.BitWriter()
        for s in steps:
            if s.code is None:
                raise ValueError(f"codec '{self.name}': step without a bit code (drafted by another codec?)")
            payload, bits = s.code
            writer.write(int.from_bytes(payload, "big") >> (8 * len(payload) - bits), bits)
        return DRAFT_HEADER.pack(len(steps), int(vocab)) + writer.to_bytes()

    def encode(self, ids: Sequence[int], q: torch.Tensor | None) -> bytes:
        """T=0 form (``q = None``): the ``ids_only`` message."""
        if q is not None:
            raise ValueError(f"codec '{self.name}' draws its tokens itself at T>0: draft with draft_step() and "
                             "encode the block with encode_steps()")
        return encode_ids(ids, 0)

    def decode(self, data: bytes) -> tuple[list[int], torch.Tensor | None]:
        """``(ids, None)`` for the T=0 form, else ``(ids, q_hat)`` with ``q_hat`` float32 (K, V)."""
        k, vocab = DRAFT_HEADER.unpack_from(data)
        if not vocab:
            ids, _, _ = decode_ids(data)
            return ids, None
        reader = ec.BitReader(data[DRAFT_HEADER.size:])
        rows = [self.scheme.decode_from(reader, vocab) for _ in range(k)]
        q_hat = torch.from_numpy(np.stack([r[1] for r in rows])).to(torch.float32)
        return [r[0] for r in rows], q_hat

    def max_step_bits(self, vocab: int) -> int:
        """Largest message of one position over a vocabulary of ``vocab`` (bits)."""
        raise NotImplementedError

    def encoded_len(self, k: int, vocab: int) -> int:
        """``vocab = 0``: the T=0 ids message (exact); else the worst case of :meth:`encode_steps`."""
        if not vocab or not k:
            return ids_len(k) if not vocab else DRAFT_HEADER.size
        return DRAFT_HEADER.size + (int(k) * self.max_step_bits(int(vocab)) + 7) // 8


@register(CODEC, "dense_lattice")
class DenseLatticeCodec(_SchemeCodec):
    """QS-SD: the nearest type of resolution ``ell`` on the whole V-simplex, plus the token id.

    Parameters
    ----------
    ell : int
        Lattice resolution (``>= 1``).
    """

    name: ClassVar[str] = "dense_lattice"

    def __init__(self, ell: int = 240) -> None:
        self._build(DenseLattice, ell=ell)

    def max_step_bits(self, vocab: int) -> int:
        """``ceil(log2 V) + ceil(log2 C(ell + V - 1, V - 1))`` (fixed length)."""
        return ec.index_bits(vocab) + lt.lattice_bits(vocab, self.params["ell"])


@register(CODEC, "ids_k1")
class IdsK1Codec(_SchemeCodec):
    """A support of one token (``q_hat`` one-hot): the id alone at T>0, still lossless.

    Parameters
    ----------
    pick : {"argmax", "sample"}
        Draft the mode of ``q`` or a sample of it.
    """

    name: ClassVar[str] = "ids_k1"

    def __init__(self, pick: str = "argmax") -> None:
        self._build(IdsOnly, pick=pick)

    def max_step_bits(self, vocab: int) -> int:
        """``ceil(log2 V)``."""
        return ec.index_bits(vocab)


@register(CODEC, "k_sqs")
class KSQSCodec(_SchemeCodec):
    """K-SQS: top-``k`` support, renormalised, lattice-quantised (fixed length).

    Parameters
    ----------
    k : int
        Support size (``>= 1``).
    ell : int
        Lattice resolution (``>= 1``), or its floor when ``ell_per_token > 0``.
    ell_per_token : float
        Resolution per support token (``ell = max(ell, ceil(ell_per_token k))``), ``>= 0``.
    """

    name: ClassVar[str] = "k_sqs"

    def __init__(self, k: int = 3, ell: int = lt.ELL_FLOOR, ell_per_token: float = lt.ELL_PER_TOKEN) -> None:
        self._build(KSQS, k=k, ell=ell, ell_per_token=ell_per_token)

    def max_step_bits(self, vocab: int) -> int:
        """``ceil(log2 C(V, k)) + ceil(log2 C(ell + k - 1, k - 1)) + ceil(log2 k)``."""
        p = self.params
        return _sparse_bits(vocab, p["k"], lt.resolution(p["ell"], p["ell_per_token"], p["k"]))


@register(CODEC, "c_sqs")
class CSQSCodec(_SchemeCodec):
    """C-SQS: support ``{x : q(x) >= beta}`` plus the argmax, at most ``k_max``; ``beta`` online.

    Parameters
    ----------
    alpha : float
        Target long-run dropped mass, in (0, 1].
    eta : float
        Step of ``beta <- clip(beta - eta (dropped - alpha))``, in (0, 1].
    beta1 : float
        Initial threshold (at every query start), in ``[beta_min, beta_max]``.
    k_max : int
        Support cap (worst-case bit budget), ``>= 1``.
    ell : int
        Lattice resolution floor, ``>= 1``.
    ell_per_token : float
        Resolution per support token, ``>= 0``.
    size_code : {"gamma", "fixed"}
        Prefix code of the support size.
    beta_min : float, optional
        Lower clip (default ``-eta``, which keeps the long-run bound), in [-1, 0].
    beta_max : float
        Upper clip, in (0, 1].
    """

    name: ClassVar[str] = "c_sqs"

    def __init__(self, alpha: float = 0.1, eta: float = DEFAULT_ETA, beta1: float = 0.05, k_max: int = 256,
                 ell: int = lt.ELL_FLOOR, ell_per_token: float = lt.ELL_PER_TOKEN, size_code: str = "gamma",
                 beta_min: float | None = None, beta_max: float = 1.0) -> None:
        self._build(CSQS, alpha=alpha, eta=eta, beta1=beta1, k_max=k_max, ell=ell, ell_per_token=ell_per_token,
                    size_code=size_code, beta_min=beta_min, beta_max=beta_max)

    def max_step_bits(self, vocab: int) -> int:
        """The largest size code + :class:`KSQSCodec` fields over support sizes ``1 .. min(k_max, V)``."""
        p = self.params
        return max(ec.size_code_bits(n, p["k_max"], p["size_code"])
                   + _sparse_bits(vocab, n, lt.resolution(p["ell"], p["ell_per_token"], n))
                   for n in range(1, min(p["k_max"], vocab) + 1))


@lru_cache(maxsize=4096)
def _sparse_bits(vocab: int, n: int, ell: int) -> int:
    """Bits of a sparse position: support index, lattice index, token's index in the support."""
    return ec.subset_bits(vocab, n) + lt.lattice_bits(n, ell) + ec.index_bits(n)
