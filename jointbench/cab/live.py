"""Live mode: regenerate CAb's edge/cloud answer tables from real causal LMs.

The shipped TeleQnA tables are the answer frequencies of Qwen2-1.5B (edge) and Qwen2-7B
(cloud) over 10 answers per question, with the option order shuffled for each answer.
This module makes the same kind of table for any pair of causal LMs:

1. for question i, draw P permutations of its K options (seeded);
2. show each permuted question (letters A.. in the shown order) and read the model's
   next-token logits of the option letters (" A" and "A" pooled);
3. take the answer: the top letter (``decode="greedy"``) or a letter sampled from the
   softmax over the K letter logits at ``temperature`` (``decode="sample"``, seeded);
4. map the shown letter back to the option's original position and count.

Row i of the table is counts / P, over the options in their original (alphabetical)
order, so rows sum to 1: restricting the answer to the letters means every answer
parses, where the authors' free-text answers sometimes lost mass. The result is an
``.npz`` with the keys of :mod:`jointbench.datasets.teleqna` (``prompts``,
``question_ids``, ``answer``, ``gold_valid``, ``edge_probs``, ``cloud_probs``); give it to
the CAb example as the ``CAbTrialProcessor``'s ``data_file_path``.

    python -m jointbench.cab.live --edge smollm2-135m --cloud gemma3-270m \\
        --n-questions 20 --permutations 10 --out my.npz
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jointbench.cache import atomic_write_npz
from jointbench.datasets.teleqna import LETTERS, data_file

log = logging.getLogger(__name__)

INSTRUCTION = "Answer with the letter ({letters}) of the correct option only."


def parse_prompt(prompt: str, n_options: int) -> tuple[str, list[str]]:
    """Split a TeleQnA prompt into its question and its ``n_options`` option texts.

    The prompt ends with one ``"<letter>. <text>"`` line per option (see ``prompts`` in
    :mod:`jointbench.datasets.teleqna`).
    """
    lines = prompt.rstrip("\n").split("\n")
    stem, opts = lines[:-n_options], lines[-n_options:]
    options = []
    for letter, line in zip(LETTERS, opts):
        if not line.startswith(f"{letter}. "):
            raise ValueError(f"option line {line!r} does not start with '{letter}. '")
        options.append(line[3:])
    return "\n".join(stem), options


def format_question(stem: str, options: Sequence[str]) -> str:
    """The question with its options lettered A.. in the given order."""
    return "\n".join([stem, *(f"{LETTERS[d]}. {text}" for d, text in enumerate(options))])


def draw_permutations(n_questions: int, n_options: int, n_perms: int, rng: np.random.Generator) -> np.ndarray:
    """``perm[i, p, d]`` = original index of the option shown at position d, shape (N, P, K).

    The first permutation of each question is the identity (the original order).
    """
    perms = np.argsort(rng.random((n_questions, n_perms, n_options)), axis=-1)
    perms[:, 0] = np.arange(n_options)
    return perms


class LetterScorer:
    """Next-token scores of the option letters under a causal LM.

    Parameters
    ----------
    model, tokenizer
        A transformers causal LM and its tokenizer.
    n_options : int
        K: letters A.. of the options.
    chat : bool or None
        Wrap the question in the tokenizer's chat template (None: when it has one).
    batch_size : int
        Prompts per forward pass (left-padded, with explicit position ids).
    """

    def __init__(self, model: Any, tokenizer: Any, n_options: int, chat: bool | None = None,
                 batch_size: int = 8) -> None:
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.chat = bool(getattr(tokenizer, "chat_template", None)) if chat is None else chat
        self.letter_ids = [self._ids(LETTERS[d]) for d in range(n_options)]
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_id = int(pad if pad is not None else 0)

    def _ids(self, letter: str) -> list[int]:
        ids = []
        for text in (letter, " " + letter):
            enc = self.tokenizer.encode(text, add_special_tokens=False)
            if len(enc) == 1 and enc[0] not in ids:
                ids.append(int(enc[0]))
        if not ids:
            raise ValueError(f"the tokenizer has no single token for the letter {letter!r}")
        return ids

    def render(self, question: str) -> str:
        """The full prompt text for one lettered question."""
        letters = ", ".join(LETTERS[: len(self.letter_ids)])
        body = f"{question}\n{INSTRUCTION.format(letters=letters)}"
        if self.chat:
            messages = [{"role": "user", "content": body}]
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return str(text)
        return body + "\nAnswer:"

    @torch.inference_mode()
    def letter_logits(self, questions: Sequence[str]) -> np.ndarray:
        """Letter scores (log-sum-exp of the letter's token logits), shape (len(questions), K)."""
        out = np.empty((len(questions), len(self.letter_ids)), dtype=np.float64)
        for start in range(0, len(questions), self.batch_size):
            texts = [self.render(q) for q in questions[start:start + self.batch_size]]
            encoded = [self.tokenizer.encode(t, add_special_tokens=not self.chat) for t in texts]
            width = max(len(e) for e in encoded)
            ids = torch.full((len(encoded), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(encoded), width), dtype=torch.long)
            for r, e in enumerate(encoded):  # left padding: the next token is at the last column
                ids[r, width - len(e):] = torch.tensor(e, dtype=torch.long)
                mask[r, width - len(e):] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, -1]
            logits = logits.float()
            for d, tok in enumerate(self.letter_ids):
                out[start:start + len(texts), d] = torch.logsumexp(logits[:, tok], dim=-1).numpy()
        return out


