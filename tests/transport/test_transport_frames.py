"""Frames: round trips of every message type, byte-wise streams, malformed input."""

from __future__ import annotations

import socket
import threading

import pytest
import torch

from jointbench.specdec.codec import make_codec
from jointbench.specdec import payload
from jointbench.specdec.transport.cloud import decode_token, encode_token
from jointbench.specdec.transport.frames import (
    FLAG_FINAL,
    FLAG_REPLY,
    HEADER_BYTES,
    Frame,
    FrameError,
    MsgType,
    decode_frame,
    read_frame,
    write_frame,
)

PAYLOADS = {
    MsgType.PREFILL: payload.encode_prompt([5, 6, 7]),
    MsgType.VERIFY: make_codec("dense_fp32").encode([1, 2, 3], torch.full((3, 4), 0.25)),
    MsgType.DECODE: encode_token(42),
    MsgType.CLOSE: b"",
    MsgType.ERROR: "VERIFY failed: bad".encode(),
    MsgType.STREAM: encode_token(7) + encode_token(8),
}


@pytest.mark.parametrize("kind", list(MsgType))
def test_frame_round_trip_every_type(kind: MsgType) -> None:
    frame = Frame(kind, PAYLOADS[kind], seq=2**32 - 1, arg=77, flags=FLAG_REPLY | FLAG_FINAL, prior_us=2**32 - 2)
    data = frame.encode()
    assert len(data) == HEADER_BYTES + len(PAYLOADS[kind])
    back = decode_frame(data)
    assert back == frame and back.is_reply and back.is_final


def test_payload_encodings_survive_the_frame() -> None:
    q = torch.rand(3, 5)
    ids, q_back = make_codec("dense_fp32").decode(decode_frame(Frame(MsgType.VERIFY, make_codec("dense_fp32").encode([9, 8, 7], q)).encode()).payload)
    assert ids == [9, 8, 7] and torch.equal(q_back, q)
    verdict = decode_frame(Frame(MsgType.VERIFY, payload.encode_verdict(2, 31)).encode()).payload
    assert payload.decode_verdict(verdict) == (2, 31)
    assert decode_token(encode_token(123456)) == 123456


def test_stream_of_frames_read_back_one_byte_at_a_time() -> None:
    frames = [Frame(kind, PAYLOADS[kind], seq=i) for i, kind in enumerate(MsgType)]
    a, b = socket.socketpair()
    data = b"".join(f.encode() for f in frames)

    def trickle() -> None:
        for i in range(len(data)):
            a.sendall(data[i:i + 1])
        a.close()

    t = threading.Thread(target=trickle)
    t.start()
    b.settimeout(10)
    got = [read_frame(b) for _ in frames]
    t.join()
    assert got == frames
    with pytest.raises(ConnectionError):  # EOF after the last frame
        read_frame(b)
    b.close()


def test_write_frame_then_read_frame() -> None:
    a, b = socket.socketpair()
    with a, b:
        n = write_frame(a, Frame(MsgType.PREFILL, PAYLOADS[MsgType.PREFILL], arg=3))
        assert n == HEADER_BYTES + len(PAYLOADS[MsgType.PREFILL])
        assert read_frame(b).arg == 3


def test_malformed_frames_are_rejected() -> None:
    good = Frame(MsgType.VERIFY, b"abcd").encode()
    assert decode_frame(good).payload == b"abcd"  # control
    with pytest.raises(FrameError, match="unknown message type"):
        decode_frame(b"\x63" + good[1:])
    with pytest.raises(FrameError, match="payload bytes"):
        decode_frame(good[:-1])
    huge = bytearray(good)
    huge[10:14] = (2**31).to_bytes(4, "little")
    with pytest.raises(FrameError, match="more than"):
        decode_frame(bytes(huge))


def test_cut_stream_raises_connection_error() -> None:
    a, b = socket.socketpair()
    a.sendall(Frame(MsgType.VERIFY, b"abcdef").encode()[:-2])
    a.close()
    b.settimeout(10)
    with pytest.raises(ConnectionError, match="2 of 6 bytes missing"):
        read_frame(b)
    b.close()
