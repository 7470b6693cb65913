"""Tiny random-init Llama pairs: real transformer code paths, no weights, milliseconds."""

from __future__ import annotations

import copy
from typing import Any

import torch

from jointbench.specdec.models import LoadedPair, require_transformers


def tiny_random_lm(
    vocab_size: int = 256,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    init_std: float = 0.2,
) -> Any:
    """Build a small random-init Llama causal LM (fp32, eval mode), in milliseconds.

    Parameters
    ----------
    vocab_size : int
        Vocabulary size (token ids ``0 .. vocab_size-1``; id 0 is declared EOS).
    seed : int
        Seed of the weight initialisation.
    hidden_size, num_layers : int
        Width and depth.
    init_std : float
        Std of the normal init. Larger than Llama's 0.02 so that next-token
        distributions are peaked rather than nearly uniform (near-ties would make
        greedy argmax sensitive to float rounding).
    """
    tf = require_transformers()
    config = tf.LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        initializer_range=init_std,
        bos_token_id=1,
        eos_token_id=0,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = tf.LlamaForCausalLM(config)
    return model.float().eval()


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
