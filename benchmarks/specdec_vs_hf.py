"""Co-located speculative decoding: jointbench's engine vs transformers' assisted generation.

Same SmolLM2-135M-Instruct pair (fp32 target; int8-dynamic or bf16 draft), same
prompts, same constant draft length K, greedy. Checks that both produce identical
tokens (and identical to the target alone) and prints the engine/HF tokens-per-second
ratio (target >= 1.0). Runs are interleaved, and which side runs first alternates
between repetitions, so machine load and cache warmth hit both alike; both sides are
timed around the whole generation with the same clock and thread count. The engine's
default ``draft_feed="chunk"`` feeds the draft exactly as transformers does, so both
run the same forwards (counted and printed): the ratio measures engine overhead, not
luck in a dynamic-int8 draft's chunking.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/specdec_vs_hf.py --draft int8 --k 3

A benchmark, not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from jointbench.specdec.engine import SpecDecoder  # noqa: E402
from jointbench.specdec.models import load_pair  # noqa: E402
from jointbench.specdec import FixedK  # noqa: E402

PROMPTS = [
    "Explain in a short paragraph why the sky is blue.",
    "Write a Python function that returns the n-th Fibonacci number.",
    "Give three tips for writing a good scientific abstract.",
    "What are the main differences between TCP and UDP?",
]


class ForwardCounter:
    """Counts target and draft forward calls per side (one cheap hook each, both sides alike)."""

    def __init__(self, target, draft) -> None:
        self.side = "none"
        self.reset()
        target.register_forward_pre_hook(lambda *_: self._count(0))
        draft.register_forward_pre_hook(lambda *_: self._count(1))

    def reset(self) -> None:
        self.calls = {"ours": [0, 0], "hf": [0, 0], "none": [0, 0]}

    def _count(self, which: int) -> None:
        self.calls[self.side][which] += 1


def hf_assisted(target, draft, prompt: list[int], max_new: int, k: int, eos: int | None) -> tuple[list[int], float]:
    """transformers' assisted generation with a constant K and no confidence early stop."""
    # transformers reads these from the *assistant's* generation config.
    draft.generation_config.num_assistant_tokens = k
    draft.generation_config.num_assistant_tokens_schedule = "constant"
    draft.generation_config.assistant_confidence_threshold = 0.0
    ids = torch.tensor([prompt])
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = target.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            assistant_model=draft,
            do_sample=False,
            max_new_tokens=max_new,
            pad_token_id=eos,
        )
    return out[0, len(prompt) :].tolist(), time.perf_counter() - t0


def hf_greedy(target, prompt: list[int], max_new: int, eos: int | None) -> tuple[list[int], float]:
    ids = torch.tensor([prompt])
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = target.generate(
            ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=max_new, pad_token_id=eos
        )
    return out[0, len(prompt) :].tolist(), time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draft", choices=["int8", "bf16"], default="int8")
    parser.add_argument("--k", type=int, nargs="+", default=[3])
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--prompts", type=int, default=3, help=f"how many of the {len(PROMPTS)} prompts")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is robust on a shared 2-core box)")
    parser.add_argument("--draft-feed", choices=["chunk", "token"], default="chunk",
                        help="engine's draft catch-up after a full accept (token = exact trace replay)")
    parser.add_argument("--separate-prefill", action="store_true",
                        help="time prefills as own stages (edge-cloud layout) instead of folding them in as HF does")
    parser.add_argument("--min-ratio", type=float, default=1.0, help="engine/HF tokens-per-second target")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    pair = load_pair(f"smollm2-135m-{args.draft}")
    print(f"loaded {pair.name} in {time.perf_counter() - t0:.1f} s {pair.load_s}; threads={args.threads}; "
          f"separate_prefill={args.separate_prefill}; draft_feed={args.draft_feed}; loadavg={os.getloadavg()[0]:.2f}")
    tok = pair.tokenizer
    eos = pair.eos_token_ids[0] if pair.eos_token_ids else None
    prompts = []
    for text in PROMPTS[: args.prompts]:
        ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True)
        prompts.append(list(ids if isinstance(ids, list) else ids["input_ids"]))
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed=args.draft_feed)
    counter = ForwardCounter(pair.target, pair.draft)

    # warm-up (allocator, first-call overheads)
    dec.speculative(prompts[0], 8, FixedK(args.k[0]))
    hf_assisted(pair.target, pair.draft, prompts[0], 8, args.k[0], eos)

    refs = {}
    for i, p in enumerate(prompts):
        refs[i] = dec.cloud_only(p, args.max_new_tokens).tokens
        hf_tokens, _ = hf_greedy(pair.target, p, args.max_new_tokens, eos)
        assert hf_tokens == refs[i], f"prompt {i}: engine cloud-only differs from HF greedy"

    all_identical, ratios = True, []
    for k in args.k:
        ours_s, hf_s, n_tokens, acc, drafted = [], [], 0, 0, 0
        counter.reset()
        for rep in range(args.repeats):
            for i, p in enumerate(prompts):
                def ours():
                    counter.side = "ours"
                    t0 = time.perf_counter()
                    out = dec.speculative(p, args.max_new_tokens, FixedK(k), separate_prefill=args.separate_prefill)
                    return out, time.perf_counter() - t0

                def hf():
                    counter.side = "hf"
                    return hf_assisted(pair.target, pair.draft, p, args.max_new_tokens, k, eos)

                if rep % 2 == 0:
                    res, ours_t = ours()
                    hf_tokens, hf_t = hf()
                else:
                    hf_tokens, hf_t = hf()
                    res, ours_t = ours()
                same = res.tokens == hf_tokens == refs[i]
                all_identical &= same
                if not same:
                    print(f"  K={k} prompt {i}: TOKENS DIFFER (engine==ref {res.tokens == refs[i]}, "
                          f"hf==ref {hf_tokens == refs[i]})")
                ours_s.append(ours_t)
                hf_s.append(hf_t)
                n_tokens += len(res.tokens)
                acc, drafted = acc + res.accepted, drafted + res.drafted
        ours_tps, hf_tps = n_tokens / sum(ours_s), n_tokens / sum(hf_s)
        ratios.append(ours_tps / hf_tps)
        print(f"K={k}: engine {ours_tps:.1f} tok/s, HF assisted {hf_tps:.1f} tok/s, ratio {ours_tps / hf_tps:.3f} "
              f"(median per-run ratio {statistics.median(h / o for o, h in zip(ours_s, hf_s)):.3f}); "
              f"acceptance {acc / drafted:.3f}; {n_tokens} tokens")
        print(f"  forwards (target, draft): engine {counter.calls['ours']}, HF {counter.calls['hf']}")
    ok = all_identical and min(ratios) >= args.min_ratio
    print(f"tokens identical (engine == HF assisted == target greedy): {all_identical}; engine/HF ratio "
          f"{', '.join(f'{r:.3f}' for r in ratios)} (target >= {args.min_ratio}); loadavg={os.getloadavg()[0]:.2f}; "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
