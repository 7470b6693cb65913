"""The edge: SmolLM2 answers a multiple-choice question, scores its uncertainty, builds the upload.

**Answering.** The edge scores the options by the next-token distribution at the start of the
assistant turn, restricted to the option letters and renormalised (one forward pass, no decoding
loop: about 0.5-1 s per question on one core for SmolLM2-135M, against several seconds for a
generate-then-parse answer, and on the same support as the cloud's cached distributions, which
token-level fusion needs). The answer is one step, so UTS-1's per-step product is over that step.

**Token uncertainty (UTS-2)** of every prompt token, by name (:data:`TOKEN_SCORES`):
``"mc-dropout"``: mean over hidden dimensions of the variance, across ``mc_passes`` forward
passes with real dropout in the last ``dropout_layers`` blocks, of the final hidden state;
``"entropy"``: the predictive entropy of the next-token distribution at that position.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from jointbench.cache import atomic_write_bytes, cache_dir, cache_key
from jointbench.uncertainty.lm import SplitLM, option_distribution
from jointbench.uncertainty.selection import token_entropy

__all__ = ["LETTERS", "TOKEN_SCORES", "EdgeAnswer", "EdgeLM", "format_prompt"]

LETTERS = "ABCDE"
INSTRUCTION = "Answer with the letter of the correct option."
TRUNK_FORMAT = 1
TOKEN_SCORES = ("mc-dropout", "entropy")


def format_prompt(question: str, chatml: bool) -> str:
    """The edge's prompt: the question and its options, then the assistant turn (ChatML if known)."""
    body = f"{question.strip()}\n{INSTRUCTION}"
    if chatml:  # SmolLM2's template without its default system message (20 fewer tokens to prefill)
        return f"<|im_start|>user\n{body}<|im_end|>\n<|im_start|>assistant\n"
    return f"{body}\nAnswer: "


def letter_token_ids(tokenizer: Any) -> list[int]:
    """The token id of each option letter (A, B, …); each letter must be one token."""
    out = []
    for letter in LETTERS:
        ids = tokenizer.encode(letter, add_special_tokens=False)
        if len(ids) != 1:
            raise ValueError(f"tokenizer splits option letter {letter!r} into {ids}; need one token")
        out.append(int(ids[0]))
    return out


@dataclass
class EdgeAnswer:
    """The edge's answer to one question.

    Attributes
    ----------
    option_probs : numpy.ndarray, shape (n,)
        Renormalised probabilities of the option letters.
    answer : int
        ``argmax option_probs`` (0 = A).
    ids : torch.Tensor, shape (T,)
        Prompt token ids.
    hidden : torch.Tensor, shape (T, d)
        Final normed hidden states (the features UTS-2 may upload).
    trunk : torch.Tensor, shape (T, d)
        Frozen trunk output (cached).
    compute_ms : float
        Measured edge compute for this answer (trunk as measured when first computed + tail), ms.
    """

    option_probs: np.ndarray
    answer: int
    ids: torch.Tensor
    hidden: torch.Tensor
    trunk: torch.Tensor
    compute_ms: float


