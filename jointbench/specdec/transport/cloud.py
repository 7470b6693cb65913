"""The cloud side of one session: the target model with its own KV cache, frame in, frames out.

:class:`CloudSession` is transport-free (tests drive it directly); the socket server
(:mod:`jointbench.specdec.transport.cloud_server`) makes one per connection, all sharing one
target model. It mirrors the cloud half of :class:`jointbench.specdec.engine.SpecDecoder`:

- PREFILL caches ``prompt[:-1]`` (the edge prefills its draft meanwhile; no reply);
- VERIFY runs one target forward over ``[uncached committed tokens, drafts]`` (the edge's
  fallback tokens the cloud has not seen come first in the payload, their count in ``arg``), accepts
  by :func:`~jointbench.specdec.sampling.greedy_verify` (T = 0) or
  :func:`~jointbench.specdec.sampling.speculative_verify` (T > 0, needs the draft
  distribution ``q`` in the draft block), rolls the cache back and answers
  ``(num_accepted, next token)``;
- DECODE runs the target alone (cloud-only) and streams each token as it is decoded;
- STREAM (a policy's cloud-only fallback) decodes on from the committed sequence and streams
  each token until the edge's next request cuts it; that request's ``kept`` says how many of
  them the edge committed, and the rest are dropped.

Every VERIFY and DECODE reply carries the cloud's compute time for it (microseconds) in
the frame's ``arg``, so the edge can separate compute from network time; the first reply
after a PREFILL carries the prefill's compute time in ``prior_us`` (PREFILL has no reply).

Cache invariant (as in the engine): after a verify, the cache holds all committed
tokens but the last.
"""

from __future__ import annotations

import dataclasses
import struct
import time
from typing import Any, Callable, Iterator, Sequence

import torch

from jointbench.specdec import payload
from jointbench.specdec.codec import make_codec
from jointbench.specdec.lm import CachedLM
from jointbench.specdec.sampling import greedy_verify, probs_from_logits, sample, speculative_verify
from jointbench.specdec.transport.frames import FLAG_FINAL, FLAG_REPLY, Frame, MsgType


def _us_since(t0: float) -> int:
    """Microseconds since ``t0`` (``time.perf_counter``), clipped to uint32."""
    return min(int((time.perf_counter() - t0) * 1e6), 2**32 - 1)


def encode_token(token: int) -> bytes:
    """One streamed token id (:func:`~jointbench.specdec.payload.encode_tokens` of one id)."""
    return payload.encode_tokens([token])


def decode_token(data: bytes) -> int:
    """Inverse of :func:`encode_token`."""
    if len(data) != payload.TOKEN_BYTES:
        raise ValueError(f"a token frame carries {payload.TOKEN_BYTES} bytes, got {len(data)}")
    return payload.decode_tokens(data)[0]


def encode_pending(pending: Sequence[int], block: bytes) -> tuple[bytes, int]:
    """A VERIFY request's ``(payload, arg)``: the edge-only tokens the cloud has not seen, then the draft block.

    The tokens travel as bare ids (:func:`~jointbench.specdec.payload.tokens_bytes` each), their count
    in the frame's ``arg``, so the payload is what the virtual clock prices for that message.
    """
    return payload.encode_tokens(pending) + bytes(block), len(pending)


def split_pending(data: bytes, count: int) -> tuple[list[int], bytes]:
    """Inverse of :func:`encode_pending`: ``(pending ids, draft block)``."""
    size = payload.tokens_bytes(count)
    if size > len(data):
        raise ValueError(f"VERIFY announces {count} pending tokens ({size} bytes) in a {len(data)}-byte payload")
    return payload.decode_tokens(data[:size]), data[size:]


STREAM_REQUEST = struct.Struct("<II")
"""A STREAM request's body: most tokens to stream, count of the pending edge-only ids that follow it.
Its size is the virtual placement's ``FALLBACK_REQUEST_BYTES`` (a request as small as a verdict)."""


def encode_stream_request(max_tokens: int, pending: Sequence[int]) -> bytes:
    """A STREAM request's payload: :data:`STREAM_REQUEST`, then the pending ids."""
    return STREAM_REQUEST.pack(int(max_tokens), len(pending)) + payload.encode_tokens(pending)


def decode_stream_request(data: bytes) -> tuple[int, list[int]]:
    """Inverse of :func:`encode_stream_request`: ``(max tokens, pending ids)``."""
    if len(data) < STREAM_REQUEST.size:
        raise ValueError(f"a STREAM request carries at least {STREAM_REQUEST.size} bytes, got {len(data)}")
    most, count = STREAM_REQUEST.unpack_from(data)
    pending, rest = split_pending(data[STREAM_REQUEST.size:], count)
    if rest:
        raise ValueError(f"STREAM request: {len(rest)} bytes after its {count} pending ids")
    return most, pending


