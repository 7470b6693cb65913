"""The cloud service process: holds the target model and serves sessions over TCP on loopback.

    python -m jointbench.specdec.transport.cloud_server --pair tiny-random --port 0

Loads the pair's target (``--backend hf``) or bridges to an OpenAI-compatible engine
serving it (``--backend vllm --vllm-url http://127.0.0.1:<port>``, greedy only; see
:mod:`jointbench.specdec.transport.vllm_backend`), listens on ``--host`` (loopback only) and prints one
readiness line to stdout, ``JOINTBENCH_CLOUD_READY port=<port> pid=<pid>``, once it
accepts connections. Each connection is one session (its own KV cache, in its own
thread; the model weights are shared). ``--exit-with-parent`` makes the process exit
when its stdin reaches EOF, i.e. when the process that started it with a pipe dies,
even by SIGKILL (see :mod:`jointbench.specdec.transport.lifecycle`).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import select
import socket
import sys
import threading
from typing import Any, Callable, Sequence

from jointbench.specdec.transport.cloud import CloudSession
from jointbench.specdec.transport.frames import FrameError, MsgType, read_frame, write_frame
from jointbench.specdec.transport.lifecycle import READY_PREFIX


def check_loopback(host: str) -> str:
    """Return ``host`` if it is a loopback address, else raise ``ValueError`` naming it."""
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = host == "localhost"
    if not ok:
        raise ValueError(f"--host={host!r}: the cloud service listens on loopback only (use 127.0.0.1)")
    return host


def serve_connection(conn: socket.socket, new_session: Callable[[], Any]) -> None:
    """Serve one connection until CLOSE, EOF or a broken stream; always closes ``conn``."""
    session = new_session()
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                frame = read_frame(conn)
            except (ConnectionError, FrameError, OSError):
                return  # peer gone or garbage: drop the session
            try:
                for reply in session.handle(frame):
                    write_frame(conn, reply)
                    if frame.type == MsgType.STREAM and not reply.is_final and _request_waiting(conn):
                        break  # the edge's next request cuts the stream (it says what it kept)
            except OSError:
                return
            if frame.type == MsgType.CLOSE:
                return


def _request_waiting(conn: socket.socket) -> bool:
    """True when the edge has sent something (a request, or EOF) that has not been read yet."""
    return bool(select.select([conn], [], [], 0)[0])


def serve(listener: socket.socket, new_session: Callable[[], Any]) -> None:
    """Accept connections forever, one daemon thread per session."""
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(conn, new_session), daemon=True).start()


def _exit_on_stdin_eof() -> None:
    """Exit the process as soon as stdin is closed (the parent that holds the pipe died)."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def load_target(pair: str) -> tuple[Any, tuple[int, ...], int]:
    """``(target model, EOS ids, common vocabulary size)`` of a pair of ``configs/models.yaml``."""
    from jointbench.specdec.tracestore import get_pair

    loaded = get_pair(pair)
    vocab = min(int(m.config.get_text_config().vocab_size) for m in (loaded.target, loaded.draft))
    return loaded.target, tuple(loaded.eos_token_ids), vocab


def _session_factory(args: argparse.Namespace) -> Callable[[], Any]:
    """Load the backend once; return a factory of per-connection sessions."""
    import torch

    torch.set_num_threads(max(1, args.threads))
    temperature = float(args.temperature)
    if args.backend == "vllm":
        from jointbench.specdec.transport.vllm_backend import OpenAICompletions, VllmSession

        if not args.vllm_url:
            raise SystemExit("--backend vllm needs --vllm-url http://127.0.0.1:<port>")
        if temperature != 0.0:
            raise SystemExit(f"--temperature={temperature:g}: the vllm backend verifies greedily only (T = 0)")
        api = OpenAICompletions(args.vllm_url)
        eos = tuple(int(i) for i in args.eos_ids.split(",")) if args.eos_ids else load_target(args.pair)[1]
        return lambda: VllmSession(api, eos)
    model, eos, vocab = load_target(args.pair)
    decode = None
    if args.codec:
        from jointbench.specdec.codec import make_codec

        try:
            params = json.loads(args.codec_params) if args.codec_params else None
        except json.JSONDecodeError as err:
            raise SystemExit(f"--codec-params: not JSON ({err}): {args.codec_params!r}") from None
        codec = make_codec(args.codec, params)
        codec.check_temperature(temperature)
        decode = codec.decode
    return lambda: CloudSession(model, eos, temperature, vocab, decode_draft=decode)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", required=True, help="pair name of configs/models.yaml (e.g. tiny-random)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument("--temperature", type=float, default=0.0, help="0: greedy verification")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the target")
    parser.add_argument("--codec", default=None,
                        help="registered draft codec the edge sends (default: ids_only at T=0, dense_fp32 at T>0)")
    parser.add_argument("--codec-params", default=None,
                        help='the codec\'s parameters as a JSON object, e.g. \'{"k": 3}\' (the edge\'s codec_params)')
    parser.add_argument("--exit-with-parent", action="store_true", help="exit when stdin reaches EOF")
    parser.add_argument("--backend", choices=("hf", "vllm"), default="hf",
                        help="hf: the target in this process; vllm: bridge to an OpenAI-compatible server")
    parser.add_argument("--vllm-url", default=None, help="vllm backend: http://127.0.0.1:<port>")
    parser.add_argument("--eos-ids", default=None, help="vllm backend: comma-separated EOS ids (default: the pair's)")
    args = parser.parse_args(argv)
    host = check_loopback(args.host)
    if args.exit_with_parent:
        threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    new_session = _session_factory(args)

    listener = socket.create_server((host, args.port))
    port = listener.getsockname()[1]
    print(f"{READY_PREFIX} port={port} pid={os.getpid()} pair={args.pair}", flush=True)
    with listener:
        serve(listener, new_session)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
