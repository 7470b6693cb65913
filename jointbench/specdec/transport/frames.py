"""Length-prefixed frames of the edge<->cloud wire protocol (payload-agnostic).

A frame is an 18-byte little-endian header followed by ``length`` payload bytes::

    uint8  type     MsgType (PREFILL, VERIFY, DECODE, CLOSE, ERROR)
    uint8  flags    FLAG_REPLY (cloud -> edge), FLAG_FINAL (last frame of a reply stream)
    uint32 seq      request number; replies echo it
    uint32 arg      request: its integer argument (see MsgType); reply: the cloud's
                    compute time for it in microseconds (0 when not measured)
    uint32 length   payload bytes that follow
    uint32 prior_us reply: the cloud's compute (microseconds) for earlier requests that
                    have no reply of their own (a PREFILL), reported once, by the first
                    reply after them; 0 otherwise. Request (the field's ``kept`` reading):
                    after a STREAM, how many of its tokens the edge committed (the cloud
                    drops the ones it streamed beyond them); 0 otherwise

The payload is opaque here: the speculative-decoding encodings of
:mod:`jointbench.specdec.payload` (prompt, draft block, verdict, token) or whatever a
codec produces travel as bytes in, bytes out. The simulated link prices the payload
only (what the virtual clock counts); the 18 header bytes are transport overhead,
like TCP/IP headers, that ``network_framing_bytes`` can account for.
"""

from __future__ import annotations

import enum
import socket
import struct
from dataclasses import dataclass

HEADER = struct.Struct("<BBIIII")
HEADER_BYTES = HEADER.size
MAX_PAYLOAD_BYTES = 256 * 1024 * 1024
"""Upper bound of one payload (bytes): a larger length field means a corrupt stream."""

FLAG_REPLY = 0x01
FLAG_FINAL = 0x02


class MsgType(enum.IntEnum):
    """Message types; ``arg`` and payload per type.

    - PREFILL (edge -> cloud): payload = encoded prompt, ``arg`` = sampling seed. No reply
      on success (the next request's reply follows it); an ERROR reply on failure.
    - VERIFY (edge -> cloud): payload = encoded draft block; reply: VERIFY with the verdict.
    - DECODE (edge -> cloud): payload = encoded prompt, ``arg`` = max new tokens; reply: a
      stream of DECODE frames, one token each, the last flagged FINAL.
    - CLOSE (edge -> cloud): ends the session; reply: CLOSE, empty.
    - ERROR (cloud -> edge): payload = UTF-8 message; ends the current request.
    - STREAM (edge -> cloud): a policy's cloud-only fallback: payload = most tokens and the
      edge-only tokens the cloud has not seen (:func:`~.cloud.encode_stream_request`); the cloud
      decodes on from the committed sequence and streams each token as a STREAM frame (the last
      flagged FINAL) until the edge's next request arrives, which cuts the stream and says in
      ``kept`` how many tokens it committed.
    """

    PREFILL = 1
    VERIFY = 2
    DECODE = 3
    CLOSE = 4
    ERROR = 5
    STREAM = 6


class FrameError(ValueError):
    """A malformed frame (unknown type, oversized length) or a stream cut mid-frame."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes
    ----------
    type : MsgType
    payload : bytes
    seq : int
        Request number (replies echo it), uint32.
    arg : int
        The request's integer argument, uint32.
    flags : int
        Bitwise OR of ``FLAG_REPLY`` and ``FLAG_FINAL``.
    prior_us : int
        Reply: the cloud's compute for earlier reply-less requests (PREFILL), microseconds, uint32.
    """

    type: MsgType
    payload: bytes = b""
    seq: int = 0
    arg: int = 0
    flags: int = 0
    prior_us: int = 0

    @property
    def is_reply(self) -> bool:
        """True for cloud -> edge frames."""
        return bool(self.flags & FLAG_REPLY)

    @property
    def kept(self) -> int:
        """Request: tokens of the last STREAM the edge committed (the header's ``prior_us`` slot)."""
        return self.prior_us

    @property
    def is_final(self) -> bool:
        """True for the last frame of a reply stream."""
        return bool(self.flags & FLAG_FINAL)

    def encode(self) -> bytes:
        """Header + payload, ready for ``socket.sendall``."""
        if len(self.payload) > MAX_PAYLOAD_BYTES:
            raise FrameError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
        head = HEADER.pack(int(self.type), self.flags, self.seq, self.arg, len(self.payload), self.prior_us)
        return head + bytes(self.payload)


def parse_header(head: bytes) -> tuple[MsgType, int, int, int, int, int]:
    """Decode a header into ``(type, flags, seq, arg, length, prior_us)``; validate it."""
    kind, flags, seq, arg, length, prior_us = HEADER.unpack(head)
    try:
        msg = MsgType(kind)
    except ValueError:
        raise FrameError(f"unknown message type {kind} (valid: {[int(m) for m in MsgType]})") from None
    if length > MAX_PAYLOAD_BYTES:
        raise FrameError(f"frame announces {length} payload bytes, more than {MAX_PAYLOAD_BYTES}")
    return msg, flags, seq, arg, length, prior_us


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Read exactly ``n`` bytes (honours the socket's timeout).

    Raises
    ------
    ConnectionError
        The peer closed the connection before ``n`` bytes arrived (``EOFError`` text
        says how many were missing).
    socket.timeout
        No data within the socket's timeout.
    """
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed by peer ({n - len(buf)} of {n} bytes missing)")
        buf += chunk
    return bytes(buf)


def read_frame(sock: socket.socket) -> Frame:
    """Read one whole frame from ``sock`` (blocks; honours the socket's timeout)."""
    kind, flags, seq, arg, length, prior_us = parse_header(recv_exact(sock, HEADER_BYTES))
    payload = recv_exact(sock, length) if length else b""
    return Frame(kind, payload, seq=seq, arg=arg, flags=flags, prior_us=prior_us)


def write_frame(sock: socket.socket, frame: Frame) -> int:
    """Send one frame; return the bytes written (header included)."""
    data = frame.encode()
    sock.sendall(data)
    return len(data)


def decode_frame(data: bytes) -> Frame:
    """Decode exactly one encoded frame from ``data`` (inverse of :meth:`Frame.encode`)."""
    if len(data) < HEADER_BYTES:
        raise FrameError(f"need at least {HEADER_BYTES} header bytes, got {len(data)}")
    kind, flags, seq, arg, length, prior_us = parse_header(data[:HEADER_BYTES])
    if len(data) != HEADER_BYTES + length:
        raise FrameError(f"frame announces {length} payload bytes, got {len(data) - HEADER_BYTES}")
    return Frame(kind, bytes(data[HEADER_BYTES:]), seq=seq, arg=arg, flags=flags, prior_us=prior_us)
