"""Record each query once per (pair, prompt, max_new_tokens); replay everything else.

A :class:`QueryTrace` holds what every T=0 strategy of the leaderboard needs from the
models: the target's greedy continuation with the draft's agreement per position (a
:class:`~jointbench.specdec.trace.GreedyTrace`, which yields the cycles of any
draft-length policy) and the draft's own greedy continuation (edge-only). Traces are
kept in process and as JSON under ``<cache>/traces/<pair>/``; the pair is loaded only
when a trace is missing, so a warm sweep over hundreds of test cases runs no model.

Traces are recorded with ``draft_feed="token"`` (exact replays, even for the int8
draft). Where the draft's proposals past its first disagreement were not recorded
(they only decide whether the draft would have stopped at EOS inside a long window),
:class:`LenientTrace` assumes it would not and counts those windows.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from jointbench.cache import atomic_write_json, cache_dir
from jointbench.specdec.models import LoadedPair, load_pair
from jointbench.specdec.trace import GreedyTrace, TraceIncompleteError, record_trace

TRACE_FORMAT = 1
TAIL_HORIZON = 16
"""Anchors this close to the end get this many extra proposals: where EOS is likely."""

_PAIRS: dict[str, LoadedPair] = {}
_TRACES: dict[str, QueryTrace] = {}
RECORDING_S: dict[str, float] = {"load_s": 0.0, "record_s": 0.0, "calibrate_s": 0.0}
"""Wall time this process spent loading pairs, recording traces and calibrating (s)."""


class LenientTrace(GreedyTrace):
    """A detached trace that never raises on a window it did not record.

    A window beyond the recorded proposals is assumed to contain no EOS (the draft
    drafts all ``k`` tokens); :attr:`estimated_windows` counts such windows.
    """

    estimated_windows: int = 0

    def draft_window(self, j: int, k: int) -> list[int]:
        """:meth:`GreedyTrace.draft_window`, padding unrecorded proposals with ``-1``."""
        try:
            return super().draft_window(j, k)
        except TraceIncompleteError:
            a = self.anchor[j]
            props = self.proposals[a][j - a : j - a + k]
            self.estimated_windows += 1
            return props + [-1] * (k - len(props))


@dataclass
class QueryTrace:
    """Everything the T=0 strategies need from the models for one query.

    Attributes
    ----------
    pair : str
    prompt_ids : list of int
    max_new_tokens : int
    greedy : LenientTrace
        Target continuation and draft agreement (cloud-only, co-located, edge-cloud).
    edge_tokens : list of int
        The draft's own greedy continuation (edge-only output).
    record_s : float
        Wall time spent recording it (s); 0 when loaded from disk.
    """

    pair: str
    prompt_ids: list[int]
    max_new_tokens: int
    greedy: LenientTrace
    edge_tokens: list[int]
    record_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def target_tokens(self) -> list[int]:
        """The cloud-only (target greedy) output."""
        return list(self.greedy.target_tokens)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"format": TRACE_FORMAT, "pair": self.pair, "prompt_ids": self.prompt_ids,
                "max_new_tokens": self.max_new_tokens, "greedy": self.greedy.to_dict(),
                "edge_tokens": self.edge_tokens, "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryTrace:
        """Inverse of :meth:`to_dict`."""
        greedy = LenientTrace.from_dict(data["greedy"])
        return cls(data["pair"], list(data["prompt_ids"]), int(data["max_new_tokens"]), greedy,
                   list(data["edge_tokens"]), 0.0, dict(data.get("meta", {})))


def get_pair(name: str) -> LoadedPair:
    """Load a pair once per process."""
    if name not in _PAIRS:
        t0 = time.perf_counter()
        _PAIRS[name] = load_pair(name)
        RECORDING_S["load_s"] += time.perf_counter() - t0
    return _PAIRS[name]


def encode_prompt(pair: LoadedPair, text: str, chat: bool = True, max_prompt_tokens: int = 48) -> list[int]:
    """Token ids of a user message (with the chat template when the pair has a tokenizer).

    The tiny random pair has no tokenizer: its ids are the UTF-8 bytes of ``text``
    (mod the vocabulary), cut to ``max_prompt_tokens``.
    """
    tok = pair.tokenizer
    if tok is None:
        vocab = int(pair.target.config.vocab_size)
        ids = [1 + (b % (vocab - 1)) for b in text.encode("utf-8")][:max_prompt_tokens]
        return ids or [1]
    if chat and getattr(tok, "chat_template", None):
        out = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                      tokenize=True)
        ids = out["input_ids"] if isinstance(out, dict) or hasattr(out, "keys") else out
        return [int(i) for i in ids]
    return [int(i) for i in tok(text)["input_ids"]]


def trace_key(pair: str, text: str, max_new_tokens: int, chat: bool) -> str:
    """Cache key of one query (hash of what determines its trace).

    Kept from format 1 rather than :func:`jointbench.cache.cache_key`, so that traces
    recorded before stay valid (recording the root set costs minutes).
    """
    h = hashlib.sha256(json.dumps([TRACE_FORMAT, pair, text, int(max_new_tokens), bool(chat)]).encode())
    return h.hexdigest()[:20]


def trace_path(pair: str, key: str, root: Path | None = None) -> Path:
    """JSON file of one trace under the cache directory."""
    return (root or cache_dir()) / "traces" / pair / f"{key}.json"


def record_query(pair: LoadedPair, prompt_ids: Sequence[int], max_new_tokens: int,
                 tail_horizon: int = TAIL_HORIZON, horizon: int = 0) -> QueryTrace:
    """Run the models on one query: target greedy + draft agreement, and draft alone.

    Parameters
    ----------
    tail_horizon : int
        Extra proposals recorded at anchors within this many tokens of the end.
    horizon : int
        Extra proposals at every anchor (exact replay for any ``K <= horizon``; slow).
    """
    from jointbench.specdec.engine import SpecDecoder

    t0 = time.perf_counter()
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token")
    greedy = record_trace(dec, prompt_ids, max_new_tokens, horizon=horizon)
    n = len(greedy.target_tokens)
    if tail_horizon:
        for a in sorted(set(greedy.anchor)):
            m = greedy.match_len[a]
            if a + m >= n - tail_horizon and a + m < n:
                greedy._extend(a, m + 1 + tail_horizon)
    edge = dec.edge_only(prompt_ids, max_new_tokens).tokens
    detached = LenientTrace.from_dict(greedy.to_dict())
    elapsed = time.perf_counter() - t0
    RECORDING_S["record_s"] += elapsed
    return QueryTrace(pair.name, [int(t) for t in prompt_ids], int(max_new_tokens), detached,
                      [int(t) for t in edge], elapsed, {"draft_forwards": greedy.draft_forwards})


def get_trace(pair: str, text: str, max_new_tokens: int, chat: bool = True,
              root: Path | None = None, use_disk: bool = True, confidence: bool = False) -> QueryTrace:
    """The trace of one query: from memory, else disk, else recorded (and saved).

    ``confidence``: the trace must hold the draft's probabilities of its proposals
    (:attr:`~jointbench.specdec.trace.GreedyTrace.has_confidence`); a cached trace recorded
    before they were kept is recorded again (same tokens) and replaced.
    """
    key = trace_key(pair, text, max_new_tokens, chat)
    if key in _TRACES and (not confidence or _TRACES[key].greedy.has_confidence):
        return _fresh(_TRACES[key])
    path = trace_path(pair, key, root)
    trace: QueryTrace | None = None
    if use_disk and path.is_file():
        trace = QueryTrace.from_dict(json.loads(path.read_text()))
        if confidence and not trace.greedy.has_confidence:
            trace = None
    if trace is None:
        loaded = get_pair(pair)
        trace = record_query(loaded, encode_prompt(loaded, text, chat), max_new_tokens)
        trace.meta["text"] = text
        tok = loaded.tokenizer
        if tok is not None:
            trace.meta["target_text"] = tok.decode(trace.target_tokens, skip_special_tokens=True)
            trace.meta["edge_text"] = tok.decode(trace.edge_tokens, skip_special_tokens=True)
        if use_disk:
            atomic_write_json(path, trace.to_dict())
    _TRACES[key] = trace
    return _fresh(trace)


def _fresh(trace: QueryTrace) -> QueryTrace:
    """A copy whose replay counters start at zero (the stored trace is shared)."""
    greedy = LenientTrace.from_dict(trace.greedy.to_dict())
    return QueryTrace(trace.pair, trace.prompt_ids, trace.max_new_tokens, greedy, trace.edge_tokens,
                      trace.record_s, trace.meta)


def _cached(pair: str, text: str, max_new_tokens: int, chat: bool, confidence: bool) -> bool:
    """True when :func:`get_trace` would not record this query."""
    key = trace_key(pair, text, max_new_tokens, chat)
    if key in _TRACES:
        return not confidence or _TRACES[key].greedy.has_confidence
    path = trace_path(pair, key)
    if not path.is_file():
        return False
    return not confidence or QueryTrace.from_dict(json.loads(path.read_text())).greedy.has_confidence


def record_all(pair: str, texts: Sequence[str], max_new_tokens: int, chat: bool = True,
               progress: bool = True, confidence: bool = False) -> list[QueryTrace]:
    """Make sure every query of a test set has a trace, with a progress bar while recording.

    ``confidence``: as in :func:`get_trace`.
    """
    from tqdm import tqdm

    missing = [t for t in texts if not _cached(pair, t, max_new_tokens, chat, confidence)]
    # Printed to stderr, so a long recording shows progress under Ianvs too (leave=True).
    bar = tqdm(texts, desc=f"jointbench: recording {len(missing)} trace(s) of {pair}", ncols=100, leave=True,
               disable=not progress or not missing, mininterval=2.0)
    return [get_trace(pair, t, max_new_tokens, chat, confidence=confidence) for t in bar]
