"""The arrays CAb needs, and a loader for the TeleQnA tables of :mod:`jointbench.datasets.teleqna`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jointbench.datasets.teleqna import data_file


def teleqna_path(n_options: int) -> Path:
    """Path of the shipped TeleQnA file with ``n_options`` (4 or 5) options."""
    return Path(data_file(n_options))


@dataclass(frozen=True)
class CascadeData:
    """Per-question edge and cloud answer distributions of one multiple-choice set.

    Attributes
    ----------
    edge_probs : ndarray of float, shape (N, K)
        Edge model answer distribution p^e(y|x) (rows may sum to < 1).
    cloud_probs : ndarray of float, shape (N, K)
        Cloud model answer distribution p*(y|x), the reference (rows may sum to < 1
        or be all zero).
    answer : ndarray of int, shape (N,)
        Index of the answer-key option.
    gold_valid : ndarray of bool, shape (N,)
        False where the answer key is missing; such rows count in every metric but
        accuracy.
    question_ids : ndarray of str, shape (N,)
        Stable identifiers.
    embeddings : ndarray of float, shape (N, D), or None
        Prompt embeddings, needed only by localized CP.
    name : str
        Label for reports.
    """

    edge_probs: np.ndarray
    cloud_probs: np.ndarray
    answer: np.ndarray
    gold_valid: np.ndarray
    question_ids: np.ndarray
    embeddings: np.ndarray | None = None
    name: str = ""
    prompts: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n, k = self.edge_probs.shape
        if self.cloud_probs.shape != (n, k):
            raise ValueError(
                f"cloud_probs has shape {self.cloud_probs.shape}, edge_probs {(n, k)}."
            )
        for name in ("answer", "gold_valid", "question_ids"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have shape ({n},).")
        if self.embeddings is not None and self.embeddings.shape[0] != n:
            raise ValueError(f"embeddings must have {n} rows.")

    @property
    def n(self) -> int:
        """Number of questions N."""
        return int(self.edge_probs.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of options K."""
        return int(self.edge_probs.shape[1])

    @classmethod
    def from_npz(
        cls, path: str | Path, *, embeddings: str | Path | bool | None = None
    ) -> CascadeData:
        """Load a converted TeleQnA-style ``.npz``.

        Parameters
        ----------
        path : str or Path
            File with ``edge_probs``, ``cloud_probs``, ``answer``, ``gold_valid``,
            ``question_ids`` and optionally ``prompts``.
        embeddings : str, Path, bool or None
            ``True`` loads the cached MiniLM embeddings of this file
            (``<stem>_minilm.npz`` beside it, else ``jointbench/cab/<stem>_minilm.npz``);
            a path loads that file; None/False loads none.
            Cached embeddings are checked against ``question_ids``.
        """
        path = Path(path)
        with np.load(path) as z:
            arrays = {key: z[key] for key in z.files}
        emb = None
        if embeddings:
            from jointbench.cab.embeddings import find_embeddings, load_embeddings

            emb_path = find_embeddings(path) if embeddings is True else Path(embeddings)
            emb = load_embeddings(emb_path, arrays["question_ids"])
        return cls(
            edge_probs=arrays["edge_probs"],
            cloud_probs=arrays["cloud_probs"],
            answer=arrays["answer"].astype(np.int64),
            gold_valid=arrays["gold_valid"].astype(bool),
            question_ids=arrays["question_ids"],
            embeddings=emb,
            name=path.stem,
            prompts=arrays.get("prompts"),
        )


def load_cascade_data(
    n_options: int = 4, *, path: str | Path | None = None, embeddings: str | Path | bool = False
) -> CascadeData:
    """TeleQnA (Qwen2-1.5B edge, Qwen2-7B cloud) as :class:`CascadeData`.

    Parameters
    ----------
    n_options : int
        4 or 5: which shipped table to load when ``path`` is None.
    path : str or Path, optional
        A regenerated table with the same arrays (e.g. from :mod:`jointbench.cab.live`).
    embeddings : bool, str or Path
        See :meth:`CascadeData.from_npz`.
    """
    return CascadeData.from_npz(path or teleqna_path(n_options), embeddings=embeddings)