def choose(letter_logits: np.ndarray, decode: str, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Shown position chosen per row of (n, K) letter scores: argmax or a seeded sample."""
    if decode == "greedy":
        return np.argmax(letter_logits, axis=-1)
    if decode != "sample":
        raise ValueError(f"decode must be 'greedy' or 'sample', got {decode!r}")
    z = letter_logits / max(float(temperature), 1e-6)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    u = rng.random(len(p))[:, None]
    return np.minimum((u > np.cumsum(p, axis=-1)).sum(axis=-1), p.shape[-1] - 1)


def answer_frequencies(scorer: LetterScorer, questions: Sequence[tuple[str, list[str]]], perms: np.ndarray,
                       decode: str = "sample", temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """Frequency of each original option among the P permuted answers, shape (N, K).

    Parameters
    ----------
    scorer : LetterScorer
    questions : sequence of (stem, options)
        Options in their original order.
    perms : ndarray of int, shape (N, P, K)
        From :func:`draw_permutations`.
    decode : {"greedy", "sample"}
    temperature : float
        Softmax temperature over the letter scores (``decode="sample"``).
    seed : int
        Seeds the sampled answers.
    """
    n, n_perms, k = perms.shape
    texts = [format_question(stem, [opts[j] for j in perms[i, p]])
             for i, (stem, opts) in enumerate(questions) for p in range(n_perms)]
    shown = choose(scorer.letter_logits(texts), decode, temperature, np.random.default_rng(seed))
    original = perms.reshape(n * n_perms, k)[np.arange(n * n_perms), shown].reshape(n, n_perms)
    counts = np.stack([(original == j).sum(axis=1) for j in range(k)], axis=1)
    return counts / n_perms


@dataclass(frozen=True)
class LiveConfig:
    """How the tables are made (stored in the ``.npz`` next to them)."""

    n_options: int = 4
    n_questions: int = 20
    permutations: int = 10
    decode: str = "sample"
    temperature: float = 1.0
    seed: int = 0


def build_table(edge: LetterScorer, cloud: LetterScorer, config: LiveConfig,
                source: str | None = None) -> dict[str, np.ndarray]:
    """Edge and cloud tables for the first ``n_questions`` rows of a TeleQnA table.

    Rows keep their index in the source table, so the shipped Ianvs test sets still
    address them. Both models see the same permutations; their samples use separate seeds.
    """
    with np.load(source or data_file(config.n_options)) as z:
        src = {key: z[key][: config.n_questions] for key in ("prompts", "question_ids", "answer", "gold_valid")}
    questions = [parse_prompt(str(p), config.n_options) for p in src["prompts"]]
    perms = draw_permutations(len(questions), config.n_options, config.permutations,
                              np.random.default_rng(config.seed))
    tables = {}
    for i, (role, scorer) in enumerate((("edge", edge), ("cloud", cloud))):
        t0 = time.perf_counter()
        tables[f"{role}_probs"] = answer_frequencies(scorer, questions, perms, config.decode, config.temperature,
                                                     seed=config.seed + 1 + i).astype(np.float32)
        log.info("%s: %d prompts in %.1f s", role, perms.shape[0] * perms.shape[1], time.perf_counter() - t0)
    return {**src, **tables}


def write_table(path: str | Path, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> Path:
    """Save the table (plus ``meta_*`` entries) and, when the rows are the shipped ones, their embeddings."""
    return atomic_write_npz(path, **arrays, **{f"meta_{k}": np.asarray(str(v)) for k, v in metadata.items()})


def copy_embeddings(table: Path, n_options: int) -> Path | None:
    """Write ``<table stem>_minilm.npz`` beside the table from the shipped MiniLM cache (for LCP)."""
    from jointbench.cab.embeddings import embeddings_path, load_embeddings, save_embeddings

    with np.load(table) as z:
        ids = z["question_ids"]
    shipped = embeddings_path(data_file(n_options))
    if not shipped.exists():
        return None
    with np.load(shipped) as z:
        all_ids = z["question_ids"]
    if not np.array_equal(all_ids[: ids.size], ids):
        return None
    emb = load_embeddings(shipped)[: ids.size]
    return save_embeddings(table.with_name(f"{table.stem}_minilm.npz"), ids, emb)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m jointbench.cab.live", description=__doc__.splitlines()[0])
    parser.add_argument("--edge", default="smollm2-135m", help="edge model: packaged name, HF id or directory")
    parser.add_argument("--cloud", default="smollm2-135m", help="cloud model: packaged name, HF id or directory")
    parser.add_argument("--options", type=int, default=4, choices=(4, 5), help="TeleQnA subset")
    parser.add_argument("--n-questions", type=int, default=20, help="first N questions of the subset")
    parser.add_argument("--permutations", type=int, default=10, help="answers (option shuffles) per question")
    parser.add_argument("--decode", default="sample", choices=("sample", "greedy"))
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--out", required=True, help="output .npz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    from jointbench.models import ModelUnavailable, load_causal_lm

    config = LiveConfig(args.options, args.n_questions, args.permutations, args.decode, args.temperature,
                        args.seed)
    try:
        scorers = [LetterScorer(*load_causal_lm(name), args.options, batch_size=args.batch_size)
                   for name in (args.edge, args.cloud)]
    except ModelUnavailable as err:
        parser.exit(2, f"jointbench.cab.live: {err}\n")
    arrays = build_table(scorers[0], scorers[1], config)
    path = write_table(args.out, arrays, {"edge_model": args.edge, "cloud_model": args.cloud, **vars(config)})
    emb = copy_embeddings(path, args.options)
    acc = {r: float((arrays[f"{r}_probs"].argmax(1) == arrays["answer"])[arrays["gold_valid"]].mean())
           for r in ("edge", "cloud")}
    print(f"wrote {path} ({len(arrays['answer'])} questions x {args.options} options; top-1 accuracy "
          f"edge {acc['edge']:.3f}, cloud {acc['cloud']:.3f})" + (f"; embeddings {emb}" if emb else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