class FrameSession:
    """The request dispatch every cloud backend shares: one frame in, its reply frames out.

    A backend implements ``_prefill(prompt, seed)``, ``_verify(block, pending) -> verdict bytes`` and
    ``_decode(prompt, max_new_tokens, seq)`` (yielding token frames), lists in ``ERRORS`` the
    exceptions a bad request raises, and may reset its state in ``_on_error``. A VERIFY reply
    carries the backend's compute time in microseconds in ``arg``.
    """

    ERRORS: tuple[type[BaseException], ...] = (ValueError,)
    _prior_us: int = 0  # compute of reply-less requests (PREFILL) not reported yet (us)

    def handle(self, frame: Frame) -> Iterator[Frame]:
        """Serve one request; yield its reply frames as they become ready.

        Errors a request can cause (bad payload, VERIFY before PREFILL, a model or engine error)
        become one ERROR reply. The first reply frame carries, in ``prior_us``, the compute of the
        PREFILLs served since the previous reply.
        """
        for reply in self._replies(frame):
            if self._prior_us:
                reply = dataclasses.replace(reply, prior_us=min(self._prior_us, 2**32 - 1))
                self._prior_us = 0
            yield reply

    def _replies(self, frame: Frame) -> Iterator[Frame]:
        try:
            self._settle_stream(frame.kept)
            if frame.type == MsgType.PREFILL:
                t0 = time.perf_counter()
                self._prefill(payload.decode_prompt(frame.payload), frame.arg)
                self._prior_us += _us_since(t0)
                return
            if frame.type == MsgType.VERIFY:
                t0 = time.perf_counter()
                pending, block = split_pending(frame.payload, frame.arg)
                verdict = self._verify(block, pending)
                yield Frame(MsgType.VERIFY, verdict, seq=frame.seq, arg=_us_since(t0), flags=FLAG_REPLY | FLAG_FINAL)
                return
            if frame.type == MsgType.DECODE:
                yield from self._decode(payload.decode_prompt(frame.payload), frame.arg, frame.seq)
                return
            if frame.type == MsgType.STREAM:
                most, pending = decode_stream_request(frame.payload)
                yield from self._stream(pending, most, frame.seq)
                return
            if frame.type == MsgType.CLOSE:
                yield Frame(MsgType.CLOSE, b"", seq=frame.seq, flags=FLAG_REPLY | FLAG_FINAL)
                return
            raise ValueError(f"the cloud does not accept {frame.type.name} requests")
        except self.ERRORS as err:
            self._on_error()
            text = f"{frame.type.name} failed: {type(err).__name__}: {err}"
            yield Frame(MsgType.ERROR, text.encode(), seq=frame.seq, flags=FLAG_REPLY | FLAG_FINAL)

    def _on_error(self) -> None:
        """Reset after a failed request (default: nothing)."""

    def _prefill(self, prompt: list[int], seed: int) -> None:
        raise NotImplementedError

    def _verify(self, data: bytes, pending: list[int]) -> bytes:
        raise NotImplementedError

    def _decode(self, prompt: list[int], max_new_tokens: int, seq: int) -> Iterator[Frame]:
        raise NotImplementedError

    def _stream(self, pending: list[int], max_tokens: int, seq: int) -> Iterator[Frame]:
        raise ValueError(f"{type(self).__name__} does not stream a policy's cloud-only fallback tokens")

    def _settle_stream(self, kept: int) -> None:
        """After a STREAM: keep the ``kept`` tokens the edge committed, drop the rest (default: no streams)."""


