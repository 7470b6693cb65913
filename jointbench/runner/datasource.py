"""Test-set loading with the shapes sedna produces (``.x`` and ``.y`` numpy arrays)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from jointbench.runner.errors import RunnerError


@dataclass
class DataSource:
    """What a ``dataset_processor`` receives and may return: ``x`` inputs, ``y`` labels.

    Attributes
    ----------
    x : numpy.ndarray, shape (n,)
        Inputs: ``<U`` strings, an object array of dicts, or a 2-D array for list inputs.
    y : numpy.ndarray, shape (n,)
        Labels (the jsonl ``answer`` field).
    data_type : str
        ``"inference"`` for the test set given to modules, ``"eval overall"`` for metrics.
    """

    x: Any
    y: Any
    data_type: str = "inference"

    def __len__(self) -> int:
        return len(self.x)

    def num_examples(self) -> int:
        """Number of samples (sedna's ``BaseDataSource`` API)."""
        return len(self.x)


def _read_jsonl(path: str) -> tuple[list[Any], list[Any]]:
    xs: list[Any] = []
    ys: list[Any] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise RunnerError(f"{path}:{lineno}: not valid JSON: {err}") from err
            for key in ("question", "answer"):
                if key not in row:
                    raise RunnerError(f"{path}:{lineno}: row has no '{key}' key (Ianvs needs "
                                      f"'question' and 'answer' in every row)")
            xs.append(row["question"])
            ys.append(row["answer"])
    return xs, ys


def _read_metadata(path: str) -> tuple[list[Any], list[Any]]:
    with open(path, encoding="utf-8") as fh:
        meta = json.load(fh)
    for key in ("dataset", "description", "level_1_dim", "level_2_dim"):
        if key not in meta:
            raise RunnerError(f"{path}: metadata.json has no '{key}' key")
    data_file = path.replace("metadata.json", "data.jsonl")
    xs: list[Any] = []
    ys: list[Any] = []
    with open(data_file, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            xs.append(row.get("prompt", "") + row["query"])
            ys.append(row["response"])
    return xs, ys


def _read_index(path: str) -> tuple[list[Any], list[Any]]:
    # Ianvs rewrites every token, the label included, into a path against the index folder.
    base = os.path.dirname(path)
    xs: list[Any] = []
    ys: list[Any] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            tokens = [os.path.abspath(os.path.join(base, t)) for t in line.split()]
            if not tokens:
                continue
            xs.append(tokens[0])
            ys.append(tokens[1] if len(tokens) > 1 else "")
    return xs, ys


def load_test_set(path: str, kind: str, data_type: str = "inference") -> DataSource:
    """Load the test set like sedna: ``np.array(questions)``, ``np.array(answers)``.

    Parameters
    ----------
    path : str
        The testenv's test file.
    kind : {"jsonl", "metadata", "index"}
        Which testenv key named it.
    data_type : str
        Passed through to the :class:`DataSource`.
    """
    readers = {"jsonl": _read_jsonl, "metadata": _read_metadata, "index": _read_index}
    xs, ys = readers[kind](path)
    return DataSource(np.array(xs), np.array(ys), data_type)
