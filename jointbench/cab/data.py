"""CAb's data: the TeleQnA table (:class:`jointbench.datasets.teleqna.TeleQnA`) with, for
localized CP, its cached prompt embeddings attached."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from jointbench.datasets.teleqna import TeleQnA, data_file, load_teleqna

#: CAb's name for the table type (the same class; kept for type hints and callers).
CascadeData = TeleQnA


def teleqna_path(n_options: int) -> Path:
    """Path of the shipped TeleQnA file with ``n_options`` (4 or 5) options."""
    return Path(data_file(n_options))


def load_cascade_data(
    n_options: int = 4, *, path: str | Path | None = None, embeddings: str | Path | bool = False
) -> TeleQnA:
    """TeleQnA (Qwen2-1.5B edge, Qwen2-7B cloud), optionally with prompt embeddings.

    Parameters
    ----------
    n_options : int
        4 or 5: which shipped table to load when ``path`` is None.
    path : str or Path, optional
        A regenerated table with the same arrays (e.g. from :mod:`jointbench.cab.live`).
    embeddings : bool, str or Path
        ``True`` loads the cached MiniLM embeddings of this file (``<stem>_minilm.npz`` beside
        it, else ``jointbench/cab/<stem>_minilm.npz``); a path loads that file; False loads
        none. Cached embeddings are checked against ``question_ids``.
    """
    file = Path(path) if path is not None else teleqna_path(n_options)
    table = load_teleqna(n_options, str(file))
    if not embeddings:
        return table
    from jointbench.cab.embeddings import find_embeddings, load_embeddings

    emb_path = find_embeddings(file) if embeddings is True else Path(embeddings)
    return replace(table, embeddings=load_embeddings(emb_path, table.question_ids))