class EdgeLM:
    """SmolLM2 (or the tiny model) answering TeleQnA questions, with a cached frozen trunk.

    Parameters
    ----------
    model, tokenizer
        From :func:`jointbench.uncertainty.lm.load_lm`.
    tail_layers : int
        Blocks after the split (trained by the update; MC dropout uses the last of them).
    model_name : str
        Part of the trunk cache key.
    disk_cache : bool
        Cache trunk outputs under ``<cache>/uts-trunk`` (keyed by model, prompt ids and split).
    """

    def __init__(self, model: Any, tokenizer: Any, tail_layers: int = 4, model_name: str = "model",
                 disk_cache: bool = True) -> None:
        self.lm = SplitLM(model, tail_layers)
        self.tokenizer = tokenizer
        self.chatml = "<|im_start|>" in tokenizer.get_vocab()
        self.letter_ids = letter_token_ids(tokenizer)
        self.disk_cache = disk_cache
        self._mem: dict[str, tuple[torch.Tensor, float]] = {}
        emb = model.model.embed_tokens.weight.detach().reshape(-1)[:4096].numpy().tobytes()
        self.fingerprint = hashlib.sha256(model_name.encode() + emb).hexdigest()[:16]

    @property
    def hidden_size(self) -> int:
        """Width d of the hidden states."""
        return int(self.lm.model.config.hidden_size)

    def prompt_ids(self, question: str) -> torch.Tensor:
        """Token ids (T,) of the formatted prompt."""
        text = format_prompt(question, self.chatml)
        return torch.tensor(self.tokenizer.encode(text, add_special_tokens=False), dtype=torch.long)

    def trunk_of(self, ids: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Trunk output (T, d) for ``ids`` and the ms it took when computed (memory, disk, or now)."""
        key = cache_key("uts-trunk", TRUNK_FORMAT, model=self.fingerprint, split=self.lm.split,
                        ids=hashlib.sha256(ids.numpy().astype("<i8").tobytes()).hexdigest())
        if key in self._mem:
            return self._mem[key]
        path = cache_dir() / "uts-trunk" / f"{key}.npz"
        if self.disk_cache and path.is_file():
            try:
                with np.load(path) as z:
                    hit = (torch.from_numpy(z["h"].copy()), float(z["ms"]))
                self._mem[key] = hit
                return hit
            except (OSError, ValueError, KeyError):
                pass  # unreadable entry: recompute and overwrite
        t0 = time.perf_counter()
        h = self.lm.trunk(ids)
        ms = (time.perf_counter() - t0) * 1000.0
        if self.disk_cache:
            buf = io.BytesIO()
            np.savez(buf, h=h.numpy(), ms=np.float64(ms))
            atomic_write_bytes(path, buf.getvalue())
        self._mem[key] = (h, ms)
        return h, ms

    def option_probs_from_hidden(self, hidden: torch.Tensor, n_options: int) -> torch.Tensor:
        """Option distribution (n,) (or (B, n)) from final hidden states (..., T, d)."""
        return option_distribution(self.lm.logits(hidden[..., -1, :]), self.letter_ids[:n_options])

    @torch.no_grad()
    def answer(self, question: str, n_options: int) -> EdgeAnswer:
        """Answer ``question`` (text with its option lines) among ``n_options`` letters."""
        ids = self.prompt_ids(question)
        trunk, trunk_ms = self.trunk_of(ids)
        t0 = time.perf_counter()
        hidden = self.lm.tail(trunk)
        probs = self.option_probs_from_hidden(hidden, n_options).numpy().astype(np.float64)
        ms = trunk_ms + (time.perf_counter() - t0) * 1000.0
        return EdgeAnswer(probs, int(np.argmax(probs)), ids, hidden, trunk, ms)

    @torch.no_grad()
    def answer_batch(self, questions: list[tuple[str, int]], batch: int = 16) -> np.ndarray:
        """Answers (option index per question) for ``(text, n_options)`` pairs, tails batched.

        Trunk outputs are right-padded with zeros: under the causal mask no real position attends
        to a later (pad) one, so each question's last real position is exactly its unbatched value.
        """
        out = []
        for start in range(0, len(questions), batch):
            chunk = questions[start:start + batch]
            trunks = [self.trunk_of(self.prompt_ids(text))[0] for text, _ in chunk]
            lengths = [t.shape[0] for t in trunks]
            padded = torch.zeros(len(trunks), max(lengths), trunks[0].shape[1])
            for i, t in enumerate(trunks):
                padded[i, :t.shape[0]] = t
            hidden = self.lm.tail(padded)
            last = hidden[torch.arange(len(trunks)), torch.tensor(lengths) - 1]
            logits = self.lm.logits(last)
            for i, (_, n) in enumerate(chunk):
                out.append(int(torch.argmax(logits[i, self.letter_ids[:n]])))
        return np.array(out, dtype=np.int64)

    @torch.no_grad()
    def mc_dropout_variance(self, trunk: torch.Tensor, passes: int = 8, p: float = 0.1,
                            dropout_layers: int = 2, seed: int = 0) -> np.ndarray:
        """Per-token MC-dropout variance (T,): mean over d of the variance over ``passes`` passes."""
        if passes < 2:
            raise ValueError(f"mc_passes: must be >= 2, got {passes}")
        start = self.lm.n_layers - min(int(dropout_layers), self.lm.n_layers - self.lm.split)
        mid = self.lm.partial(trunk, start)
        gen = torch.Generator().manual_seed(int(seed))
        with self.lm.dropout(p, start, gen):
            out = self.lm.tail(mid.unsqueeze(0).expand(passes, -1, -1).contiguous(), start=start)
        return out.var(dim=0, unbiased=False).mean(dim=-1).numpy().astype(np.float64)

    @torch.no_grad()
    def entropy_scores(self, hidden: torch.Tensor) -> np.ndarray:
        """Predictive entropy (nats) of the next-token distribution at every position, (T,)."""
        probs = torch.softmax(self.lm.logits(hidden).double(), dim=-1).numpy()
        return token_entropy(probs)

    def token_scores(self, rule: str, ans: EdgeAnswer, passes: int = 8, p: float = 0.1,
                     dropout_layers: int = 2, seed: int = 0) -> np.ndarray:
        """UTS-2 uncertainty of every prompt token by ``rule`` (one of :data:`TOKEN_SCORES`)."""
        if rule == "mc-dropout":
            return self.mc_dropout_variance(ans.trunk, passes, p, dropout_layers, seed)
        if rule == "entropy":
            return self.entropy_scores(ans.hidden)
        raise ValueError(f"Unknown token score {rule!r}. Available: {', '.join(TOKEN_SCORES)}")
