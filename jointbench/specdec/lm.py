"""A causal LM bound to its own KV cache, fed token ids incrementally (batch size 1)."""

from __future__ import annotations

from typing import Any, Sequence

import torch


class CachedLM:
    """One model plus one ``transformers.DynamicCache``.

    The cache always holds the keys/values of :attr:`tokens`, a prefix of the sequence
    fed so far; :meth:`crop` rolls it back, so the next :meth:`forward` continues from
    there. :attr:`chunk_sizes` records, per cached position, how many tokens the
    forward pass that computed it processed: with dynamic int8 quantisation (one
    activation scale per input tensor) the cached values depend on that chunking.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A decoder-only causal LM in eval mode (any dtype, CPU).
    vocab_limit : int, optional
        Keep only the first ``vocab_limit`` logits. Families pad their LM heads to
        different sizes (Qwen2.5-0.5B: 151,936 rows, 7B: 152,064) over one tokenizer;
        a pair must compare distributions over the same ids.
    """

    def __init__(self, model: Any, vocab_limit: int | None = None) -> None:
        from transformers import DynamicCache

        self.model = model
        self.vocab_limit = vocab_limit
        self._cache_cls = DynamicCache
        self.cache = DynamicCache(config=model.config)
        self.tokens: list[int] = []
        self.chunk_sizes: list[int] = []

    @property
    def length(self) -> int:
        """Number of tokens whose keys/values are cached."""
        return len(self.tokens)

    def reset(self) -> None:
        """Drop the whole cache (start of a new sequence)."""
        self.cache = self._cache_cls(config=self.model.config)
        self.tokens = []
        self.chunk_sizes = []

    @torch.inference_mode()
    def forward(self, ids: Sequence[int] | torch.Tensor, num_logits: int = 1) -> torch.Tensor:
        """Append ``ids`` to the cached sequence and return the last logits.

        Parameters
        ----------
        ids : sequence of int or torch.Tensor, shape (n,)
            New token ids, ``n >= 1``.
        num_logits : int
            How many trailing positions to return logits for (``1 <= num_logits <= n``);
            the LM head is only evaluated there.

        Returns
        -------
        torch.Tensor, shape (num_logits, vocab_size), float32
            Row ``i`` is the next-token logits after ``ids[n - num_logits + i]`` (only
        the first ``vocab_limit`` columns when set).
        """
        ids_t = torch.as_tensor(ids, dtype=torch.long).reshape(1, -1)
        if ids_t.shape[1] == 0 or not 1 <= num_logits <= ids_t.shape[1]:
            raise ValueError(f"need 1 <= num_logits ({num_logits}) <= len(ids) ({ids_t.shape[1]})")
        out = self.model(
            input_ids=ids_t, past_key_values=self.cache, use_cache=True, logits_to_keep=num_logits
        )
        n = ids_t.shape[1]
        self.tokens.extend(ids_t[0].tolist())
        self.chunk_sizes.extend([n] * n)
        return out.logits[0, -num_logits:, : self.vocab_limit].float()

    def prefill(self, ids: Sequence[int]) -> None:
        """Reset and cache ``ids`` (nothing is computed for an empty sequence)."""
        self.reset()
        if len(ids) > 0:
            self.forward(ids, num_logits=1)

    def crop(self, length: int) -> None:
        """Roll the cache back to its first ``length`` tokens (``DynamicCache.crop``)."""
        current = self.length
        if not 0 <= length <= current:
            raise ValueError(f"cannot crop a cache of {current} tokens to {length}")
        if length < current:
            # transformers 5.x: crop takes minus the number of tokens to remove.
            self.cache.crop(length - current)
            del self.tokens[length:]
            del self.chunk_sizes[length:]

    def key_values(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer ``(keys, values)``, each of shape (1, kv_heads, length, head_dim)."""
        return [(layer.keys, layer.values) for layer in self.cache.layers]
