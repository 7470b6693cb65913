"""A whole UTS session on the tiny model: uploads, served answers, updates applied as decoded, bytes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jointbench.netsim import Link
from jointbench.uncertainty.cloud import ReplayCloud, answer_rule, fusion, replace
from jointbench.uncertainty.codec import DenseFP16Codec, TopKQuantCodec
from jointbench.uncertainty.session import UTSConfig, UTSSession, questions_from_teleqna
from jointbench.uncertainty.update import FinetuneConfig, snapshot


class RecordingCodec(TopKQuantCodec):
    """The session's codec, keeping the last message it encoded."""

    def encode(self, delta):  # type: ignore[override]
        self.last = super().encode(delta)
        self.last_delta = {k: v.clone() for k, v in delta.items()}
        return self.last


def _session(edge, data, **kw) -> UTSSession:
    cfg = UTSConfig(mc_passes=3, dropout_layers=1, update_every=3,
                    finetune=FinetuneConfig(epochs=2, batch=2, lr=5e-2), **kw)
    return UTSSession(edge, ReplayCloud(data), cfg, Link({"network_rtt_ms": 20.0}),
                      questions_from_teleqna(data, np.array([6, 7])))


def test_answer_rules() -> None:
    edge, cloud = np.array([0.7, 0.1, 0.1, 0.1]), np.array([0.0, 0.45, 0.0, 0.0])
    assert np.argmax(replace(edge, cloud, 0.7)) == 1
    np.testing.assert_allclose(fusion(edge, cloud, 0.5), [0.35, 0.55, 0.05, 0.05])
    np.testing.assert_allclose(replace(edge, np.zeros(4), 0.7), edge)  # empty cloud row: the edge's answer
    with pytest.raises(ValueError, match="Unknown answer rule 'vote'. Available: fusion, replace"):
        answer_rule("vote")


def test_session_uploads_serves_the_cloud_and_applies_the_decoded_update(tiny_edge, tiny_teleqna) -> None:
    s = _session(tiny_edge, tiny_teleqna, tau=1.0, m=0.5)
    s.codec = RecordingCodec(rho=0.5, bits=6)
    stream = questions_from_teleqna(tiny_teleqna, np.arange(6))
    records = []
    for i, q in enumerate(stream):
        before = snapshot(s.trainable())
        records.append(s.serve(q))
        if "update" in records[-1]["extras"]:
            # The edge now holds exactly old + decode(message).
            decoded = s.codec.decode(s.codec.last, s.layout)
            bounds = s.codec.error_bound(s.codec.last_delta)
            for k, p in s.params.items():
                torch.testing.assert_close(p.detach(), before[k] + decoded[k], atol=1e-7, rtol=0)
                assert float((p.detach() - (before[k] + s.codec.last_delta[k])).abs().max()) <= bounds[k] + 1e-7
            assert not all(torch.equal(s.params[k], before[k]) for k in before)  # control: it moved
    assert all(r["extras"]["uploaded"] for r in records)
    assert [r["prediction"] for r in records] == ["A", "B", "C", "D", "A", "B"]  # the cloud's (correct) answers
    assert all(r["correct"] for r in records)
    updates = [r["extras"]["update"] for r in records if "update" in r["extras"]]
    assert len(updates) == 2 and len(s.history) == 3
    for r in records:
        up = r["exchanges"][0]
        assert up["kind"] == "uts_upload" and up["payload_bytes"] == r["extras"]["uplink_payload_bytes"]
        assert r["bytes_up"] == up["bytes"] > up["payload_bytes"]  # wire bytes include headers
        assert r["extras"]["kept_tokens"] == int(np.ceil(0.5 * r["extras"]["n_tokens"]))
    for u in updates:
        assert u["downlink_payload_bytes"] < u["dense_fp16_bytes"]
        assert u["compression_ratio"] == pytest.approx(u["dense_fp16_bytes"] / u["downlink_payload_bytes"])
        assert 0.0 <= u["heldout_acc"] <= 1.0 and 0.0 <= u["heldout_acc_dense"] <= 1.0


def test_tau_zero_keeps_everything_on_the_edge(tiny_edge, tiny_teleqna) -> None:
    s = _session(tiny_edge, tiny_teleqna, tau=0.0)
    records = [s.serve(q) for q in questions_from_teleqna(tiny_teleqna, np.arange(5))]
    assert not any(r["extras"]["uploaded"] for r in records)
    assert all(r["bytes_up"] == 0 and r["route"] == "edge" for r in records)
    assert [r["prediction"] for r in records] == [r["extras"]["edge_answer"] for r in records]
    assert len(s.history) == 1


def test_dense_codec_session_reports_equal_dense_accuracy(tiny_edge, tiny_teleqna) -> None:
    s = _session(tiny_edge, tiny_teleqna, tau=1.0, m=1.0, codec="dense-fp16")
    assert isinstance(s.codec, DenseFP16Codec)
    for q in questions_from_teleqna(tiny_teleqna, np.arange(3)):
        rec = s.serve(q)
    u = rec["extras"]["update"]
    assert u["heldout_acc"] == u["heldout_acc_dense"] and u["compression_ratio"] == 1.0


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match="Unknown token_score 'var'"):
        UTSConfig(token_score="var")
    with pytest.raises(ValueError, match="Unknown confidence rule"):
        UTSConfig(confidence="margin")
    with pytest.raises(ValueError, match="tau"):
        UTSConfig(tau=2.0)
