"""The edge's connection to the cloud service: timeouts, retries, a log of every request.

:class:`CloudClient` speaks the frames of :mod:`~jointbench.specdec.transport.frames` over one
TCP connection (one session). Every blocking read has a timeout; connecting is retried
with exponential backoff (``tenacity``). A request that fails on a broken or silent
connection is retried on a NEW connection after calling the caller's ``resume``
callback, which rebuilds the session state the lost connection held (e.g. PREFILL the
committed context; the cloud's KV cache is per connection). When the attempts are
used up the client raises :class:`CloudUnavailable` and logs the request as failed;
it never blocks longer than about ``attempts x (timeout_s + connect budget)``.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential

from jointbench.specdec.transport.frames import FLAG_FINAL, Frame, FrameError, MsgType, read_frame, write_frame


class CloudError(RuntimeError):
    """The cloud answered a request with an ERROR frame (message: the cloud's text)."""


class CloudUnavailable(ConnectionError):
    """The cloud did not answer within the timeouts and retries (message: what was tried)."""


@dataclass
class RequestLog:
    """One request as the edge saw it.

    Attributes
    ----------
    type : str
        Message type name.
    seq : int
    bytes_up : int
        Request payload bytes.
    bytes_down : int
        Reply payload bytes (all frames of a stream).
    sent_s, done_s : float
        ``time.perf_counter()`` when sent and when the final reply (or the failure) came.
    attempts : int
        Connections it took (1 = no retry).
    error : str or None
        Why it failed, ``None`` on success.
    """

    type: str
    seq: int
    bytes_up: int
    bytes_down: int = 0
    sent_s: float = 0.0
    done_s: float = 0.0
    attempts: int = 1
    error: str | None = None


@dataclass
class CloudClient:
    """One session with the cloud service at ``host:port`` (loopback).

    Parameters
    ----------
    host, port : str, int
        Where the service (or a shaping proxy in front of it) listens.
    timeout_s : float
        Longest wait for any reply bytes (s); the bound on a silent cloud.
    connect_timeout_s : float
        Budget for (re)connecting, retries included (s).
    attempts : int
        Connections tried per request (1 = never retry).
    backoff_s : float
        First wait between connection attempts (s), doubled each time, at most 1 s.
    """

    host: str = "127.0.0.1"
    port: int = 0
    timeout_s: float = 30.0
    connect_timeout_s: float = 5.0
    attempts: int = 2
    backoff_s: float = 0.05
    log: list[RequestLog] = field(default_factory=list)
    _sock: socket.socket | None = field(default=None, init=False, repr=False)
    _seq: int = field(default=0, init=False, repr=False)
    _lost: bool = field(default=False, init=False, repr=False)
    _cut: set[int] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("timeout_s", "connect_timeout_s", "backoff_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be > 0 (seconds)")
        if not (isinstance(self.attempts, int) and self.attempts >= 1):
            raise ValueError(f"attempts={self.attempts!r}: must be an integer >= 1")

    def connect(self) -> None:
        """(Re)connect, retrying refused/failed attempts within ``connect_timeout_s``."""
        self.disconnect()
        retrying = Retrying(
            stop=stop_after_delay(self.connect_timeout_s) | stop_after_attempt(50),
            wait=wait_exponential(multiplier=self.backoff_s, max=1.0),
            retry=retry_if_exception_type(OSError),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
        except OSError as err:
            raise CloudUnavailable(f"cannot connect to the cloud at {self.host}:{self.port} within "
                                   f"{self.connect_timeout_s:g} s: {err}") from err
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout_s)
        self._sock = sock

    def disconnect(self) -> None:
        """Close the connection without a CLOSE request (idempotent)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def send(self, kind: MsgType, payload: bytes = b"", arg: int = 0, kept: int = 0) -> int:
        """Send one request frame without waiting; return its ``seq``. Connects if needed.

        ``kept``: after a STREAM, how many of its tokens the caller committed.
        """
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        self._seq = (self._seq + 1) % 2**32
        write_frame(self._sock, Frame(kind, payload, seq=self._seq, arg=arg, prior_us=kept))
        return self._seq

    def cut(self, stream: Iterator[Frame]) -> None:
        """Stop reading ``stream``, the open reply of the last request sent (a STREAM), without losing the
        session: the next request (with its ``kept``) stops the cloud's stream, and the frames the cloud
        sent before it saw that request are skipped when they arrive."""
        self._cut.add(self._seq)
        stream.close()

    def post(self, kind: MsgType, payload: bytes = b"", arg: int = 0) -> None:
        """Send a request that has no reply on success (PREFILL), logging it.

        A failed send only drops the connection: the next request then reconnects and
        calls its ``resume``, which re-sends what this one carried.
        """
        entry = RequestLog(kind.name, 0, len(payload), sent_s=time.perf_counter())
        self.log.append(entry)
        try:
            entry.seq = self.send(kind, payload, arg)
        except OSError as err:
            entry.error = f"{kind.name} not sent: {type(err).__name__}: {err}"
            self.disconnect()
            self._lost = True
        entry.done_s = time.perf_counter()

    def _recv(self) -> Frame:
        if self._sock is None:
            raise ConnectionError("not connected")
        frame = read_frame(self._sock)
        if frame.type == MsgType.ERROR:
            raise CloudError(frame.payload.decode(errors="replace"))
        return frame

    def stream(self, kind: MsgType, payload: bytes = b"", arg: int = 0,
               resume: Callable[[CloudClient], None] | None = None, kept: int = 0) -> Iterator[Frame]:
        """Send a request and yield its reply frames until the FINAL one.

        A retry restarts the request from scratch on a new connection, so a caller that
        consumes a stream must only retry requests whose replies it can discard (the
        retry is done here only before the first reply frame arrives).

        Raises
        ------
        CloudUnavailable
            After ``attempts`` connections timed out, broke or were refused.
        CloudError
            The cloud answered ERROR (not retried: the request itself is at fault).
        """
        entry = RequestLog(kind.name, 0, len(payload), sent_s=time.perf_counter())
        self.log.append(entry)
        errors: list[str] = []
        for attempt in range(1, self.attempts + 1):
            entry.attempts = attempt
            got_any = False
            try:
                if attempt > 1 or self._lost:  # a lost connection lost the cloud's session state
                    self.connect()
                    self._lost = False
                    if resume is not None:
                        resume(self)
                entry.seq = self.send(kind, payload, arg, kept if attempt == 1 else 0)
                while True:
                    frame = self._recv()
                    if frame.seq in self._cut and frame.seq != entry.seq:
                        continue  # streamed before the cloud saw that the edge cut its stream
                    if frame.seq != entry.seq:
                        raise FrameError(f"reply to request {frame.seq} while waiting for {entry.seq}")
                    got_any = True
                    entry.bytes_down += len(frame.payload)
                    if frame.flags & FLAG_FINAL:
                        entry.done_s = time.perf_counter()
                        yield frame
                        return
                    try:
                        yield frame
                    except GeneratorExit:  # abandoned mid-stream: unread frames would desync the next reply
                        if entry.seq not in self._cut:  # (a cut stream's are skipped instead)
                            self.disconnect()
                            self._lost = True
                        raise
            except CloudError as err:
                entry.error, entry.done_s = f"cloud error: {err}", time.perf_counter()
                raise
            except (OSError, FrameError) as err:  # timeout, reset, EOF, refused, garbage
                errors.append(f"attempt {attempt}: {type(err).__name__}: {err}")
                self.disconnect()
                self._lost = True
                if got_any:
                    break
        entry.done_s = time.perf_counter()
        entry.error = f"{kind.name} failed after {entry.attempts} attempt(s): " + "; ".join(errors)
        raise CloudUnavailable(entry.error)

    def request(self, kind: MsgType, payload: bytes = b"", arg: int = 0,
                resume: Callable[[CloudClient], None] | None = None, kept: int = 0) -> Frame:
        """Send a request and return its single (FINAL) reply; see :meth:`stream`."""
        frames = list(self.stream(kind, payload, arg, resume, kept))
        return frames[-1]

    def close(self) -> None:
        """Send CLOSE (best effort, not retried) and disconnect."""
        if self._sock is not None:
            try:
                self.send(MsgType.CLOSE)
                self._recv()
            except (OSError, FrameError, CloudError):
                pass
            self.disconnect()

    def __enter__(self) -> CloudClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
