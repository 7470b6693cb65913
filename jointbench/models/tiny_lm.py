"""The tiny random-init language model of the tests: real transformer code paths, no weights."""

from __future__ import annotations

import string
from typing import Any

import torch

from jointbench.models.errors import require_transformers


def tiny_random_lm(
    vocab_size: int = 256,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    init_std: float = 0.2,
    max_positions: int = 1024,
) -> Any:
    """Build a small random-init Llama causal LM (fp32, eval mode), in milliseconds.

    Parameters
    ----------
    vocab_size : int
        Vocabulary size (token ids ``0 .. vocab_size-1``; id 0 is declared EOS and padding).
    seed : int
        Seed of the weight initialisation (the global torch RNG is left untouched).
    hidden_size, num_layers : int
        Width and depth.
    init_std : float
        Std of the normal init. Larger than Llama's 0.02 so that next-token
        distributions are peaked rather than nearly uniform (near-ties would make
        greedy argmax sensitive to float rounding).
    max_positions : int
        Longest sequence, in tokens.
    """
    tf = require_transformers("tiny-random")
    config = tf.LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
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


def char_tokenizer() -> Any:
    """A character-level fast tokenizer over printable ASCII (id 0 ``<pad>``, id 1 ``<unk>``)."""
    tf = require_transformers("tiny-random")
    from tokenizers import Tokenizer, models

    chars = ["<pad>", "<unk>", *sorted(set(string.printable) - set("\x0b\x0c"))]
    backend = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(chars)}, merges=[], unk_token="<unk>"))
    return tf.PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")


def tiny_random_causal_lm(seed: int = 0) -> tuple[Any, Any]:
    """``load_causal_lm("tiny-random")``: :func:`tiny_random_lm` sized to :func:`char_tokenizer`."""
    tokenizer = char_tokenizer()
    model = tiny_random_lm(vocab_size=len(tokenizer), seed=seed, hidden_size=32, max_positions=2048)
    return model, tokenizer
