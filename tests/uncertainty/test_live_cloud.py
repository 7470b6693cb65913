"""A live cloud model serves uploaded questions with its own option distribution."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.models import ModelUnavailable
from jointbench.netsim import Link
from jointbench.uncertainty.cloud import REPLAY, LiveCloud, ReplayCloud, make_cloud
from jointbench.uncertainty.session import UTSConfig, UTSSession, questions_from_teleqna
from jointbench.uncertainty.update import FinetuneConfig


def test_live_cloud_answers_with_its_model(tiny_edge, tiny_teleqna) -> None:
    live = make_cloud("tiny-random", tiny_teleqna)
    assert isinstance(live, LiveCloud) and isinstance(make_cloud(REPLAY, tiny_teleqna), ReplayCloud)
    got = live.distribution(2)
    same_model = tiny_edge.answer(str(tiny_teleqna.prompts[2]), 4).option_probs  # edge runs the same weights
    np.testing.assert_allclose(got, same_model, atol=1e-6)
    assert not np.allclose(got, ReplayCloud(tiny_teleqna).distribution(2))  # control: not the replayed row
    cfg = UTSConfig(tau=1.0, m=0.5, mc_passes=3, dropout_layers=1, update_every=99,
                    finetune=FinetuneConfig(epochs=1, batch=2))
    session = UTSSession(tiny_edge, live, cfg, Link({"network_rtt_ms": 20.0}),
                         questions_from_teleqna(tiny_teleqna, np.array([6, 7])))
    q = questions_from_teleqna(tiny_teleqna, np.array([2]))[0]
    record = session.serve(q)
    assert record["extras"]["uploaded"] and record["prediction"] == "ABCD"[int(np.argmax(got))]
    with pytest.raises(IndexError):
        live.distribution(len(tiny_teleqna))


def test_a_missing_cloud_model_names_itself(tiny_teleqna, tmp_path) -> None:
    with pytest.raises(ModelUnavailable, match=str(tmp_path / "no-such-model")):
        make_cloud(str(tmp_path / "no-such-model"), tiny_teleqna)
