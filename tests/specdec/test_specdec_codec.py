"""Draft codecs and fixed messages: round trips, and sizes equal to real encoded lengths."""

from __future__ import annotations

import pytest
import torch

from jointbench.registry import UnknownAliasError
from jointbench.specdec import payload
from jointbench.specdec.codec import RowCodec, make_codec
from jointbench.specdec.codecs.sqs_codecs import message_bits
from jointbench.specdec.parts import CODEC, available

Q = torch.softmax(3 * torch.randn(3, 11, generator=torch.Generator().manual_seed(0)), -1)


@pytest.mark.parametrize("name", available(CODEC))
@pytest.mark.parametrize("k", [0, 1, 3])
def test_every_codec_reports_its_real_encoded_length(name: str, k: int) -> None:
    codec = make_codec(name)
    ids = [5, 0, 49151][:k]
    if isinstance(codec, RowCodec):
        q = Q[:k] if codec.sends_distribution and k else None
        data = codec.encode(ids, q)
        assert codec.encoded_len(k, 11) == len(data)
        back_ids, back_q = codec.decode(data)
        assert back_ids == ids
        assert (back_q is None) == (q is None)
        return
    # bit-coded codecs: the T=0 form is exact, the T>0 message is what the steps add up to
    assert len(codec.encode(ids, None)) == codec.encoded_len(k, 0)
    assert codec.decode(codec.encode(ids, None)) == (ids, None)
    gen = torch.Generator().manual_seed(k)
    steps = [codec.draft_step(Q[i], gen) for i in range(k)]
    data = codec.encode_steps(steps, 11)
    assert len(data) == (message_bits(steps) + 7) // 8 <= codec.encoded_len(k, 11)
    back_ids, back_q = codec.decode(data)
    assert back_ids == [s.token for s in steps]
    assert (back_q is None) == (k == 0)


def test_dense_sizes_are_header_ids_and_v_floats() -> None:
    assert make_codec("ids_only").encoded_len(3, 49152) == 8 + 4 * 3
    assert make_codec("dense_fp32").encoded_len(3, 49152) == 8 + 4 * 3 + 4 * 3 * 49152
    assert make_codec("dense_fp16").encoded_len(3, 49152) == 8 + 4 * 3 + 2 * 3 * 49152
    assert make_codec("dense_fp16").encoded_len(0, 49152) == 8


def test_fp32_round_trip_is_exact_and_fp16_decodes_to_what_the_edge_samples_from() -> None:
    fp32, fp16 = make_codec("dense_fp32"), make_codec("dense_fp16")
    _, q32 = fp32.decode(fp32.encode([1, 2, 3], Q))
    assert q32 is not None and torch.equal(q32, Q)
    _, q16 = fp16.decode(fp16.encode([1, 2, 3], Q))
    assert q16 is not None
    for i in range(3):
        assert torch.equal(fp16.sampling_distribution(Q[i]), q16[i])
    # control: fp16 is lossy, so the decoded rows are not the original ones
    assert not torch.equal(q16, Q)


def test_codecs_check_the_temperature_and_unknown_names_list_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="codec: 'ids_only' serves temperature 0 only"):
        make_codec("ids_only").check_temperature(1.0)
    with pytest.raises(ValueError, match="needs temperature > 0"):
        make_codec("dense_fp16").check_temperature(0.0)
    with pytest.raises(UnknownAliasError, match="Available: c_sqs, dense_fp16, dense_fp32, dense_lattice, ids_k1, ids_only, k_sqs"):
        make_codec("dense_fp8")


def test_fixed_messages_round_trip_and_sizes() -> None:
    assert payload.decode_prompt(payload.encode_prompt([7, 8, 9])) == [7, 8, 9]
    assert len(payload.encode_prompt([7, 8, 9])) == payload.prompt_bytes(3) == 4 + 12
    assert payload.decode_verdict(payload.encode_verdict(4, 123)) == (4, 123)
    assert len(payload.encode_verdict(4, 123)) == payload.VERDICT_BYTES == 8
