"""Model answers for committed prefixes that left a recorded T=0 trace, cached on disk by prefix.

A T=0 trace (:mod:`~jointbench.specdec.trace`) covers every prefix of the target's greedy
output. A lossy step (NASD's edge-only fallback: the draft decodes alone) can commit a
token the target would not have, and from then on the committed prefix is off the trace.
:class:`PrefixStore` answers what the loop needs there, with the real models, and keeps
every answer on disk (:class:`~jointbench.cache.JsonCache`, keyed by the pair, the prompt
length and the whole prefix), so every condition that reaches the same prefix reuses it:

- :meth:`PrefixStore.draft_greedy`: the draft's greedy continuation of a prefix (stops at
  EOS);
- :meth:`PrefixStore.target_verify`: the target's greedy verdict on a drafted window
  (accepted count and the next token), one forward over prefix + window;
- :meth:`PrefixStore.target_greedy`: the target's greedy continuation (cloud-only steps).

The pair is loaded on the first miss only (a warm cache runs no model). Both models keep
their KV cache between calls and only process what is new after the longest common prefix
(successive prefixes of a query share almost everything), so one answer costs about one
verify pass or a few draft steps. The chunking differs from a live run's, which changes
nothing for fp32 models and can flip a near-tie of a dynamic-int8 draft (its activation
scale spans the chunk); the answers stay consistent with each other.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from jointbench.cache import JsonCache

PREFIX_FORMAT = 1
_CACHE = JsonCache("specdec-prefix", PREFIX_FORMAT)


def _feed(lm: Any, sequence: list[int], keep_last: int = 1) -> list[int]:
    """Crop ``lm``'s cache to its common prefix with ``sequence`` (keeping at least the last
    ``keep_last`` tokens uncached); return the tokens still to feed."""
    limit = max(0, min(lm.length, len(sequence) - keep_last))
    keep = 0
    tokens = lm.tokens
    while keep < limit and tokens[keep] == sequence[keep]:
        keep += 1
    lm.crop(keep)
    return sequence[keep:]


class PrefixStore:
    """Draft and target answers for arbitrary committed prefixes of one model pair.

    Parameters
    ----------
    pair : str
        Model pair name (part of every cache key).
    loader : callable () -> LoadedPair, optional
        Loads the pair on the first cache miss (default:
        :func:`jointbench.specdec.tracestore.get_pair`).
    cache : JsonCache, optional
        Where answers are kept (tests pass a temporary one).
    """

    def __init__(self, pair: str, loader: Callable[[], Any] | None = None, cache: JsonCache | None = None) -> None:
        self.pair = str(pair)
        self._loader = loader
        self._cache = cache if cache is not None else _CACHE
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._decoder: Any = None
        self._eos_ids: frozenset[int] = frozenset()
        self.model_calls = 0
        """Answers computed with the models in this process (cache misses)."""

    # -- models -----------------------------------------------------------------------------

    def _models(self) -> Any:
        if self._decoder is None:
            from jointbench.specdec.engine import SpecDecoder

            if self._loader is None:
                from jointbench.specdec.tracestore import get_pair

                loaded = get_pair(self.pair)
            else:
                loaded = self._loader()
            self._decoder = SpecDecoder(loaded.target, loaded.draft, loaded.eos_token_ids, draft_feed="token")
        return self._decoder

    def _load(self, kind: str, **fields: Any) -> Any:
        key = (kind, *(tuple(v) if isinstance(v, list) else v for v in fields.values()))
        if key in self._memo:
            return self._memo[key]
        value = self._cache.load(pair=self.pair, answer=kind, **fields)
        if value is not None:
            self._memo[key] = value
        return value

    def _store(self, value: Any, kind: str, **fields: Any) -> Any:
        key = (kind, *(tuple(v) if isinstance(v, list) else v for v in fields.values()))
        self._memo[key] = value
        self._cache.store(value, pair=self.pair, answer=kind, **fields)
        return value

    # -- answers ----------------------------------------------------------------------------

    def draft_greedy(self, sequence: Sequence[int], prompt_len: int, n: int) -> list[int]:
        """The draft's first ``n`` greedy tokens after ``sequence`` (fewer only at an EOS).

        Parameters
        ----------
        sequence : sequence of int
            Prompt + committed tokens.
        prompt_len : int
            Length of the original prompt (decides the canonical chunking).
        n : int
            Tokens wanted (>= 1).
        """
        seq = [int(t) for t in sequence]
        fields = {"prefix": seq, "prompt_len": int(prompt_len)}
        have: list[int] = list(self._load("draft", **fields) or [])
        if len(have) < n and not (have and have[-1] in self._eos()):
            dec = self._models()
            draft = dec.draft_lm
            feed = _feed(draft, seq + have)
            while len(have) < n and not (have and have[-1] in dec.eos):
                tok = int(draft.forward(feed, 1)[-1].argmax())
                have.append(tok)
                feed = [tok]
            self.model_calls += 1
            self._store(have, "draft", **fields)
        return have[:n]

    def target_verify(self, sequence: Sequence[int], window: Sequence[int]) -> tuple[int, int]:
        """``(accepted, next_token)``: the target's greedy verdict on ``window`` after ``sequence``.

        ``accepted`` leading window tokens equal the target's greedy choices; ``next_token``
        is the target's greedy token after them (the bonus, or the correction).
        """
        seq, win = [int(t) for t in sequence], [int(t) for t in window]
        fields = {"prefix": seq, "window": win}
        got = self._load("verify", **fields)
        if got is None:
            dec = self._models()
            lm = dec.target_lm
            logits = lm.forward(_feed(lm, seq + win, keep_last=len(win) + 1), num_logits=len(win) + 1)
            choice = [int(t) for t in logits.argmax(dim=-1)]
            acc = 0
            while acc < len(win) and choice[acc] == win[acc]:
                acc += 1
            got = self._store([acc, choice[acc]], "verify", **fields)
            self.model_calls += 1
        return int(got[0]), int(got[1])

    def target_greedy(self, sequence: Sequence[int], n: int) -> list[int]:
        """The target's first ``n`` greedy tokens after ``sequence`` (fewer only at an EOS)."""
        seq = [int(t) for t in sequence]
        fields = {"prefix": seq}
        have: list[int] = list(self._load("target", **fields) or [])
        if len(have) < n and not (have and have[-1] in self._eos()):
            dec = self._models()
            lm = dec.target_lm
            feed = _feed(lm, seq + have)
            while len(have) < n and not (have and have[-1] in dec.eos):
                tok = int(lm.forward(feed, 1)[-1].argmax())
                have.append(tok)
                feed = [tok]
            self.model_calls += 1
            self._store(have, "target", **fields)
        return have[:n]

    def _eos(self) -> frozenset[int]:
        return frozenset(self._decoder.eos) if self._decoder is not None else self._eos_ids

    def with_eos(self, eos_token_ids: Sequence[int]) -> PrefixStore:
        """Tell the store the pair's EOS ids (from a trace), so a cached answer ending at EOS is complete."""
        self._eos_ids = frozenset(int(t) for t in eos_token_ids)
        return self
