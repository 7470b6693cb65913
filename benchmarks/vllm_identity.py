"""T=0 identity on a real vLLM server: edge-cloud against the vLLM backend = cloud-only, token for token.

Needs vLLM in its own venv (``bash scripts/install_vllm.sh``). Starts, on 127.0.0.1 only:

1. vLLM's OpenAI server on the pair's converted fp32 target directory (readiness: ``/health``);
2. the suite's cloud service with ``--backend vllm`` bridging frames to ``/v1/completions``;

then serves each root prompt with the suite's loop and the two-process source: edge-cloud
(fixed ``K`` and the heuristic: the draft here, greedy verification by vLLM's prompt logprobs) and
cloud-only (vLLM decodes). Prints, per strategy, how many prompts gave tokens identical to
vLLM's cloud-only output (and to the in-process HF target's, for information: fp32 engines may
split near-ties differently), the mean verify round trip, a summary line last; exit 1 when an
edge-cloud output differs from vLLM cloud-only.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vllm_identity.py --prompts 16 --max-new-tokens 32
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT_PROMPTS = Path(__file__).resolve().parents[1] / "examples" / "specdec" / "data" / "sd_prompts.jsonl"


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="smollm2-135m-int8")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--ready-timeout-s", type=float, default=600.0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from jointbench.specdec.loop import run_query
    from jointbench.specdec.models import default_cache_dir
    from jointbench.specdec.policy import make_policy
    from jointbench.specdec.strategy import Strategy
    from jointbench.specdec.tracestore import get_pair, get_trace
    from jointbench.specdec.transport.client import CloudClient
    from jointbench.specdec.transport.lifecycle import ServiceProcess
    from jointbench.specdec.transport.remote import remote_strategy
    from jointbench.specdec.transport.vllm_backend import vllm_command, vllm_python

    python = vllm_python()
    if python is None:
        print("SUMMARY vllm_identity: vLLM is not installed (bash scripts/install_vllm.sh); SKIP")
        return 0
    pair = get_pair(args.pair)
    vocab = min(int(m.config.get_text_config().vocab_size) for m in (pair.target, pair.draft))
    model_dir = next(p for p in sorted(default_cache_dir().glob("smollm2-135m-instruct-*"))
                     if (p / "config.json").is_file())
    rows = [json.loads(line) for line in ROOT_PROMPTS.read_text().splitlines() if line.strip()][: args.prompts]
    traces = [get_trace(args.pair, r["question"]["prompt"], args.max_new_tokens) for r in rows]
    port = _free_port()
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
           "VLLM_HOST_IP": "127.0.0.1"}
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    with ServiceProcess(vllm_command(str(python), str(model_dir), port), env=env, ready_url=f"{url}/health",
                        ready_timeout_s=args.ready_timeout_s, stop_timeout_s=20.0):
        ready_s = time.perf_counter() - t0
        bridge = [sys.executable, "-m", "jointbench.specdec.transport.cloud_server", "--pair", args.pair,
                  "--port", "0", "--backend", "vllm", "--vllm-url", url, "--exit-with-parent",
                  "--eos-ids", ",".join(str(i) for i in pair.eos_token_ids)]
        with ServiceProcess(bridge, ready_timeout_s=300.0) as svc, CloudClient(port=svc.port, timeout_s=300.0) as client:
            outputs: dict[str, list[list[int]]] = {}
            verify_ms: dict[str, list[float]] = {}
            strategies = {"cloud-only": ("cloud_only", "fixed"), f"fixed K={args.k}": ("edge_cloud", "fixed"),
                          "heuristic": ("edge_cloud", "heuristic")}
            for label, (placement, policy) in strategies.items():
                outputs[label], verify_ms[label] = [], []
                for trace in traces:
                    base = Strategy.build(placement, make_policy(policy, args.k), "ids_only")
                    real, source = remote_strategy(base, client, pair.draft, pair.eos_token_ids, trace.prompt_ids,
                                                   args.max_new_tokens, vocab_limit=vocab)
                    out = run_query(real, source, None, None, args.max_new_tokens)  # type: ignore[arg-type]
                    outputs[label].append(list(out.tokens))
                    if placement == "edge_cloud":
                        verify_ms[label].extend((m.done_s - m.compute_end_s) * 1e3 for m in source.marks)
                print(f"{label}: served {len(traces)} prompts", flush=True)
    hf = [list(t.target_tokens[: args.max_new_tokens]) for t in traces]
    engine = outputs["cloud-only"]
    ok = True
    for label, outs in outputs.items():
        same_engine = sum(o == e for o, e in zip(outs, engine))
        same_hf = sum(o == h for o, h in zip(outs, hf))
        rt = f"; verify round trip mean {statistics.mean(verify_ms[label]):.0f} ms over {len(verify_ms[label])}" \
            if verify_ms[label] else ""
        print(f"{label:12s}: identical to vLLM cloud-only {same_engine}/{len(outs)}, to HF fp32 cloud-only "
              f"{same_hf}/{len(outs)}{rt}")
        ok &= same_engine == len(outs)
    print(f"SUMMARY vllm_identity pair={args.pair} prompts={len(traces)} max_new_tokens={args.max_new_tokens}: "
          f"edge-cloud (vLLM verify) == vLLM cloud-only on every prompt: {ok}; vLLM ready after {ready_s:.0f} s; "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
