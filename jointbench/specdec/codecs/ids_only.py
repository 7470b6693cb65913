"""``ids_only``: the drafted ids alone (greedy verification at temperature 0)."""

from __future__ import annotations

from typing import Sequence

import torch

from jointbench.specdec.codec import RowCodec, decode_ids, encode_ids, ids_len
from jointbench.specdec.parts import CODEC, register


@register(CODEC, "ids_only")
class IdsOnly(RowCodec):
    """``8 + 4K`` bytes: header and ids; no distribution (T=0 only)."""

    name = "ids_only"
    sends_distribution = False
    reads_link = False

    def check_temperature(self, temperature: float) -> None:
        """Ids alone cannot be verified losslessly by speculative sampling."""
        if temperature > 0:
            raise ValueError(f"codec: 'ids_only' serves temperature 0 only, got temperature={temperature}; "
                             "use dense_fp32 or dense_fp16")

    def sampling_distribution(self, q: torch.Tensor) -> torch.Tensor:
        """Unchanged (never sent)."""
        return q

    def encode(self, ids: Sequence[int], q: torch.Tensor | None) -> bytes:
        """Header + ids; ``q`` is ignored."""
        return encode_ids(ids, 0)

    def decode(self, data: bytes) -> tuple[list[int], torch.Tensor | None]:
        """``(ids, None)``."""
        ids, _, _ = decode_ids(data)
        return ids, None

    def encoded_len(self, k: int, vocab: int) -> int:
        """``8 + 4k`` bytes."""
        return ids_len(k)
