"""The edge client: a silent cloud times out (no hang), a broken connection is resumed once."""

from __future__ import annotations

import socket
import threading

import pytest

from jointbench.specdec.transport.client import CloudClient, CloudError, CloudUnavailable
from jointbench.specdec.transport.frames import FLAG_FINAL, FLAG_REPLY, Frame, MsgType, read_frame, write_frame


def scripted_server(script: list[str]) -> tuple[int, list[list[MsgType]], threading.Thread]:
    """Serve one connection per script entry: "drop" reads a frame and closes, "silent" never
    answers, "serve" answers every VERIFY (after any PREFILLs), "error" answers ERROR."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[list[MsgType]] = []

    def run() -> None:
        with listener:
            for step in script:
                conn, _ = listener.accept()
                got: list[MsgType] = []
                seen.append(got)
                with conn:
                    conn.settimeout(10)
                    try:
                        while True:
                            f = read_frame(conn)
                            got.append(f.type)
                            if step == "drop":
                                break
                            if step == "silent" or f.type == MsgType.PREFILL:
                                continue
                            kind = MsgType.ERROR if step == "error" else f.type
                            write_frame(conn, Frame(kind, b"ok", seq=f.seq, flags=FLAG_REPLY | FLAG_FINAL))
                    except (OSError, ConnectionError):
                        pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return listener.getsockname()[1], seen, t


def resume(client: CloudClient) -> None:
    client.post(MsgType.PREFILL, b"context")


def test_a_broken_connection_is_resumed_on_a_new_one() -> None:
    port, seen, t = scripted_server(["drop", "serve"])
    client = CloudClient(port=port, timeout_s=5.0, attempts=2)
    reply = client.request(MsgType.VERIFY, b"draft", resume=resume)
    client.disconnect()
    t.join(timeout=10)
    assert reply.payload == b"ok"
    assert seen == [[MsgType.VERIFY], [MsgType.PREFILL, MsgType.VERIFY]]  # state rebuilt first
    [verify] = [r for r in client.log if r.type == "VERIFY"]
    assert verify.attempts == 2 and verify.error is None


def test_without_retries_the_same_break_fails() -> None:
    port, seen, t = scripted_server(["drop"])
    client = CloudClient(port=port, timeout_s=5.0, attempts=1)
    with pytest.raises(CloudUnavailable, match="after 1 attempt"):
        client.request(MsgType.VERIFY, b"draft", resume=resume)
    client.disconnect()
    t.join(timeout=10)
    assert seen == [[MsgType.VERIFY]]  # no resume on the first attempt of a fresh client
    assert client.log[-1].error is not None


def test_a_silent_cloud_times_out_instead_of_hanging() -> None:
    port, seen, t = scripted_server(["silent", "silent"])
    client = CloudClient(port=port, timeout_s=0.3, connect_timeout_s=1.0, attempts=2)
    with pytest.raises(CloudUnavailable, match="timed out"):
        client.request(MsgType.VERIFY, b"draft")
    client.disconnect()
    t.join(timeout=10)
    assert [r.attempts for r in client.log] == [2]


def test_an_error_reply_is_raised_not_retried() -> None:
    port, seen, t = scripted_server(["error"])
    client = CloudClient(port=port, timeout_s=5.0, attempts=3)
    with pytest.raises(CloudError, match="ok"):
        client.request(MsgType.VERIFY, b"draft")
    client.disconnect()
    t.join(timeout=10)
    assert seen == [[MsgType.VERIFY]] and client.log[-1].attempts == 1


def test_nothing_listening_gives_up_within_the_connect_budget() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]  # closed right away: connection refused afterwards
    client = CloudClient(port=port, connect_timeout_s=0.3, backoff_s=0.01, attempts=1)
    with pytest.raises(CloudUnavailable, match="cannot connect"):
        client.connect()


@pytest.mark.parametrize("bad", [{"timeout_s": 0}, {"attempts": 0}, {"backoff_s": -1.0}])
def test_bad_settings_name_the_key(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        CloudClient(**bad)


def test_an_abandoned_stream_does_not_desync_the_next_request() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[list[MsgType]] = []

    def run() -> None:  # answers DECODE with 3 frames; after a reconnect, answers VERIFY
        with listener:
            for _ in range(2):
                conn, _ = listener.accept()
                got: list[MsgType] = []
                seen.append(got)
                with conn:
                    try:
                        while True:
                            f = read_frame(conn)
                            got.append(f.type)
                            n = {MsgType.DECODE: 3, MsgType.PREFILL: 0}.get(f.type, 1)
                            for i in range(n):
                                flags = FLAG_REPLY | (FLAG_FINAL if i == n - 1 else 0)
                                write_frame(conn, Frame(f.type, bytes([i]), seq=f.seq, flags=flags))
                    except (OSError, ConnectionError):
                        pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    client = CloudClient(port=listener.getsockname()[1], timeout_s=5.0, attempts=2)
    stream = client.stream(MsgType.DECODE, b"p", arg=3)
    assert next(stream).payload == bytes([0])
    stream.close()  # abandon the stream after one of three frames
    reply = client.request(MsgType.VERIFY, b"d", resume=resume)
    client.close()
    t.join(timeout=10)
    assert reply.type == MsgType.VERIFY and reply.payload == bytes([0])
    assert seen[1] == [MsgType.PREFILL, MsgType.VERIFY, MsgType.CLOSE]  # a fresh, resumed session
    [verify] = [r for r in client.log if r.type == "VERIFY"]
    assert verify.attempts == 1  # reconnected up front, not after reading a stale DECODE frame
