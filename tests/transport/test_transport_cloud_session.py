"""The cloud session's logic without sockets: same tokens as the one-process engine."""

from __future__ import annotations

import pytest

from jointbench.specdec.codec import make_codec
from jointbench.specdec import payload
from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.policies.fixed import FixedK
from jointbench.specdec.policies.heuristic import HeuristicK
from jointbench.specdec.transport.cloud import CloudSession
from jointbench.specdec.transport.frames import Frame, MsgType

from transport_helpers import PROMPT, InProcessClient, serve


@pytest.mark.parametrize("policy", [FixedK(3), FixedK(0), HeuristicK(start=2, transient=True)])
def test_greedy_session_matches_cloud_only(tiny_pair, policy) -> None:
    ref = SpecDecoder(tiny_pair.target, None, tiny_pair.eos_token_ids).cloud_only(PROMPT, 30)
    client = InProcessClient(CloudSession(tiny_pair.target, tiny_pair.eos_token_ids))
    out, _ = serve(client, tiny_pair, PROMPT, 30, policy=policy)
    assert out.tokens == ref.tokens
    assert sum(c.accepted for c in out.cycles) > 0 or isinstance(policy, FixedK) and policy.k == 0
    # control: a draft that IS the target accepts everything; the noisy draft must not
    assert any(c.accepted < c.drafted for c in out.cycles) or policy.k == 0
    assert serve(client, tiny_pair, PROMPT, 30, strategy="cloud_only")[0].tokens == ref.tokens


def test_sampled_session_reproduces_the_engine(tiny_pair) -> None:
    """T > 0: the same seeds give the same tokens and cycles as SpecDecoder.speculative."""
    t, seed = 0.8, 5
    dec = SpecDecoder(tiny_pair.target, tiny_pair.draft, tiny_pair.eos_token_ids, temperature=t, draft_feed="token")
    ref = dec.speculative(PROMPT, 20, FixedK(3), seed=seed)
    client = InProcessClient(CloudSession(tiny_pair.target, tiny_pair.eos_token_ids, temperature=t))
    out, _ = serve(client, tiny_pair, PROMPT, 20, codec="dense_fp32", temperature=t, seed=seed)
    assert out.tokens == ref.tokens
    assert [c.accepted for c in out.cycles] == [c.accepted for c in ref.cycles]
    other, _ = serve(client, tiny_pair, PROMPT, 20, codec="dense_fp32", temperature=t, seed=seed + 1)
    assert other.tokens != ref.tokens  # control: the seed matters


def test_requests_out_of_order_get_an_error_reply(tiny_pair) -> None:
    session = CloudSession(tiny_pair.target, tiny_pair.eos_token_ids)
    [reply] = session.handle(Frame(MsgType.VERIFY, make_codec("ids_only").encode([1, 2], None), seq=7))
    assert reply.type == MsgType.ERROR and reply.seq == 7 and b"before PREFILL" in reply.payload
    assert list(session.handle(Frame(MsgType.PREFILL, payload.encode_prompt(PROMPT)))) == []
    [ok] = session.handle(Frame(MsgType.VERIFY, make_codec("ids_only").encode([1, 2], None), seq=8))
    assert ok.type == MsgType.VERIFY and payload.decode_verdict(ok.payload)[0] in (0, 1, 2)
    [bad] = session.handle(Frame(MsgType.DECODE, payload.encode_prompt(PROMPT), arg=0))
    assert bad.type == MsgType.ERROR and b"max_new_tokens" in bad.payload
    sampled = CloudSession(tiny_pair.target, (), temperature=1.0)
    list(sampled.handle(Frame(MsgType.PREFILL, payload.encode_prompt(PROMPT))))
    [err] = sampled.handle(Frame(MsgType.VERIFY, make_codec("ids_only").encode([1, 2], None)))
    assert err.type == MsgType.ERROR and b"needs the draft distribution" in err.payload


