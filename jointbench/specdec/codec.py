"""Draft codecs: the single source of what the edge sends with a draft block, and its size.

A codec turns the draft model's next-token distribution into the one the edge samples
from (:meth:`DraftCodec.sampling_distribution`, equal to what the cloud decodes), encodes a
drafted block into bytes and decodes it on the cloud side. The cloud verifies against the
*decoded* distribution, so a lossy codec stays lossless with respect to what the edge
sampled from. The timeline takes the draft message's size only from a codec: the length of
a real encoding (:meth:`DraftCodec.encode`), recorded per cycle by the engine or computed by
:meth:`DraftCodec.encoded_len`, which a test checks against ``len(encode(...))``.

Every dense/ids draft message starts with ``uint32 K, uint32 V`` (``V = 0`` when no
distribution travels) and ``K x int32`` ids. Codecs are registered by name (one file each
in :mod:`jointbench.specdec.codecs`); :func:`make_codec` builds one with its typed
parameters (YAML ``codec_params``).

Per-position drafting (stateful, variable-length codecs). At T>0 the edge drafts each
position with :meth:`DraftCodec.draft_step` (quantise ``q``, then sample the token from
the quantised ``q_hat``) and sends the block as :meth:`DraftCodec.encode_steps`; a codec
whose state evolves per drafted token (C-SQS's threshold) keeps it between steps and is
:meth:`DraftCodec.reset` once per query, at the start of each generation (not per
session: a sampled query is cached and replayed on its own, so its draws must not depend
on the queries served before it). :class:`RowCodec` gives stateless codecs these three
methods from ``sampling_distribution`` and ``encode``, so their drafts, messages and every
number they produced stay identical.
"""

from __future__ import annotations

import inspect
import struct
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np
import torch

from jointbench.specdec.parts import CODEC, lookup
from jointbench.specdec.payload import ID
from jointbench.specdec.sampling import sample

DRAFT_HEADER = struct.Struct("<II")


@dataclass(frozen=True)
class DraftStep:
    """One drafted position as the edge encoded it.

    Attributes
    ----------
    token : int
        The drafted id, sampled from the quantised distribution the cloud decodes.
    row : torch.Tensor or None, shape (V,)
        The draft distribution a :class:`RowCodec` encodes (``None`` for bit-coded steps).
    code : tuple of (bytes, int), optional
        A bit-coded step's ``(payload, bits)``: ``bits`` exact, ``payload`` padded to bytes.
    stats : dict
        Per-position codec statistics (``bits``, ``support_size``, ``dropped_mass``,
        ``beta``), empty for dense codecs.
    """

    token: int
    row: torch.Tensor | None = None
    code: tuple[bytes, int] | None = None
    stats: Mapping[str, float] = field(default_factory=dict)


@runtime_checkable
class DraftCodec(Protocol):
    """Encodes draft blocks.

    Attributes
    ----------
    name : str
        Registered name.
    sends_distribution : bool
        False for ids-only codecs (greedy verification, T=0); True when the cloud needs
        the draft distribution (speculative sampling, T>0).
    reads_link : bool
        True when the encoding depends on the link (e.g. a rate-adaptive quantiser).
    """

    name: str
    sends_distribution: bool
    reads_link: bool

    def check_temperature(self, temperature: float) -> None:
        """Raise ``ValueError`` naming ``codec`` if it cannot serve ``temperature``."""

    def sampling_distribution(self, q: torch.Tensor) -> torch.Tensor:
        """What the edge samples from, shape (V,): ``decode(encode(q))`` for one row."""

    def encode(self, ids: Sequence[int], q: torch.Tensor | None) -> bytes:
        """Encode ``K`` drafted ids and (if sent) their distributions ``q``, shape (K, V)."""

    def decode(self, data: bytes) -> tuple[list[int], torch.Tensor | None]:
        """Inverse of :meth:`encode`: ``(ids, q or None)``, ``q`` of shape (K, V), float32."""

    def encoded_len(self, k: int, vocab: int) -> int:
        """``len(encode(ids, q))`` for ``k`` ids over a vocabulary of ``vocab`` (bytes); the worst
        case for variable-length codecs."""

    def reset(self) -> None:
        """Forget per-query state (called at the start of every generation)."""

    def draft_step(self, q: torch.Tensor, generator: torch.Generator) -> DraftStep:
        """Quantise one position's ``q`` (shape (V,)), sample the drafted token from the result."""

    def encode_steps(self, steps: Sequence[DraftStep], vocab: int) -> bytes:
        """The draft message of a block drafted with :meth:`draft_step` (T > 0)."""


class RowCodec:
    """Per-position drafting of a stateless codec from its ``sampling_distribution`` and ``encode``.

    The token is ``sample(sampling_distribution(q))`` with the edge's generator and the
    message ``encode(ids, stack(q rows))``: exactly what the engine did before codecs
    could be stateful.
    """

    def reset(self) -> None:
        """Stateless: nothing to forget."""

    def draft_step(self, q: torch.Tensor, generator: torch.Generator) -> DraftStep:
        """Sample from :meth:`sampling_distribution`; keep the raw row for :meth:`encode`."""
        return DraftStep(sample(self.sampling_distribution(q), generator), row=q)  # type: ignore[attr-defined]

    def encode_steps(self, steps: Sequence[DraftStep], vocab: int) -> bytes:
        """``encode(ids, q rows)`` (``q = None`` for an empty block)."""
        rows = [s.row for s in steps if s.row is not None]
        return self.encode([s.token for s in steps], torch.stack(rows) if rows else None)  # type: ignore[attr-defined]


def encode_ids(ids: Sequence[int], vocab: int) -> bytes:
    """The common head of every draft message: header and ``K`` int32 ids."""
    return DRAFT_HEADER.pack(len(ids), vocab) + np.asarray(list(ids), dtype=ID).tobytes()


def decode_ids(data: bytes) -> tuple[list[int], int, int]:
    """Parse the common head: ``(ids, V, offset of the body)``."""
    k, vocab = DRAFT_HEADER.unpack_from(data)
    ids = np.frombuffer(data, dtype=ID, count=k, offset=DRAFT_HEADER.size).tolist()
    return ids, vocab, DRAFT_HEADER.size + ID.itemsize * k


def ids_len(k: int) -> int:
    """Size of the common head for ``k`` ids (bytes)."""
    return DRAFT_HEADER.size + ID.itemsize * int(k)


def make_codec(name: str, params: Mapping[str, Any] | None = None) -> DraftCodec:
    """Build the codec registered as ``name`` (``ids_only``, ``dense_fp16``, ``k_sqs``, …).

    Parameters
    ----------
    name : str
        Registered codec.
    params : mapping, optional
        The codec's constructor parameters (YAML ``codec_params``); each codec checks
        their types and ranges.

    Raises
    ------
    jointbench.registry.UnknownAliasError
        Listing the registered codecs.
    ValueError
        ``codec_params`` holds a key the codec does not take (named, with the ones it does).
    """
    cls = lookup(CODEC, name)
    given = dict(params or {})
    allowed = [p for p in inspect.signature(cls).parameters if p != "self"]
    for key in given:
        if key not in allowed:
            raise ValueError(f"codec_params: unknown key '{key}' for codec '{name}'. "
                             f"Allowed: {', '.join(allowed) or 'none (this codec takes no parameters)'}")
    return cls(**given)
