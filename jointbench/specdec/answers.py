"""Parse a generated answer into what the test set's key is compared with."""

from __future__ import annotations

import re

_LETTER = re.compile(r"\b([A-E])\b")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def parse_option_letter(text: str) -> str | None:
    """First standalone option letter (A-E) in ``text``; ``None`` if there is none."""
    m = _LETTER.search(text or "")
    return m.group(1) if m else None


def parse_final_number(text: str) -> str | None:
    """GSM8K-style final answer: the number after ``####`` or "answer is", else the last number.

    Commas are dropped and a trailing ``.0`` removed, so ``"1,200.0"`` gives ``"1200"``.
    """
    text = text or ""
    for marker in ("####", "answer is", "Answer:"):
        if marker in text:
            nums = _NUMBER.findall(text.split(marker)[-1])
            if nums:
                return _canon(nums[0])
    nums = _NUMBER.findall(text)
    return _canon(nums[-1]) if nums else None


def _canon(num: str) -> str:
    num = num.replace(",", "")
    if "." in num:
        num = num.rstrip("0").rstrip(".")
    return num


def parse_answer(kind: str, text: str) -> str | None:
    """Dispatch on the task kind: ``"teleqna"`` (option letter) or ``"gsm8k"`` (number)."""
    if kind == "gsm8k":
        return parse_final_number(text)
    return parse_option_letter(text)
