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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Iterator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from jointbench.cache import JsonCache  # noqa: E402
from jointbench.specdec.codec import DraftStep  # noqa: E402
from jointbench.specdec.codecs.sqs_codecs import KSQSCodec  # noqa: E402
from jointbench.specdec.session import SpecDecSession  # noqa: E402
from jointbench.specdec import engine  # noqa: E402
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
FORMAT = 3


class _ProbeCodec(KSQSCodec):
    """K-SQS (K=256) that records each drafted position's ``WIDTH`` largest draft probabilities and
    (through :func:`_recording_verify`) the target's probabilities at the same ids."""

    name: ClassVar[str] = f"k_sqs_probe_v{FORMAT}"  # its own session-cache key per probe format

    def __init__(self) -> None:
        super().__init__(k=256)
        self.q: list[list[float]] = []
        self.p: list[list[float]] = []
        self.pending: list[torch.Tensor] = []
        self.vocab = 0

    def draft_step(self, q: torch.Tensor, generator: torch.Generator) -> DraftStep:
        flat = q.detach().to(torch.float64).reshape(-1)
        self.vocab = int(flat.numel())
        top = torch.topk(flat, WIDTH)
        self.q.append([float(f"{v:.7g}") for v in top.values.tolist()])
        self.pending.append(top.indices)
        return super().draft_step(q, generator)


@contextmanager
def _recording_verify(probe: _ProbeCodec) -> Iterator[None]:
    """Wrap the engine's verifier: per drafted position, the target's ``p`` at the probe's top ids."""
    inner = engine.speculative_verify

    def verify(ids: Any, q_hat: Any, p: Any, generator: torch.Generator) -> tuple[int, int]:
        rows = torch.as_tensor(p, dtype=torch.float64).reshape(len(probe.pending) + 1, -1)
        probe.p.extend([float(f"{v:.7g}") for v in rows[i, top].tolist()] for i, top in enumerate(probe.pending))
        probe.pending.clear()
        return inner(ids, q_hat, p, generator)

    engine.speculative_verify = verify
    try:
        yield
    finally:
        engine.speculative_verify = inner


def heldout_questions() -> list[dict[str, Any]]:
    """The held-out TeleQnA rows (ids not in the judged prompts file), as ``question`` dicts."""
    from jointbench.datasets.sd_prompts import teleqna_rows

    judged = {q["id"] for q in judged_questions()}
    rows = [r for r in teleqna_rows(HELDOUT_TELEQNA + len(judged)) if r["id"] not in judged][:HELDOUT_TELEQNA]
    return [{"index": i, "id": r["id"], "kind": r["kind"], "prompt": r["prompt"]} for i, r in enumerate(rows)]


def judged_questions() -> list[dict[str, Any]]:
    """The benchmark's (judged) prompts."""
    return [json.loads(line)["question"] for line in JUDGED.read_text().splitlines() if line.strip()]


def probe_positions(questions: list[dict[str, Any]], seeds: int) -> dict[str, Any]:
    """Drafted positions of ``questions`` x ``seeds`` at T = 1.5 (cached, ``JsonCache`` ``sqs_probe``).

    Returns ``{"q": (n, WIDTH) top draft probabilities, descending; "p": (n, WIDTH) target
    probabilities at those ids; "unit": (n,) unit index (seed-major); "vocab"; "seconds"; "ids"}``.
    """
    fields = {"pair": "smollm2-135m-int8", "k": 3, "max_new_tokens": 16, "temperature": TEMPERATURE,
              "seeds": seeds, "width": WIDTH, "texts": [q["prompt"] for q in questions]}
    cache = JsonCache("sqs_probe", FORMAT)
    hit = cache.load(**fields)
    if hit is None:
        t0 = time.perf_counter()
        probe, unit = _ProbeCodec(), []
        for s in range(seeds):
            session = SpecDecSession("edge_cloud", pair=fields["pair"], k=3, max_new_tokens=16,
                                     temperature=TEMPERATURE, codec="k_sqs", codec_params={"k": 256},
                                     sample_seed=100 * s, bandwidth_mbps=1.0, hardware="this-cpu/this-cpu",
                                     network={"network_rtt_ms": 10})
            session.strategy = Strategy(session.strategy.placement, session.strategy.policy, probe)
            for q in questions:
                before = len(probe.q)
                with _recording_verify(probe):
                    session.predict(q)
                if len(probe.q) == before or len(probe.p) != len(probe.q):
                    raise RuntimeError(f"query {q['id']} seed {s}: {len(probe.q) - before} positions recorded, "
                                       f"{len(probe.p)} of {len(probe.q)} verified (replayed from the session "
                                       f"cache?): delete the {_ProbeCodec.name} sampled runs and rerun")
                unit.extend([s * len(questions) + int(q["index"])] * (len(probe.q) - before))
        hit = {"q": probe.q, "p": probe.p, "unit": unit, "vocab": probe.vocab,
               "seconds": time.perf_counter() - t0, "ids": [q["id"] for q in questions]}
        cache.store(hit, **fields)
    return {k: np.asarray(v, dtype=np.float64) if k in ("q", "p") else v for k, v in hit.items()}


def heldout_tops() -> tuple[np.ndarray, dict[str, Any]]:
    """Every held-out drafted position's ``WIDTH`` largest draft probabilities (n, WIDTH), and provenance."""
    rec = probe_positions(heldout_questions(), HELDOUT_SEEDS)
    return rec["q"], rec


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
