"""The vLLM backend: verdict parsing, a fake OpenAI server built on the tiny target, real vLLM if installed."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import torch

from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.policies.fixed import FixedK
from jointbench.specdec.transport.client import CloudError
from jointbench.specdec.transport.vllm_backend import (
    OpenAICompletions,
    VllmSession,
    default_vllm_venv,
    parse_greedy_verdict,
    vllm_python,
)

from transport_helpers import PROMPT, InProcessClient, serve


def reply(rows: list[Any], token_ids: list[int]) -> dict[str, Any]:
    return {"choices": [{"prompt_logprobs": rows, "token_ids": token_ids}]}


def test_parse_greedy_verdict_follows_the_ranks() -> None:
    rows = [None, {"7": {"logprob": -0.1, "rank": 1}},
            {"8": {"logprob": -0.2, "rank": 1}},
            {"9": {"logprob": -3.0, "rank": 4}, "5": {"logprob": -0.3, "rank": 1}},
            {"4": {"logprob": -0.1, "rank": 1}}]
    assert parse_greedy_verdict(reply(rows, [11]), 1, [7, 8, 9, 4]) == (2, 5)  # rejected at the 3rd
    assert parse_greedy_verdict(reply(rows, [11]), 1, [7, 8]) == (2, 11)  # all accepted: bonus token
    assert parse_greedy_verdict(reply(rows, [11]), 1, []) == (0, 11)
    with pytest.raises(ValueError, match="lacks the drafted token"):
        parse_greedy_verdict(reply(rows, [11]), 1, [3])


def test_only_loopback_engines() -> None:
    with pytest.raises(ValueError, match="loopback"):
        OpenAICompletions("http://10.0.0.1:8000")


class FakeEngine:
    """A /v1/completions server answering like vLLM (prompt_logprobs, token_ids) from a HF model."""

    def __init__(self, model: Any) -> None:
        self.model = model
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                out = json.dumps(engine.complete(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @torch.inference_mode()
    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = list(body["prompt"])
        rows: list[Any] = [None]
        if body.get("prompt_logprobs"):
            logp = torch.log_softmax(self.model(torch.tensor([ids])).logits[0].float(), -1)
            for i in range(1, len(ids)):
                row = logp[i - 1]
                actual = float(row[ids[i]])
                top = int(row.argmax())
                rows.append({str(ids[i]): {"logprob": actual, "rank": 1 + int((row > actual).sum())},
                             str(top): {"logprob": float(row[top]), "rank": 1}})
        out: list[int] = []
        for _ in range(body["max_tokens"]):
            out.append(int(self.model(torch.tensor([ids + out])).logits[0, -1].argmax()))
        return {"choices": [{"prompt_logprobs": rows, "token_ids": out}]}


@pytest.fixture(scope="module")
def engine(tiny_pair) -> Iterator[FakeEngine]:
    fake = FakeEngine(tiny_pair.target)
    yield fake
    fake.server.shutdown()


def test_speculative_against_the_engine_equals_cloud_only(tiny_pair, engine) -> None:
    n_new = 16
    ref = SpecDecoder(tiny_pair.target, None, tiny_pair.eos_token_ids).cloud_only(PROMPT, n_new).tokens
    client = InProcessClient(VllmSession(OpenAICompletions(engine.url), tiny_pair.eos_token_ids))
    out, _ = serve(client, tiny_pair, PROMPT, n_new, policy=FixedK(3))
    assert out.tokens == ref
    assert any(c.accepted < c.drafted for c in out.cycles)  # rejections were exercised
    assert serve(client, tiny_pair, PROMPT, n_new, strategy="cloud_only")[0].tokens == ref


def test_sampling_mode_is_refused(tiny_pair, engine) -> None:
    client = InProcessClient(VllmSession(OpenAICompletions(engine.url), tiny_pair.eos_token_ids))
    with pytest.raises(CloudError, match="greedily only"):
        serve(client, tiny_pair, PROMPT, 8, policy=FixedK(2), codec="dense_fp32", temperature=1.0)


@pytest.mark.skipif(vllm_python() is None,
                    reason=f"vLLM not installed: run scripts/install_vllm.sh (own venv {default_vllm_venv()}) "
                           "or set JOINTBENCH_VLLM_PYTHON")
def test_real_vllm_greedy_sd_equals_cloud_only() -> None:  # pragma: no cover - needs vLLM
    import socket

    from jointbench.specdec.models import default_cache_dir
    from jointbench.specdec.tracestore import encode_prompt, get_pair
    from jointbench.specdec.transport.lifecycle import ServiceProcess
    from jointbench.specdec.transport.vllm_backend import vllm_command

    pair = get_pair("smollm2-135m-int8")  # converts the GGUF into the cached fp32 directory once
    model_dir = next(p for p in default_cache_dir().rglob("smollm2-135m-instruct-*") if (p / "config.json").is_file())
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
           "VLLM_HOST_IP": "127.0.0.1"}
    with ServiceProcess(vllm_command(str(vllm_python()), str(model_dir), port), env=env,
                        ready_url=f"http://127.0.0.1:{port}/health", ready_timeout_s=600.0):
        session = VllmSession(OpenAICompletions(f"http://127.0.0.1:{port}"), pair.eos_token_ids)
        client = InProcessClient(session)
        dec = SpecDecoder(pair.target, None, pair.eos_token_ids)
        for text in ("What does a base station do?", "Explain uplink and downlink."):
            prompt = encode_prompt(pair, text)
            ref = dec.cloud_only(prompt, 32).tokens
            out, _ = serve(client, pair, prompt, 32, policy=FixedK(3))
            assert out.tokens == ref
