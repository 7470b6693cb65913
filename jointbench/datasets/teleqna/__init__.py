"""TeleQnA multiple-choice questions with cached Qwen2 answer distributions.

Source: the CAb authors' cached results (arXiv 2510.17543), shipped in the suite as
``teleqna_{4,5}opt.npz``. Per question, ``edge_probs`` (Qwen2-1.5B-Instruct) and
``cloud_probs`` (Qwen2-7B-Instruct) are the empirical answer frequencies over 10
sampled answers with the option order permuted each time; rows may sum to less than
1 where answers could not be parsed. ``answer`` is the TeleQnA key, as an index into
the alphabetically ordered options of ``prompts``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jointbench.cache import atomic_write_text

DATA_DIR = os.path.dirname(os.path.abspath(__file__))
LETTERS = "ABCDE"


@dataclass(frozen=True)
class TeleQnA:
    """Per-question edge and cloud answer distributions of one multiple-choice set.

    The one table class of the suite: the confidence cascade replays it, CAb runs its trials
    on it (with ``embeddings`` attached for localized CP).

    Attributes
    ----------
    edge_probs, cloud_probs : numpy.ndarray of float, shape (N, K)
        Answer frequencies of the edge (Qwen2-1.5B) and cloud (Qwen2-7B) models (float32 in
        the shipped files; rows may sum to < 1, a cloud row may be all zero).
    answer : numpy.ndarray of int64, shape (N,)
        Index of the answer-key option (0 = A).
    gold_valid : numpy.ndarray of bool, shape (N,)
        False where the answer key is missing (3 five-option rows); such rows count in
        every metric but accuracy.
    question_ids : numpy.ndarray of str, shape (N,)
        TeleQnA ids, e.g. ``"question 100"``.
    prompts : numpy.ndarray of str, shape (N,), or None
        Question text followed by ``A. ...`` option lines.
    embeddings : numpy.ndarray of float, shape (N, D), or None
        Prompt embeddings (CAb's localized CP attaches them).
    name : str
        File stem, for reports.
    """

    edge_probs: np.ndarray
    cloud_probs: np.ndarray
    answer: np.ndarray
    gold_valid: np.ndarray
    question_ids: np.ndarray
    prompts: np.ndarray | None = field(default=None, repr=False)
    embeddings: np.ndarray | None = field(default=None, repr=False)
    name: str = ""

    def __post_init__(self) -> None:
        n, k = self.edge_probs.shape
        if self.cloud_probs.shape != (n, k):
            raise ValueError(f"{self.name}: cloud_probs has shape {self.cloud_probs.shape}, edge_probs {(n, k)}.")
        for key in ("answer", "gold_valid", "question_ids"):
            if getattr(self, key).shape != (n,):
                raise ValueError(f"{self.name}: {key} must have shape ({n},).")
        if self.embeddings is not None and self.embeddings.shape[0] != n:
            raise ValueError(f"{self.name}: embeddings must have {n} rows.")

    def __len__(self) -> int:
        return self.n

    @property
    def n(self) -> int:
        """Number of questions N."""
        return int(self.edge_probs.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of options K (4 or 5 for the shipped sets)."""
        return int(self.edge_probs.shape[1])

    @property
    def n_options(self) -> int:
        """Same as :attr:`n_classes`."""
        return self.n_classes

    def answer_letters(self) -> list[str]:
        """The answer key as letters; ``""`` where the key is missing."""
        return [LETTERS[a] if ok else "" for a, ok in zip(self.answer, self.gold_valid)]

    @classmethod
    def from_npz(cls, path: str | os.PathLike[str]) -> TeleQnA:
        """Load a TeleQnA-style ``.npz`` (``edge_probs``, ``cloud_probs``, ``answer``,
        ``gold_valid``, ``question_ids`` and optionally ``prompts``)."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"TeleQnA data file not found: {path}")
        with np.load(path) as z:
            arrays = {key: z[key] for key in z.files}
        return cls(
            edge_probs=arrays["edge_probs"],
            cloud_probs=arrays["cloud_probs"],
            answer=arrays["answer"].astype(np.int64),
            gold_valid=arrays["gold_valid"].astype(bool),
            question_ids=arrays["question_ids"],
            prompts=arrays.get("prompts"),
            name=Path(path).stem,
        )


def data_file(n_options: int) -> str:
    """Path of the shipped ``.npz`` for ``n_options`` (4 or 5)."""
    if n_options not in (4, 5):
        raise ValueError(f"n_options must be 4 or 5, got {n_options!r}")
    return os.path.join(DATA_DIR, f"teleqna_{n_options}opt.npz")


@functools.lru_cache(maxsize=4)
def load_teleqna(n_options: int = 4, path: str | None = None) -> TeleQnA:
    """Load the 4- or 5-option subset (cached per process; do not modify the arrays).

    Parameters
    ----------
    n_options : int
        4 (1723 questions) or 5 (3224 questions).
    path : str, optional
        An ``.npz`` with the same arrays, e.g. tensors regenerated for another model pair.
    """
    return TeleQnA.from_npz(path or data_file(n_options))


def write_jsonl(path: str, n_options: int = 4, rows: "np.ndarray | None" = None) -> int:
    """Write an Ianvs test set: one ``{"question": {...}, "answer": "<letter>"}`` per line.

    ``question`` is a dict (Ianvs passes dicts through as an object array, contract
    C10) with ``index`` (line number, so metrics can align labels), ``row`` (row of
    the cached tables), ``qid``, ``n_options`` and ``prompt``. Rows without a valid
    answer key are left out.

    Returns
    -------
    int
        Number of lines written.
    """
    import json

    data = load_teleqna(n_options)
    letters = data.answer_letters()
    chosen = np.arange(len(data)) if rows is None else np.asarray(rows)
    lines: list[str] = []
    for row in chosen:
        if not data.gold_valid[row]:
            continue
        q = {"index": len(lines), "row": int(row), "qid": str(data.question_ids[row]),
             "n_options": n_options, "prompt": str(data.prompts[row])}
        lines.append(json.dumps({"question": q, "answer": letters[row]}, ensure_ascii=False) + "\n")
    atomic_write_text(path, "".join(lines))
    return len(lines)
