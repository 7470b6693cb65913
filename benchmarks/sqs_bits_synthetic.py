"""Uplink bits per draft token and rejection rate per draft scheme, on real SmolLM2 distributions.

Not the end-to-end benchmark (that needs the per-cycle loop): here every scheme of
:mod:`jointbench.specdec.sqs` encodes the draft distribution ``q`` of real positions and
the rejection probability is the analytic ``TV(p, q_hat)`` against the target's ``p``
(the exact per-position rejection rate of speculative sampling with ``q_hat``).

Contexts: for each temperature ``T`` in 0.5 / 1.0 / 1.5 and each prompt, the target
samples a continuation at ``T``; both models then score prompt + continuation in one
forward, giving ``(p, q)`` at every continuation position. The logits are saved once
(float16, ``$JOINTBENCH_CACHE/sqs_pairs/<key>.npz``) and re-used by later runs.

    JOINTBENCH_CACHE=/work/cache/me .venv/bin/python benchmarks/sqs_bits_synthetic.py

Targets (from issue 11, the parts that need no network loop):
  1. T = 0.5: K-SQS (K=3) uses >= 50x fewer bits per draft token than dense fp16 and its
     rejection rate is within +0.02 of dense fp16's.
  2. T = 1.5: some C-SQS setting has a lower rejection rate than a K-SQS setting while
     using at most 1.25x its bits ("comparable bits").
Prints one table per temperature, a summary line last; exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from jointbench.cache import atomic_write_bytes, cache_dir, cache_key  # noqa: E402
from jointbench.specdec.sampling import speculative_verify  # noqa: E402
from jointbench.specdec.sqs import DraftScheme, make_scheme  # noqa: E402

PAIRS_FORMAT = 1
TEMPERATURES = (0.5, 1.0, 1.5)
PROMPTS_FILE = Path(__file__).resolve().parents[1] / "examples" / "specdec" / "data" / "sd_prompts.jsonl"
CONFIGS: list[tuple[str, str, dict]] = [
    ("dense-fp32", "dense-fp32", {}),
    ("dense-fp16", "dense-fp16", {}),
    ("lattice-240", "lattice", {"ell": 240}),
    ("ids", "ids", {}),
    ("k-sqs-2", "k-sqs", {"k": 2, "ell": 16}),
    ("k-sqs-3", "k-sqs", {"k": 3, "ell": 16}),
    ("k-sqs-8", "k-sqs", {"k": 8, "ell": 16}),
    ("c-sqs-0.05", "c-sqs", {"alpha": 0.05, "eta": 0.02, "beta1": 0.05, "ell": 16, "ell_per_token": 1.0}),
    ("c-sqs-0.1", "c-sqs", {"alpha": 0.1, "eta": 0.02, "beta1": 0.05, "ell": 16, "ell_per_token": 1.0}),
    ("c-sqs-0.2", "c-sqs", {"alpha": 0.2, "eta": 0.02, "beta1": 0.05, "ell": 16, "ell_per_token": 1.0}),
    # at a K-SQS-like budget: the cap sets the worst case, the threshold spends it where q is flat
    ("k-sqs-16", "k-sqs", {"k": 16, "ell": 16, "ell_per_token": 2.0}),
    ("c-sqs-0.1-k16", "c-sqs", {"alpha": 0.1, "eta": 0.02, "beta1": 0.05, "k_max": 16, "ell": 16,
                                "ell_per_token": 2.0}),
    ("c-sqs-0.1-k32", "c-sqs", {"alpha": 0.1, "eta": 0.02, "beta1": 0.05, "k_max": 32, "ell": 16,
                                "ell_per_token": 2.0}),
]


def _prompts(n: int) -> list[str]:
    rows = [json.loads(line) for line in PROMPTS_FILE.read_text().splitlines() if line.strip()]
    return [r["question"]["prompt"] for r in rows[:n]]


def collect(pair_name: str, n_prompts: int, new_tokens: int,
            seed: int) -> dict[float, list[tuple[np.ndarray, np.ndarray]]]:
    """Per temperature, per prompt: (target logits, draft logits), each (new_tokens, V) float16."""
    key = cache_key("sqs-pairs", PAIRS_FORMAT, pair=pair_name, n_prompts=n_prompts, new_tokens=new_tokens,
                    seed=seed, temperatures=list(TEMPERATURES))
    path = cache_dir() / "sqs_pairs" / f"{key}.npz"
    if not path.is_file():
        from jointbench.specdec.lm import CachedLM
        from jointbench.specdec.models import load_pair
        from jointbench.specdec.tracestore import encode_prompt

        pair = load_pair(pair_name)
        vocab = min(int(m.config.vocab_size) for m in (pair.target, pair.draft))
        arrays: dict[str, np.ndarray] = {}
        for ti, temp in enumerate(TEMPERATURES):
            for pi, text in enumerate(_prompts(n_prompts)):
                ids = encode_prompt(pair, text)
                gen = torch.Generator().manual_seed(seed + 1000 * ti + pi)
                lm = CachedLM(pair.target, vocab)
                logits = lm.forward(ids)[-1]
                out = list(ids)
                for _ in range(new_tokens):
                    probs = torch.softmax(logits / temp, dim=-1)
                    out.append(int(torch.multinomial(probs, 1, generator=gen)))
                    logits = lm.forward([out[-1]])[-1]
                full = torch.tensor([out])
                with torch.inference_mode():
                    rows = slice(len(ids) - 1, len(out) - 1)
                    tl = pair.target(input_ids=full).logits[0, rows, :vocab].float()
                    dl = pair.draft(input_ids=full).logits[0, rows, :vocab].float()
                arrays[f"t{ti}_p{pi}_target"] = tl.numpy().astype(np.float16)
                arrays[f"t{ti}_p{pi}_draft"] = dl.numpy().astype(np.float16)
        import io

        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())
        print(f"saved (p, q) logits to {path}")
    data = np.load(path)
    return {temp: [(data[f"t{ti}_p{pi}_target"], data[f"t{ti}_p{pi}_draft"]) for pi in range(n_prompts)]
            for ti, temp in enumerate(TEMPERATURES)}


def _softmax(logits: np.ndarray, temp: float) -> np.ndarray:
    z = logits.astype(np.float64) / temp
    e = np.exp(z - z.max())
    return e / e.sum()


def evaluate(sequences: list[tuple[np.ndarray, np.ndarray]], temp: float, scheme: DraftScheme,
             seed: int) -> dict[str, float]:
    """Mean bits, rejection (analytic TV(p, q_hat), and realised by one verification draw per
    position), dropped mass and support size over all positions."""
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    bits, rej, realised, dropped, support, entropy = [], [], [], [], [], []
    for target, draft in sequences:
        scheme.reset()  # a new request
        for t_logits, d_logits in zip(target, draft):
            p, q = _softmax(t_logits, temp), _softmax(d_logits, temp)
            d = scheme.encode(q, rng)
            if len(d.payload) != (d.bits + 7) // 8:
                raise AssertionError(f"{scheme.name}: payload {len(d.payload)} B for {d.bits} bits")
            bits.append(d.bits)
            rej.append(0.5 * float(np.abs(p - d.q_hat).sum()))
            n_acc, _ = speculative_verify([d.token], d.q_hat[None, :], np.stack([p, p]), gen)
            realised.append(float(n_acc == 0))
            dropped.append(d.dropped_mass)
            support.append(d.support_size)
            entropy.append(float(-(q[q > 0] * np.log2(q[q > 0])).sum()))
    acc = 1.0 - float(np.mean(rej))
    return {"bits": float(np.mean(bits)), "rejection": float(np.mean(rej)), "realised": float(np.mean(realised)),
            "dropped": float(np.mean(dropped)),
            "support_mean": float(np.mean(support)), "support_median": float(np.median(support)),
            "bits_per_accepted": float(np.mean(bits)) / max(acc, 1e-12), "draft_entropy_bits": float(np.mean(entropy)),
            "positions": len(bits)}


def _csqs_wins(res: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    """(C-SQS, K-SQS) label pairs where C-SQS rejects less with at most 1.25x the bits."""
    return [(c, k) for c in res if c.startswith("c-sqs") for k in res if k.startswith("k-sqs")
            if res[c]["bits"] <= 1.25 * res[k]["bits"] and res[c]["rejection"] < res[k]["rejection"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pair", default="smollm2-135m-int8", help="model pair (configs/models.yaml)")
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args()

    data = collect(args.pair, args.prompts, args.new_tokens, args.seed)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for temp in TEMPERATURES:
        res = {label: evaluate(data[temp], temp, make_scheme(name, **params), args.seed)
               for label, name, params in CONFIGS}
        results[str(temp)] = res
        base = res["dense-fp16"]
        print(f"\nT = {temp}  ({res['ids']['positions']} positions, draft entropy "
              f"{res['ids']['draft_entropy_bits']:.2f} bit, TV(p, q) dense = {res['dense-fp32']['rejection']:.4f})")
        print(f"{'scheme':<14} {'bits/tok':>10} {'fp16/bits':>10} {'rejection':>10} {'d_rej':>8} "
              f"{'realised':>9} {'bits/acc':>10} {'dropped':>8} {'|S| mean':>9} {'|S| med':>8}")
        for label, r in res.items():
            print(f"{label:<14} {r['bits']:>10.1f} {base['bits'] / r['bits']:>10.1f} {r['rejection']:>10.4f} "
                  f"{r['rejection'] - base['rejection']:>+8.4f} {r['realised']:>9.3f} {r['bits_per_accepted']:>10.1f} "
                  f"{r['dropped']:>8.4f} {r['support_mean']:>9.1f} {r['support_median']:>8.0f}")

    low, high = results["0.5"], results["1.5"]
    ratio = low["dense-fp16"]["bits"] / low["k-sqs-3"]["bits"]
    d_rej = low["k-sqs-3"]["rejection"] - low["dense-fp16"]["rejection"]
    ok1 = ratio >= 50 and d_rej <= 0.02
    for temp in TEMPERATURES:
        wins = _csqs_wins(results[str(temp)])
        print(f"T={temp}: C-SQS with lower rejection than K-SQS at <= 1.25x its bits: "
              f"{', '.join(f'{c} < {k}' for c, k in wins) or 'none'}")
    ok2 = bool(_csqs_wins(high))
    if args.out:
        args.out.write_text(json.dumps({"pair": args.pair, "results": results}, indent=1))
    print(f"SUMMARY pair={args.pair} T=0.5: k-sqs-3 {ratio:.0f}x fewer bits than dense-fp16 (target >= 50), "
          f"rejection {d_rej:+.4f} vs dense (target <= +0.02): {'ok' if ok1 else 'MISSED'}; "
          f"T=1.5 C-SQS lower rejection at comparable bits: {'ok' if ok2 else 'MISSED'}")
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
