"""Tiny random-init Llama pairs: real transformer code paths, no weights, milliseconds.

The model itself is :func:`jointbench.models.tiny_random_lm` (re-exported here).
"""

from __future__ import annotations

import copy

import torch

from jointbench.models import tiny_random_lm
from jointbench.specdec.models import LoadedPair

__all__ = ["tiny_random_lm", "tiny_random_pair"]


def tiny_random_pair(
    vocab_size: int = 256, seed: int = 0, draft_noise: float = 0.02, eos: bool = True
) -> LoadedPair:
    """A target and a same-vocabulary draft derived from it by weight noise.

    Parameters
    ----------
    vocab_size : int
        Shared vocabulary size.
    seed : int
        Seed of the target weights and of the noise.
    draft_noise : float
        Std of the noise added to every draft weight, relative to that tensor's std;
        0 gives a draft identical to the target; 0.02 gives about 55% greedy
        agreement, 0.05 about 25%, 0.2 almost none (vocabulary 256).
    eos : bool
        If False, no EOS id is declared (generations always run to the length limit).
    """
    target = tiny_random_lm(vocab_size=vocab_size, seed=seed)
    draft = copy.deepcopy(target)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in draft.parameters():
            std = float(p.std()) if p.numel() > 1 else 0.0
            p.add_(torch.randn(p.shape, generator=gen) * std * draft_noise)
    return LoadedPair(
        name="tiny-random",
        target=target,
        draft=draft.eval(),
        tokenizer=None,
        eos_token_ids=(0,) if eos else (),
    )
