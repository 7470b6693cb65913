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
from dataclasses import dataclass

import numpy as np

DATA_DIR = os.path.dirname(os.path.abspath(__file__))
LETTERS = "ABCDE"


@dataclass(frozen=True)
class TeleQnA:
    """One option-count subset of TeleQnA with cached model distributions.

    Attributes
    ----------
    n_options : int
        4 or 5.
    prompts : numpy.ndarray of str, shape (n,)
        Question text followed by ``A. ...`` option lines.
    question_ids : numpy.ndarray of str, shape (n,)
        TeleQnA ids, e.g. ``"question 100"``.
    answer : numpy.ndarray of int64, shape (n,)
        Index of the correct option (0 = A).
    answer_valid : numpy.ndarray of bool, shape (n,)
        False for the 3 five-option rows whose key is missing in the source.
    edge_probs, cloud_probs : numpy.ndarray of float32, shape (n, n_options)
        Answer frequencies of the edge (Qwen2-1.5B) and cloud (Qwen2-7B) models.
    """

    n_options: int
    prompts: np.ndarray
    question_ids: np.ndarray
    answer: np.ndarray
    answer_valid: np.ndarray
    edge_probs: np.ndarray
    cloud_probs: np.ndarray

    def __len__(self) -> int:
        return int(self.answer.shape[0])

    def answer_letters(self) -> list[str]:
        """The answer key as letters; ``""`` where the key is missing."""
        return [LETTERS[a] if ok else "" for a, ok in zip(self.answer, self.answer_valid)]


def data_file(n_options: int) -> str:
    """Path of the shipped ``.npz`` for ``n_options`` (4 or 5)."""
    if n_options not in (4, 5):
        raise ValueError(f"n_options must be 4 or 5, got {n_options!r}")
    return os.path.join(DATA_DIR, f"teleqna_{n_options}opt.npz")


@functools.lru_cache(maxsize=4)
def load_teleqna(n_options: int = 4, path: str | None = None) -> TeleQnA:
    """Load the 4- or 5-option subset (cached per process).

    Parameters
    ----------
    n_options : int
        4 (1723 questions) or 5 (3224 questions).
    path : str, optional
        An ``.npz`` with the same arrays, e.g. tensors regenerated for another model pair.
    """
    file = path or data_file(n_options)
    if not os.path.isfile(file):
        raise FileNotFoundError(f"TeleQnA data file not found: {file}")
    with np.load(file) as z:
        return TeleQnA(
            n_options=int(z["edge_probs"].shape[1]),
            prompts=z["prompts"],
            question_ids=z["question_ids"],
            answer=z["answer"],
            answer_valid=z["gold_valid"],
            edge_probs=z["edge_probs"],
            cloud_probs=z["cloud_probs"],
        )


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
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for row in chosen:
            if not data.answer_valid[row]:
                continue
            q = {"index": n, "row": int(row), "qid": str(data.question_ids[row]),
                 "n_options": n_options, "prompt": str(data.prompts[row])}
            fh.write(json.dumps({"question": q, "answer": letters[row]}, ensure_ascii=False) + "\n")
            n += 1
    return n
