"""``dense_fp32`` and ``dense_fp16``: the whole draft distribution, one row per drafted token.

Sizes: ``8 + 4K + b·K·V`` bytes with ``b = 4`` (fp32) or ``2`` (fp16). fp16 is lossy: the
edge samples from the fp16-rounded, renormalised row the cloud will decode, so speculative
sampling stays exact with respect to it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from jointbench.specdec.codec import RowCodec, decode_ids, encode_ids, ids_len
from jointbench.specdec.parts import CODEC, register


class _Dense(RowCodec):
    """Header, ids, then ``K x V`` probabilities as :attr:`dtype` (little-endian)."""

    name = ""
    dtype = np.dtype("<f4")
    sends_distribution = True
    reads_link = False

    def check_temperature(self, temperature: float) -> None:
        """Sending distributions only makes sense when sampling."""
        if temperature <= 0:
            raise ValueError(f"codec: '{self.name}' needs temperature > 0 (use ids_only at temperature 0)")

    def _round(self, q: torch.Tensor) -> torch.Tensor:
        """Rows as the cloud decodes them: cast, back to float32, renormalised."""
        r = torch.from_numpy(q.detach().to(torch.float32).numpy().astype(self.dtype).astype(np.float32))
        return r / r.sum(dim=-1, keepdim=True)

    def sampling_distribution(self, q: torch.Tensor) -> torch.Tensor:
        """``decode(encode(q))`` of one row (identity for fp32 up to renormalisation)."""
        if self.dtype == np.float32:
            return q
        return self._round(q)

    def encode(self, ids: Sequence[int], q: torch.Tensor | None) -> bytes:
        """Header, ids and ``q`` (shape (K, V)); ``q`` may be ``None`` only when ``K = 0``."""
        k = len(ids)
        if k == 0:
            return encode_ids(ids, 0)
        if q is None:
            raise ValueError(f"codec '{self.name}' needs the draft distributions of the {k} drafted ids")
        rows = q.detach().to(torch.float32).reshape(k, -1).numpy()
        return encode_ids(ids, rows.shape[1]) + rows.astype(self.dtype).tobytes()

    def decode(self, data: bytes) -> tuple[list[int], torch.Tensor | None]:
        """``(ids, q)`` with ``q`` float32 of shape (K, V), rows renormalised (``None`` when ``K = 0``)."""
        ids, vocab, offset = decode_ids(data)
        if not vocab:
            return ids, None
        q = np.frombuffer(data, dtype=self.dtype, count=len(ids) * vocab, offset=offset)
        q_t = torch.from_numpy(q.astype(np.float32).reshape(len(ids), vocab))
        if self.dtype == np.float32:
            return ids, q_t
        return ids, q_t / q_t.sum(dim=-1, keepdim=True)

    def encoded_len(self, k: int, vocab: int) -> int:
        """``8 + 4k + b·k·vocab`` bytes (``8`` when ``k = 0``)."""
        return ids_len(k) + (self.dtype.itemsize * int(k) * int(vocab) if k else 0)


@register(CODEC, "dense_fp32")
class DenseFp32(_Dense):
    """Exact float32 distributions (``4·V`` bytes per drafted token)."""

    name = "dense_fp32"
    dtype = np.dtype("<f4")


@register(CODEC, "dense_fp16")
class DenseFp16(_Dense):
    """float16 distributions (``2·V`` bytes per drafted token), lossy but verified exactly."""

    name = "dense_fp16"
    dtype = np.dtype("<f2")