class CloudSession(FrameSession):
    """State of one edge connection: the target's KV cache and the committed sequence.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Target causal LM (batch size 1); may be shared by several sessions.
    eos_token_ids : sequence of int
        Ids that end a generation.
    temperature : float
        0: greedy verification; > 0: speculative sampling at this temperature.
    vocab_limit : int, optional
        Keep only the first ``vocab_limit`` logits (a pair's common vocabulary).
    seed : int
        Seed of the sampling generator until a PREFILL sets one.
    decode_draft : callable
        Bytes of a VERIFY request -> ``(draft ids, q of shape (K, V) or None)``; by default
        the ``ids_only`` codec at T=0 and ``dense_fp32`` at T>0, a codec's decoder when the edge sends another
        encoding (the framing never looks inside).
    """

    def __init__(self, model: Any, eos_token_ids: Sequence[int] = (), temperature: float = 0.0,
                 vocab_limit: int | None = None, seed: int = 0,
                 decode_draft: Callable[[bytes], tuple[list[int], Any]] | None = None) -> None:
        if temperature < 0:
            raise ValueError(f"temperature={temperature!r}: must be >= 0")
        self.lm = CachedLM(model, vocab_limit)
        self.eos = frozenset(int(i) for i in eos_token_ids)
        self.temperature = float(temperature)
        self.committed: list[int] = []
        self.stream_start: int | None = None
        """Where the last STREAM's tokens begin in :attr:`committed`, until the next request settles it."""
        self.prefilled = False
        self.gen = torch.Generator().manual_seed(seed + 1)
        # The codec the edge uses by default: ids alone at T=0, fp32 distributions at T>0.
        self.decode_draft = decode_draft or make_codec("ids_only" if temperature == 0 else "dense_fp32").decode

    #: Request errors that become one ERROR reply (a bad request, not a dead server).
    ERRORS = (ValueError, RuntimeError, IndexError)

    def _on_error(self) -> None:
        self.prefilled = False  # the session needs a new PREFILL

    def _pick(self, logits: torch.Tensor) -> int:
        if self.temperature == 0.0:
            return int(logits.argmax())
        return sample(probs_from_logits(logits, self.temperature), self.gen)

    def _prefill(self, prompt: list[int], seed: int) -> None:
        if not prompt:
            raise ValueError("PREFILL needs a non-empty prompt")
        self.lm.prefill(prompt[:-1])
        self.committed = list(prompt)
        self.gen = torch.Generator().manual_seed(seed + 1)  # the engine's cloud generator
        self.prefilled = True

    def _verify(self, data: bytes, pending: list[int]) -> bytes:
        if not self.prefilled:
            raise ValueError("VERIFY before PREFILL (send the prompt first)")
        ids, q = self.decode_draft(data)
        self.committed.extend(pending)  # edge-only fallback tokens: this forward covers them too
        logits = self.lm.forward([*self.committed[self.lm.length:], *ids], num_logits=len(ids) + 1)
        if self.temperature == 0.0:
            n, nxt = greedy_verify(ids, logits)
        else:
            if ids and q is None:
                raise ValueError(f"temperature={self.temperature:g} needs the draft distribution q in the draft block")
            n, nxt = speculative_verify(ids, q, probs_from_logits(logits, self.temperature), self.gen)
        self.lm.crop(len(self.committed) + n)
        self.committed.extend(ids[:n] if n and ids[n - 1] in self.eos else [*ids[:n], nxt])
        return payload.encode_verdict(n, nxt)

    def _settle_stream(self, kept: int) -> None:
        if self.stream_start is None:
            return
        del self.committed[self.stream_start + kept:]
        self.lm.crop(min(self.lm.length, len(self.committed) - 1))  # cache: all committed but the last
        self.stream_start = None

    def _stream(self, pending: list[int], max_tokens: int, seq: int) -> Iterator[Frame]:
        if not self.prefilled:
            raise ValueError("STREAM before PREFILL (send the prompt first)")
        if max_tokens < 1:
            raise ValueError(f"STREAM needs at most >= 1 tokens, got {max_tokens}")
        self.committed.extend(pending)
        self.stream_start = len(self.committed)
        for i in range(max_tokens):
            t0 = time.perf_counter()
            tok = self._pick(self.lm.forward(self.committed[self.lm.length:], 1)[-1])
            self.committed.append(tok)
            last = tok in self.eos or i == max_tokens - 1
            flags = FLAG_REPLY | (FLAG_FINAL if last else 0)
            yield Frame(MsgType.STREAM, encode_token(tok), seq=seq, arg=_us_since(t0), flags=flags)
            if last:
                return

    def _decode(self, prompt: list[int], max_new_tokens: int, seq: int) -> Iterator[Frame]:
        if not prompt or max_new_tokens < 1:
            raise ValueError(f"DECODE needs a non-empty prompt and max_new_tokens >= 1, got {max_new_tokens}")
        self.prefilled = False
        self.lm.reset()
        t0 = time.perf_counter()
        tok = self._pick(self.lm.forward(prompt, 1)[-1])
        for i in range(max_new_tokens):
            if i:
                t0 = time.perf_counter()
                tok = self._pick(self.lm.forward([tok], 1)[-1])
            last = tok in self.eos or i == max_new_tokens - 1
            flags = FLAG_REPLY | (FLAG_FINAL if last else 0)
            yield Frame(MsgType.DECODE, encode_token(tok), seq=seq, arg=_us_since(t0), flags=flags)
            if last:
                return
