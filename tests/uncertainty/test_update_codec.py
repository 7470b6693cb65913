"""The DWC codec: round trip within its bound, real encoded size, application equals the dense update."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jointbench.uncertainty.bitio import Reader, decode_indices, encode_indices, pack_bits, unpack_bits
from jointbench.uncertainty.codec import DenseFP16Codec, TopKQuantCodec, apply_update, make_codec


def _delta(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"a.lora_A": torch.randn(4, 32, generator=g) * 1e-3, "a.lora_B": torch.randn(32, 4, generator=g) * 1e-2,
            "norm.weight": torch.randn(64, generator=g) * 5e-4}


def _layout(delta):
    return {k: tuple(v.shape) for k, v in delta.items()}


@pytest.mark.parametrize("rho,bits", [(1.0, 8), (0.1, 4), (0.3, 2), (0.05, 16)])
def test_roundtrip_within_bound(rho: float, bits: int) -> None:
    delta = _delta()
    codec = TopKQuantCodec(rho=rho, bits=bits)
    decoded = codec.decode(codec.encode(delta), _layout(delta))
    bounds = codec.error_bound(delta)
    for name, d in delta.items():
        err = (decoded[name] - d).abs()
        assert float(err.max()) <= bounds[name], name
        kept = int((decoded[name] != 0).sum())
        assert kept <= codec.kept(d.numel())
        # the kept entries are the largest in magnitude
        mag, nz = d.abs().numpy(), (decoded[name] != 0).numpy()
        if nz.any() and (~nz).any():
            assert mag[nz].min() >= mag[~nz].max()


def test_bound_is_tight_enough_to_fail_a_broken_codec() -> None:
    """Control: a codec whose decoder halves the scale must violate the bound."""
    delta = _delta(1)
    codec = TopKQuantCodec(rho=1.0, bits=8)
    decoded = codec.decode(codec.encode(delta), _layout(delta))
    bounds = codec.error_bound(delta)
    broken = {k: v * 0.5 for k, v in decoded.items()}
    assert any(float((broken[k] - delta[k]).abs().max()) > bounds[k] for k in delta)


def test_byte_count_is_the_encoded_length_and_matches_the_layout() -> None:
    delta = _delta()
    rho, bits = 0.1, 4
    msg = TopKQuantCodec(rho=rho, bits=bits).encode(delta)
    # header: version, codec id, varint(3), crc32
    expected = 2 + 1 + 4
    for d in delta.values():
        k = math.ceil(rho * d.numel())
        idx = np.sort(np.argsort(-d.abs().reshape(-1).numpy(), kind="stable")[:k])
        expected += 1 + 4 + len(encode_indices(idx, d.numel())) + math.ceil(k * bits / 8)
    assert len(msg) == expected
    dense = DenseFP16Codec().encode(delta)
    assert len(dense) == 7 + 2 * sum(d.numel() for d in delta.values())
    assert len(msg) < len(dense) / 5


def test_apply_decoded_update_equals_dense_update_within_bound() -> None:
    torch.manual_seed(0)
    base = {k: torch.randn(v.shape) for k, v in _delta().items()}
    delta = _delta()
    codec = TopKQuantCodec(rho=0.2, bits=6)
    edge = {k: v.clone() for k, v in base.items()}
    apply_update(edge, codec.decode(codec.encode(delta), _layout(delta)))
    dense = {k: v.clone() for k, v in base.items()}
    apply_update(dense, DenseFP16Codec().decode(DenseFP16Codec().encode(delta), _layout(delta)))
    bounds = codec.error_bound(delta)
    for k in base:
        fp16_err = float((delta[k] - delta[k].half().float()).abs().max())
        assert float((edge[k] - dense[k]).abs().max()) <= bounds[k] + fp16_err + 1e-6
        assert not torch.equal(edge[k], base[k])  # the update did change the edge
    # Control: skipping the update leaves a gap larger than the bound somewhere.
    assert any(float((base[k] - dense[k]).abs().max()) > bounds[k] + 1e-6 for k in base)


def test_layout_mismatch_and_trailing_bytes_are_rejected() -> None:
    delta = _delta()
    msg = TopKQuantCodec().encode(delta)
    other = dict(_layout(delta))
    other["norm.weight"] = (65,)
    with pytest.raises(ValueError, match="layout"):
        TopKQuantCodec().decode(msg, other)
    with pytest.raises(ValueError, match="trailing"):
        TopKQuantCodec().decode(msg + b"\0", _layout(delta))


def test_codec_registry_and_validation() -> None:
    assert isinstance(make_codec("dense-fp16"), DenseFP16Codec)
    with pytest.raises(ValueError, match="Unknown update codec 'zip'. Available"):
        make_codec("zip")
    with pytest.raises(ValueError, match="bits"):
        TopKQuantCodec(rho=0.1, bits=1)
    with pytest.raises(ValueError, match="rho"):
        TopKQuantCodec(rho=0.0)


@pytest.mark.parametrize("bits", [1, 3, 7, 12])
def test_bit_packing_and_index_coding_roundtrip(bits: int) -> None:
    rng = np.random.default_rng(bits)
    v = rng.integers(0, 1 << bits, size=37)
    assert unpack_bits(pack_bits(v, bits), bits, 37).tolist() == v.tolist()
    for idx in (np.array([], dtype=np.int64), np.array([0, 3, 99]), np.arange(0, 100, 2)):
        coded = encode_indices(idx, 100)
        assert len(coded) <= 1 + 13  # never worse than the bitmap
        assert decode_indices(Reader(coded), 100).tolist() == idx.tolist()
