"""Test helper: the specdec testenv pointed at three tiny prompts (for small runner-level SD jobs)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def write_tiny_testenv(tmp: Path) -> tuple[Path, Path]:
    """Write ``prompts.jsonl`` (3 TeleQnA-style prompts), an empty train set and ``testenv.yaml`` into ``tmp``.

    Returns
    -------
    (prompts, testenv) : tuple of Path
    """
    prompts = tmp / "prompts.jsonl"
    with prompts.open("w") as fh:
        for i in range(3):
            fh.write(json.dumps({"question": {"index": i, "id": f"q{i}", "kind": "teleqna",
                                              "prompt": f"Question {i}: which option?"}, "answer": "A"}) + "\n")
    (tmp / "train.jsonl").write_text("")
    testenv = yaml.safe_load((REPO / "examples" / "specdec" / "testenv" / "testenv.yaml").read_text())
    testenv["testenv"]["dataset"] = {"train_data": str(tmp / "train.jsonl"), "test_data": str(prompts)}
    for m in testenv["testenv"]["metrics"]:
        m["url"] = str(REPO / m["url"])
    path = tmp / "testenv.yaml"
    path.write_text(yaml.safe_dump(testenv))
    return prompts, path
