"""T > 0: sampled generations, generated once through the loop and cached.

With sampling, what a cycle accepts depends on the random draws, so a policy's cycles
cannot be derived from a greedy trace. Each query is generated live once (the engine as the
loop's :class:`~jointbench.specdec.sources.LiveSource`, seeded) and its cycles are cached in
process and on disk (:class:`jointbench.cache.JsonCache` ``specdec-sampled``), keyed by
everything that decides them: pair, prompt, limit, chat template, placement kind, policy,
codec and its parameters, temperature and seed, and, when the policy or the codec reads the link, the link's
configuration and random state, the hardware pair, the calibration, the query's start time
and the session's bandwidth estimate. Every other network and hardware profile of a sweep
replays the cached cycles on the virtual clock (a :class:`~.sources.RecordedSource`, which
checks that the policy asks for the same ``K``). The policy starts fresh at every query
(a carried-over heuristic ``K`` would make a query's draws depend on the queries before it).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from jointbench.cache import JsonCache
from jointbench.netsim import Link
from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.placement import Cycle
from jointbench.specdec.sources import LiveSource, RecordedSource, TokenSource
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.tracestore import RECORDING_S, encode_prompt, get_pair

SAMPLED_FORMAT = 3  # 3: per-cycle codec statistics, codec parameters in the key
CACHE = JsonCache("specdec-sampled", SAMPLED_FORMAT)
_RUNS: dict[str, SampledRun] = {}
_DECODERS: dict[tuple[str, float], SpecDecoder] = {}


@dataclass(frozen=True)
class SampledRun:
    """One seeded generation: prompt ids, output tokens and text, (speculative) cycles."""

    prompt_ids: tuple[int, ...]
    tokens: tuple[int, ...]
    cycles: tuple[Cycle, ...]
    text: str = ""
    codec_stats: tuple[dict[str, Any], ...] = ()
    """Per speculative cycle: :func:`~jointbench.specdec.engine.cycle_codec_stats`."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"prompt_ids": list(self.prompt_ids), "tokens": list(self.tokens), "text": self.text,
                "cycles": [[c.k, c.drafted, c.accepted, list(c.tokens), c.bytes_up] for c in self.cycles],
                "codec_stats": list(self.codec_stats)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampledRun:
        """Inverse of :meth:`to_dict`."""
        cycles = tuple(Cycle(k, d, a, tuple(t), b) for k, d, a, t, b in data["cycles"])
        return cls(tuple(data["prompt_ids"]), tuple(data["tokens"]), cycles, data.get("text", ""),
                   tuple(data.get("codec_stats", ())))


def link_digest(link: Link | None) -> str:
    """Hash of a link's configuration and random state (what its next draws depend on)."""
    if link is None:
        return ""
    state = {"config": repr(link.config), "seq": getattr(link, "_seq", None),
             "rng": {n: g.bit_generator.state for n, g in sorted(getattr(link, "_rng", {}).items())}}
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:24]


def sampled_fields(pair: str, text: str, max_new_tokens: int, chat: bool, strategy: Strategy,
                   policy_desc: str, temperature: float, seed: int,
                   network: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything that decides one seeded generation (the cache key's fields).

    ``network`` (link digest, hardware, calibration hash, start time, bandwidth estimate)
    enters only when ``strategy.reads_link``; otherwise one generation serves every profile.
    """
    spec = strategy.speculative
    fields: dict[str, Any] = {
        "pair": pair, "text": text, "max_new_tokens": int(max_new_tokens), "chat": bool(chat),
        "mode": "speculative" if spec else strategy.name, "policy": policy_desc if spec else "",
        "codec": strategy.codec.name if spec else "", "temperature": float(temperature), "seed": int(seed),
        "codec_params": dict(getattr(strategy.codec, "params", {})) if spec else {},
    }
    if strategy.reads_link:
        fields["network"] = dict(network or {}, placement=strategy.name)
    return fields


def decoder(pair: str, temperature: float) -> SpecDecoder:
    """One engine per (pair, temperature) per process (``draft_feed="token"``)."""
    key = (pair, float(temperature))
    if key not in _DECODERS:
        loaded = get_pair(pair)
        _DECODERS[key] = SpecDecoder(loaded.target, loaded.draft, loaded.eos_token_ids,
                                     temperature=float(temperature), draft_feed="token")
    return _DECODERS[key]


def cached_run(fields: dict[str, Any]) -> SampledRun | None:
    """The cached generation for ``fields`` (process, then disk), or ``None``."""
    key = json.dumps(fields, sort_keys=True)
    if key not in _RUNS:
        data = CACHE.load(**fields)
        if data is None:
            return None
        _RUNS[key] = SampledRun.from_dict(data)
    return _RUNS[key]


def store_run(fields: dict[str, Any], run: SampledRun) -> None:
    """Keep ``run`` in process and on disk."""
    _RUNS[json.dumps(fields, sort_keys=True)] = run
    CACHE.store(run.to_dict(), **fields)


def source_for(fields: dict[str, Any], strategy: Strategy, pair: str, text: str, chat: bool,
               max_new_tokens: int, temperature: float, seed: int) -> tuple[Any, SampledRun | None]:
    """A cycle source for one sampled query: the cached run, or a live one (run returned as None).

    Single-model placements generate their tokens here at once (no policy to consult);
    speculative ones return a :class:`LiveSource` that the loop drives cycle by cycle.
    """
    run = cached_run(fields)
    if run is not None:
        if strategy.speculative:
            return RecordedSource(len(run.prompt_ids), run.cycles), run
        return TokenSource(len(run.prompt_ids), run.tokens), run
    dec = decoder(pair, temperature)
    ids = encode_prompt(get_pair(pair), text, chat)
    if strategy.speculative:
        return LiveSource(dec.start(ids, max_new_tokens, strategy.codec, seed=int(seed))), None
    t0 = time.perf_counter()
    res = dec.cloud_only(ids, max_new_tokens, seed=seed) if strategy.name == "cloud_only" else \
        dec.edge_only(ids, max_new_tokens, seed=seed)
    RECORDING_S["record_s"] += time.perf_counter() - t0
    fresh = SampledRun(tuple(ids), tuple(res.tokens), (), decode_text(pair, res.tokens))
    store_run(fields, fresh)
    return TokenSource(len(ids), res.tokens), fresh


def decode_text(pair: str, tokens: Any) -> str:
    """Detokenised output ("" for the tiny test pair, which has no tokenizer)."""
    tok = get_pair(pair).tokenizer
    return tok.decode(list(tokens), skip_special_tokens=True) if tok is not None else ""


def finish_live(fields: dict[str, Any], source: LiveSource, pair: str, record_s: float) -> SampledRun:
    """Cache the cycles a live speculative source produced."""
    RECORDING_S["record_s"] += record_s
    r = source.run
    cycles = tuple(Cycle(c.k, c.drafted, c.accepted, tuple(c.tokens), c.bytes_up) for c in r.cycles)
    run = SampledRun(tuple(r.prompt), tuple(r.tokens), cycles, decode_text(pair, r.tokens), tuple(r.codec_stats))
    store_run(fields, run)
    return run


__all__ = ["SAMPLED_FORMAT", "SampledRun", "finish_live", "link_digest", "sampled_fields", "source_for"]
