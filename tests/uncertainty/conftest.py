"""Tiny random edge LM and a small synthetic TeleQnA for the UTS tests (milliseconds, offline)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jointbench.datasets.teleqna import TeleQnA


@pytest.fixture
def tiny_edge():
    """An :class:`EdgeLM` over the 2-layer random Llama with a character tokenizer (tail = 1 block)."""
    from jointbench.uncertainty.edge import EdgeLM
    from jointbench.uncertainty.lm import load_lm

    torch.set_num_threads(1)
    model, tok = load_lm("tiny-random")
    return EdgeLM(model, tok, tail_layers=1, model_name="tiny-random", disk_cache=False)


@pytest.fixture
def tiny_teleqna() -> TeleQnA:
    """Eight 4-option questions; the cloud is right on every row but the last (an empty row)."""
    n = 8
    prompts = np.array([f"Q{i}: which {i}?\nA. a{i}\nB. b\nC. c\nD. d" for i in range(n)])
    answer = np.arange(n) % 4
    cloud = np.eye(4, dtype=np.float32)[answer] * 0.9
    cloud[-1] = 0.0
    return TeleQnA(edge_probs=np.full((n, 4), 0.25, np.float32), cloud_probs=cloud,
                   answer=answer.astype(np.int64), gold_valid=np.ones(n, dtype=bool),
                   question_ids=np.array([f"q{i}" for i in range(n)]), prompts=prompts)
