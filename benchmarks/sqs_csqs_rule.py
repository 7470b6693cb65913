"""C-SQS parameters for T = 1.5 chosen by the stated rule on held-out prompts (issue 11, extended grid).

Runs the same per-cycle loop as ``benchmarks/sqs_bits.py`` (SmolLM2 pair, K=3, 16 new tokens,
T = 1.5) on TeleQnA questions that are *not* among the judged prompts
(``examples/specdec-sqs/data/sd_sqs_prompts.jsonl``), records every drafted position's largest
draft probabilities, and applies :func:`jointbench.specdec.sqs_rule.choose` for each cap of the
issue's grid. The recorded probabilities are cached (``JsonCache`` kind ``sqs_heldout``).

    JOINTBENCH_CACHE=/work/cache/me .venv/bin/python benchmarks/sqs_csqs_rule.py

Prints the held-out statistics and the chosen ``codec_params`` per cap; ``sqs_bits.py`` imports
:func:`extended_grid` (one source of the extended settings).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from jointbench.cache import JsonCache  # noqa: E402
from jointbench.specdec.codec import DraftStep  # noqa: E402
from jointbench.specdec.codecs.sqs_codecs import KSQSCodec  # noqa: E402
from jointbench.specdec.session import SpecDecSession  # noqa: E402
from jointbench.specdec.sqs_rule import RuleParams, choose  # noqa: E402
from jointbench.specdec.strategy import Strategy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
JUDGED = ROOT / "examples" / "specdec-sqs" / "data" / "sd_sqs_prompts.jsonl"
TEMPERATURE = 1.5
HELDOUT_TELEQNA = 6  # questions, the first ones of the suite's TeleQnA order that are not judged
HELDOUT_SEEDS = 2
CAPS = (16, 64, 256)
CAP_RATE = 0.05  # rule: the cap cuts at most 5% of held-out positions
MOVE = 0.1  # rule: a one-sd miss of the dropped mass moves beta by 10% of beta*
WIDTH = max(CAPS) + 1  # probabilities kept per position: enough to tell whether the largest cap binds
FORMAT = 1


class _ProbeCodec(KSQSCodec):
    """K-SQS (K=256) that also records each drafted position's ``WIDTH`` largest probabilities."""

    name: ClassVar[str] = "k_sqs_probe"

    def __init__(self) -> None:
        super().__init__(k=256)
        self.tops: list[list[float]] = []

    def draft_step(self, q: torch.Tensor, generator: torch.Generator) -> DraftStep:
        top = torch.topk(q.detach().to(torch.float64).reshape(-1), WIDTH).values
        self.tops.append([float(f"{v:.7g}") for v in top.tolist()])
        return super().draft_step(q, generator)


def heldout_questions() -> list[dict[str, Any]]:
    """The held-out TeleQnA rows (ids not in the judged prompts file), as ``question`` dicts."""
    from jointbench.datasets.sd_prompts import teleqna_rows

    judged = {json.loads(line)["question"]["id"] for line in JUDGED.read_text().splitlines() if line.strip()}
    rows = [r for r in teleqna_rows(HELDOUT_TELEQNA + len(judged)) if r["id"] not in judged][:HELDOUT_TELEQNA]
    return [{"index": i, "id": r["id"], "kind": r["kind"], "prompt": r["prompt"]} for i, r in enumerate(rows)]


def heldout_tops() -> tuple[np.ndarray, dict[str, Any]]:
    """Every held-out drafted position's ``WIDTH`` largest probabilities (n, WIDTH), and provenance."""
    questions = heldout_questions()
    fields = {"pair": "smollm2-135m-int8", "k": 3, "max_new_tokens": 16, "temperature": TEMPERATURE,
              "seeds": HELDOUT_SEEDS, "width": WIDTH, "texts": [q["prompt"] for q in questions]}
    cache = JsonCache("sqs_heldout", FORMAT)
    hit = cache.load(**fields)
    if hit is None:
        t0 = time.perf_counter()
        tops: list[list[float]] = []
        for s in range(HELDOUT_SEEDS):
            session = SpecDecSession("edge_cloud", pair=fields["pair"], k=3, max_new_tokens=16,
                                     temperature=TEMPERATURE, codec="k_sqs", codec_params={"k": 256},
                                     sample_seed=100 * s, bandwidth_mbps=1.0, hardware="this-cpu/this-cpu",
                                     network={"network_rtt_ms": 10})
            probe = _ProbeCodec()
            session.strategy = Strategy(session.strategy.placement, session.strategy.policy, probe)
            for q in questions:
                before = len(probe.tops)
                session.predict(q)
                if len(probe.tops) == before:
                    raise RuntimeError(f"held-out query {q['id']} seed {s} was replayed from the session cache, so "
                                       f"no probabilities were recorded: delete {cache.path(**fields).parent} "
                                       "and the k_sqs_probe sampled runs, then rerun")
            tops.extend(probe.tops)
        hit = {"tops": tops, "seconds": time.perf_counter() - t0, "ids": [q["id"] for q in questions]}
        cache.store(hit, **fields)
    return np.asarray(hit["tops"], dtype=np.float64), {"seconds": hit["seconds"], "ids": hit["ids"]}


def extended_grid() -> dict[str, RuleParams]:
    """The rule's C-SQS setting per cap, labelled ``c-sqs-rule-k<K_max>``."""
    tops, _ = heldout_tops()
    return {f"c-sqs-rule-k{m}": choose(tops, m, CAP_RATE, MOVE) for m in CAPS}


def main() -> int:
    tops, prov = heldout_tops()
    print(f"held-out: TeleQnA {', '.join(prov['ids'])} x {HELDOUT_SEEDS} seeds at T = {TEMPERATURE}: "
          f"{len(tops)} drafted positions (generated in {prov['seconds']:.0f} s)")
    top_mass = tops.cumsum(axis=1)
    for m in CAPS:
        print(f"  top-{m} dropped mass: mean {100 * (1 - top_mass[:, m - 1]).mean():.1f}%, "
              f"median {100 * np.median(1 - top_mass[:, m - 1]):.1f}%")
    print(f"rule: cap binds on <= {100 * CAP_RATE:g}% of positions; alpha = mean dropped at beta*; "
          f"beta1 = beta*; eta = {MOVE:g} beta* / sd(dropped)")
    for label, r in extended_grid().items():
        print(f"  {label}: {r.codec_params()}  (mean |S| {r.support_mean:.1f}, cap {r.cap_pct:.1f}%, "
              f"sd(dropped) {r.dropped_sd:.3f}, {r.positions} positions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
