"""Golden T=0 numbers: today's loop reproduces main's (pre-rewrite) records exactly.

The fixture (``tests/fixtures/specdec_golden``) holds four recorded traces, the calibration and
the records main's code computed for 36 settings; see its README.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jointbench.specdec import session as session_mod
from jointbench.specdec import tracestore
from jointbench.specdec.session import SpecDecSession

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "specdec_golden"
FIELDS = ("latency_ms", "ttft_ms", "network_ms", "edge_compute_ms", "cloud_compute_ms", "bytes_up", "bytes_down",
          "tokens_out", "cycles", "drafted", "accepted", "prediction")
EXTRAS = ("tokens_per_s", "k_per_cycle", "accepted_per_cycle", "tokens", "agrees_with_cloud", "messages")


@pytest.fixture()
def golden_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every cache at the fixture and forget what this process loaded."""
    monkeypatch.setenv("JOINTBENCH_CACHE", str(FIXTURE / "cache"))
    monkeypatch.setattr(tracestore, "_TRACES", {})
    monkeypatch.setattr(session_mod, "_CALIBRATIONS", {})
    monkeypatch.setattr(session_mod, "_COMPUTE", {})

    def no_models(name: str) -> None:
        raise AssertionError("the golden test must not load a model")

    monkeypatch.setattr(tracestore, "get_pair", no_models)
    monkeypatch.setattr(session_mod, "get_pair", no_models)


def _records(hp: dict) -> list[dict]:
    hp = dict(hp)
    network = {k: hp.pop(k) for k in list(hp) if k.startswith("network_")}
    s = SpecDecSession(**hp, network=network)
    prompts = json.loads((FIXTURE / "prompts.json").read_text())
    out = []
    for i, p in enumerate(prompts):
        r = s.predict({"prompt": p["prompt"], "kind": p["kind"], "id": str(i), "index": i})
        out.append({**{k: r[k] for k in FIELDS}, **{k: r["extras"][k] for k in EXTRAS}})
    return out


def _cases() -> list[dict]:
    return json.loads((FIXTURE / "expected.json").read_text())


@pytest.mark.parametrize("case", _cases(), ids=lambda c: "-".join(str(v) for v in c["hyperparameters"].values()))
def test_golden_t0_records_identical(golden_cache: None, case: dict) -> None:
    """Every field that decides a leaderboard metric equals main's value exactly (no tolerance)."""
    got = _records(case["hyperparameters"])
    assert got == case["records"]


def test_golden_control_detects_a_changed_number(golden_cache: None) -> None:
    """Control: the comparison fails when one timing input changes by a hair."""
    case = next(c for c in _cases() if c["hyperparameters"]["strategy"] == "edge_cloud")
    hp = dict(case["hyperparameters"])
    hp["network_rtt_ms"] = hp.get("network_rtt_ms", 0) + 1e-9 if "network_profile" not in hp else None
    if hp["network_rtt_ms"] is None:
        hp.pop("network_rtt_ms")
        hp["network_seed"] = 1
    assert _records(hp) != case["records"]
