"""Edge and cloud 'models' that replay cached TeleQnA answer distributions.

The shipped tensors are the answer frequencies of Qwen2-1.5B (edge) and Qwen2-7B
(cloud) over 10 sampled answers per question; replaying them gives exactly the
models' recorded behaviour without running them.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from jointbench.confidence import top1
from jointbench.datasets.teleqna import LETTERS, TeleQnA, load_teleqna
from jointbench.records import SampleRecord


def parse_question(x: Any) -> Mapping[str, Any]:
    """Return the question dict of a TeleQnA jsonl row (``row``, ``index``, ``qid``, ``prompt``).

    Raises
    ------
    TypeError
        If ``x`` is not such a dict (e.g. a plain prompt string).
    """
    if isinstance(x, Mapping) and "row" in x:
        return x
    raise TypeError(f"expected a TeleQnA question dict with a 'row' key, got {type(x).__name__}: {str(x)[:80]!r}")


class CachedAnswerModel:
    """Answers TeleQnA questions from a cached probability table.

    Parameters
    ----------
    role : {"edge", "cloud"}
        Which table to replay and which route to report.
    n_options : int
        4 or 5.
    data_file : str, optional
        A regenerated ``.npz`` (same arrays) instead of the shipped one.
    """

    def __init__(self, role: str, n_options: int = 4, data_file: str | None = None) -> None:
        if role not in ("edge", "cloud"):
            raise ValueError(f"role must be 'edge' or 'cloud', got {role!r}")
        self.role = role
        self.data: TeleQnA = load_teleqna(n_options, data_file)
        self.table: np.ndarray = self.data.edge_probs if role == "edge" else self.data.cloud_probs

    def answer(self, x: Any) -> SampleRecord:
        """Replay the answer to one question as a :class:`SampleRecord`."""
        q = parse_question(x)
        row = int(q["row"])
        if not 0 <= row < len(self.data):
            raise IndexError(f"question row {row} outside the {len(self.data)}-row table")
        probs = self.table[row]
        idx, conf, tied = top1(probs)
        return SampleRecord(
            sample_id=str(q.get("qid", row)),
            sample_index=int(q["index"]) if "index" in q else None,
            prediction=LETTERS[int(idx[0])],
            route="edge" if self.role == "edge" else "cloud",
            extras={"confidence": float(conf[0]), "n_tied_top": int(tied[0]),
                    "probs": [float(p) for p in probs]},
        )
