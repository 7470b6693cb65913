"""T > 0: seeded replay of sampled generations.

With sampling, how many drafted tokens a cycle accepts depends on the random draws, so a
K-policy's cycles cannot be derived from a greedy trace. Each (query, strategy, policy,
temperature, seed) is instead generated live once with a seeded generator, and its
cycles are cached in process and as JSON under ``<cache>/sampled/<pair>/``. Every
network and hardware profile of a sweep then replays those cycles on the virtual clock:
models run once per policy and seed, not once per profile. The policy starts fresh at
every query (a carried-over heuristic ``K`` would make a query's draws depend on the
queries before it).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.models import default_cache_dir
from jointbench.specdec.policy import DraftLengthPolicy
from jointbench.specdec.trace import ReplayCycle
from jointbench.specdec.tracestore import RECORDING_S, encode_prompt, get_pair

SAMPLED_FORMAT = 1
_RUNS: dict[str, SampledRun] = {}


@dataclass(frozen=True)
class SampledRun:
    """One seeded generation: prompt ids, output tokens and text, (speculative) cycles."""

    prompt_ids: tuple[int, ...]
    tokens: tuple[int, ...]
    cycles: tuple[ReplayCycle, ...]
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"format": SAMPLED_FORMAT, "prompt_ids": list(self.prompt_ids), "tokens": list(self.tokens), "text": self.text,
                "cycles": [[c.k, c.drafted, c.accepted, list(c.tokens)] for c in self.cycles]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampledRun:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data["prompt_ids"]), tuple(data["tokens"]),
                   tuple(ReplayCycle(k, d, a, tuple(t)) for k, d, a, t in data["cycles"]), data.get("text", ""))


def sampled_key(pair: str, text: str, max_new_tokens: int, chat: bool, strategy: str, policy: str,
                temperature: float, seed: int) -> str:
    """Cache key of one seeded generation (sha256 of everything that determines it)."""
    raw = json.dumps([SAMPLED_FORMAT, pair, text, max_new_tokens, chat, strategy, policy, temperature, seed])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def get_sampled(pair: str, text: str, max_new_tokens: int, chat: bool, strategy: str, policy: str,
                new_policy: Callable[[], DraftLengthPolicy] | None, temperature: float, seed: int,
                cache_dir: Path | None = None) -> SampledRun:
    """The seeded generation of one query, from cache or generated once.

    Parameters
    ----------
    pair : str
        Model pair name (``configs/models.yaml``).
    text : str
        Prompt text.
    max_new_tokens : int
        Generation limit.
    chat : bool
        Apply the chat template.
    strategy : {"cloud_only", "edge_only", "colocated", "edge_cloud"}
        Which generation to run (co-located and edge-cloud share the same draws).
    policy : str
        Description of the draft-length policy (part of the cache key).
    new_policy : callable, optional
        Builds a fresh policy; required by the speculative strategies.
    temperature : float
        Sampling temperature (> 0).
    seed : int
        Seed of the generator; the same seed gives the same generation.
    """
    kind = "speculative" if strategy in ("colocated", "edge_cloud") else strategy
    key = sampled_key(pair, text, max_new_tokens, chat, kind, policy if kind == "speculative" else "",
                      float(temperature), int(seed))
    if key in _RUNS:
        return _RUNS[key]
    path = (cache_dir or default_cache_dir()) / "sampled" / pair / f"{key}.json"
    if path.is_file():
        _RUNS[key] = SampledRun.from_dict(json.loads(path.read_text()))
        return _RUNS[key]
    loaded = get_pair(pair)
    ids = encode_prompt(loaded, text, chat)
    t0 = time.perf_counter()
    dec = SpecDecoder(loaded.target, loaded.draft, loaded.eos_token_ids, temperature=float(temperature),
                      draft_feed="token")
    if kind == "cloud_only":
        res = dec.cloud_only(ids, max_new_tokens, seed=int(seed))
    elif kind == "edge_only":
        res = dec.edge_only(ids, max_new_tokens, seed=int(seed))
    else:
        if new_policy is None:
            raise ValueError(f"strategy '{strategy}' needs a draft-length policy")
        res = dec.speculative(ids, max_new_tokens, new_policy(), seed=int(seed))
    RECORDING_S["record_s"] += time.perf_counter() - t0
    cycles = tuple(ReplayCycle(c.k, c.drafted, c.accepted, tuple(c.tokens)) for c in res.cycles)
    tok = loaded.tokenizer  # None for the tiny test pair
    text_out = tok.decode(list(res.tokens), skip_special_tokens=True) if tok is not None else ""
    run = SampledRun(tuple(ids), tuple(res.tokens), cycles if kind == "speculative" else (), text_out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(run.to_dict()))
    tmp.replace(path)
    _RUNS[key] = run
    return run
