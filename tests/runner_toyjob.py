"""The toy Ianvs job's pieces shared by the runner tests (a unique module name, imported by the tests and
``conftest.py``; tests must not ``import conftest``: another ``conftest`` may have taken that name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "fixtures" / "toyplugins" / "jbtoy_modules.py"

TOY_ROWS = [
    {"id": 0, "conf": 0.9, "guess": "C", "hard": False},
    {"id": 1, "conf": 0.2, "guess": "A", "hard": True},
    {"id": 2, "conf": 0.7, "guess": "B", "hard": False},
    {"id": 3, "conf": 0.1, "guess": "C", "hard": True},
]
TOY_ANSWERS = ["C", "C", "B", "D"]


def _module(mtype: str, name: str, hps: dict[str, list[Any]] | None = None, url: str | None = None) -> dict:
    entry: dict[str, Any] = {"type": mtype, "name": name, "url": url or str(TOY)}
    if hps:
        entry["hyperparameters"] = [{k: {"values": v}} for k, v in hps.items()]
    return entry


module = _module