def test_decode_streams_one_frame_per_token_and_flags_the_last(tiny_pair) -> None:
    session = CloudSession(tiny_pair.target, tiny_pair.eos_token_ids)
    frames = list(session.handle(Frame(MsgType.DECODE, payload.encode_prompt(PROMPT), arg=6, seq=3)))
    assert len(frames) == 6 and all(f.seq == 3 and f.is_reply for f in frames)
    assert [f.is_final for f in frames] == [False] * 5 + [True]
    assert all(f.arg > 0 for f in frames)  # each reply reports its compute time (us)


def test_prefill_compute_is_reported_once_by_the_next_reply(tiny_pair) -> None:
    """PREFILL has no reply: the first reply after it carries its compute (us) in ``prior_us``."""
    session = CloudSession(tiny_pair.target, tiny_pair.eos_token_ids)
    block = make_codec("ids_only").encode([1, 2], None)
    assert list(session.handle(Frame(MsgType.PREFILL, payload.encode_prompt(PROMPT)))) == []
    [first] = session.handle(Frame(MsgType.VERIFY, block, seq=1))
    [second] = session.handle(Frame(MsgType.VERIFY, block, seq=2))
    assert first.prior_us > 0 and first.arg > 0
    assert second.prior_us == 0 and second.arg > 0  # control: reported once, not with every reply
    list(session.handle(Frame(MsgType.PREFILL, payload.encode_prompt(PROMPT))))  # a re-prefill (reconnect)
    [err] = session.handle(Frame(MsgType.DECODE, payload.encode_prompt(PROMPT), arg=0))
    assert err.type == MsgType.ERROR and err.prior_us > 0  # whatever reply comes next carries it


def test_a_codec_decoder_can_replace_the_draft_encoding(tiny_pair) -> None:
    """The framing is payload-agnostic: the session verifies whatever its decoder returns."""
    import json

    plain = CloudSession(tiny_pair.target, tiny_pair.eos_token_ids)
    codec = CloudSession(tiny_pair.target, tiny_pair.eos_token_ids,
                         decode_draft=lambda data: (json.loads(data), None))
    verdicts = []
    for session, block in ((plain, make_codec("ids_only").encode([7, 8, 9], None)), (codec, b"[7, 8, 9]")):
        list(session.handle(Frame(MsgType.PREFILL, payload.encode_prompt(PROMPT))))
        [reply] = session.handle(Frame(MsgType.VERIFY, block))
        verdicts.append(reply.payload)
    assert verdicts[0] == verdicts[1]
    [err] = plain.handle(Frame(MsgType.VERIFY, b"[7, 8, 9]"))  # control: the default decoder rejects it
    assert err.type == MsgType.ERROR


class DiesAfter(InProcessClient):
    """An in-process cloud that becomes unavailable after ``n`` verify requests."""

    def __init__(self, session: CloudSession, n: int) -> None:
        super().__init__(session)
        self.left = n

    def request(self, kind, data=b"", arg=0, resume=None, kept=0):
        if kind == MsgType.VERIFY:
            if self.left == 0:
                from jointbench.specdec.transport.client import CloudUnavailable

                raise CloudUnavailable("VERIFY failed after 2 attempt(s): connection refused")
            self.left -= 1
        return super().request(kind, data, arg, kept=kept)


def test_a_cloud_that_dies_mid_query_fails_it_with_the_clients_error(tiny_pair) -> None:
    from jointbench.specdec.transport.client import CloudUnavailable

    healthy = DiesAfter(CloudSession(tiny_pair.target, tiny_pair.eos_token_ids), 100)
    assert len(serve(healthy, tiny_pair, PROMPT, 20, policy=FixedK(2))[0].tokens) == 20  # control
    client = DiesAfter(CloudSession(tiny_pair.target, tiny_pair.eos_token_ids), 3)
    with pytest.raises(CloudUnavailable, match="VERIFY failed"):
        serve(client, tiny_pair, PROMPT, 20, policy=FixedK(2))
    assert client.left == 0
