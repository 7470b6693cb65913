"""Draft codecs: the single source of what the edge sends with a draft block, and its size.

A codec turns the draft model's next-token distribution into the one the edge samples
from (:meth:`DraftCodec.sampling_distribution`, equal to what the cloud decodes), encodes a
drafted block into bytes and decodes it on the cloud side. The cloud verifies against the
*decoded* distribution, so a lossy codec stays lossless with respect to what the edge
sampled from. The timeline takes the draft message's size only from a codec: the length of
a real encoding (:meth:`DraftCodec.encode`), recorded per cycle by the engine or computed by
:meth:`DraftCodec.encoded_len`, which a test checks against ``len(encode(...))``.

Every draft message starts with ``uint32 K, uint32 V`` (``V = 0`` when no distribution
travels) and ``K x int32`` ids. Codecs are registered by name (one file each in
:mod:`jointbench.specdec.codecs`); :func:`make_codec` builds one.
"""

from __future__ import annotations

import struct
from typing import Protocol, Sequence, runtime_checkable

import numpy as np
import torch

from jointbench.specdec.parts import CODEC, lookup
from jointbench.specdec.payload import ID

DRAFT_HEADER = struct.Struct("<II")


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
        """``len(encode(ids, q))`` for ``k`` ids over a vocabulary of ``vocab`` (bytes)."""


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


def make_codec(name: str) -> DraftCodec:
    """Build the codec registered as ``name`` (``ids_only``, ``dense_fp32``, ``dense_fp16``, …).

    Raises
    ------
    jointbench.registry.UnknownAliasError
        Listing the registered codecs.
    """
    return lookup(CODEC, name)()
