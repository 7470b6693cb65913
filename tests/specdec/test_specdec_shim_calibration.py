"""The SD Ianvs shim validates cheaply; the calibration is load-robust, hashed and reported."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from jointbench.registry import UnknownAliasError
from jointbench.specdec import session as session_mod
from jointbench.specdec import tracestore
from jointbench.specdec.calibrate import PROCEDURE, Calibration, calibrate, under_load
from jointbench.specdec.compute import calibration_from_dict, load_calibration_file
from jointbench.specdec.tiny import tiny_random_pair

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_CAL = ROOT / "tests/fixtures/specdec_golden/cache/calibration/smollm2-135m-int8-t1.json"


def _shim():
    spec = importlib.util.spec_from_file_location("sd_edge_model", ROOT / "testalgorithms/specdec/sd_edge_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def no_models(monkeypatch, tmp_path):
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))

    def boom(name):
        raise AssertionError("a constructor must not load a model")

    monkeypatch.setattr(tracestore, "get_pair", boom)
    monkeypatch.setattr(session_mod, "get_pair", boom)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"k": "abc"}, TypeError, "k: expected int, got 'abc'"),
    ({"k": -1}, ValueError, "k: must be >= 0"),
    ({"max_new_tokens": 0}, ValueError, "max_new_tokens: must be >= 1"),
    ({"temperature": "hot"}, TypeError, "temperature: expected float"),
    ({"strategy": "edge_clod"}, UnknownAliasError, "Unknown specdec placement 'edge_clod'. Available: cloud_only"),
    ({"policy": "nasd_typo", "strategy": "edge_cloud"}, UnknownAliasError, "Available: fixed, heuristic"),
    ({"codec": "dense_fp8", "strategy": "edge_cloud"}, UnknownAliasError, "Available: .*dense_fp16"),
    ({"codec": "ids_only", "strategy": "edge_cloud", "temperature": 1.0}, ValueError, "codec: 'ids_only'"),
    ({"pair": "gpt-5"}, ValueError, "pair: unknown model pair 'gpt-5'"),
    ({"network_rtt": 5}, ValueError, r"unknown network key 'network_rtt'"),
    ({"netwrk_rtt_ms": 5}, TypeError, r"unknown hyperparameter\(s\) \['netwrk_rtt_ms'\]"),
    ({"kk": 5}, TypeError, r"unknown hyperparameter\(s\) \[.kk.\]"),
    ({"calibration_file": "/nonexistent.json"}, ValueError, "calibration_file: '/nonexistent.json' does not exist"),
    ({"compute_context": "yes"}, TypeError, "compute_context: expected bool"),
])
def test_constructor_rejects_bad_hyperparameters_naming_the_key(no_models, kwargs, error, match):
    with pytest.raises(error, match=match):
        _shim().SDSessionEdgeModel(**{"pair": "tiny-random", **kwargs})


def test_constructor_is_cheap_and_preparation_happens_once_per_process(no_models, monkeypatch):
    mod = _shim()
    calls = []
    monkeypatch.setattr(session_mod, "record_all", lambda *a, **kw: calls.append(a))
    monkeypatch.setattr(session_mod.SpecDecSession, "compute", property(lambda self: None))
    a = mod.SDSessionEdgeModel(strategy="edge_cloud", pair="tiny-random", network_rtt_ms=10)
    b = mod.SDSessionEdgeModel(strategy="cloud_only", pair="tiny-random", network_rtt_ms=50)
    assert calls == []  # control for the next lines: construction records nothing
    a.check_dataset([{"prompt": "x"}, {"prompt": "y"}], ["A", "B"])
    b.check_dataset([{"prompt": "x"}, {"prompt": "y"}], ["A", "B"])
    assert len(calls) == 1


def test_old_calibration_files_still_read_and_are_procedure_1():
    cal = load_calibration_file(GOLDEN_CAL)
    assert cal.procedure == 1 and cal.statistic == "median" and cal.loadavg_1m is None
    assert not under_load(cal)
    assert len(cal.timing_hash()) == 16


def test_calibration_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "cal.json"
    bad.write_text(json.dumps({"draft_ms": 1.0, "colour": "red"}))
    with pytest.raises(ValueError, match=r"calibration_file '.*cal.json': calibration: unknown key\(s\) \['colour'\]"):
        load_calibration_file(bad)


def test_under_load_flag_and_hash_tracks_the_tables():
    base = dict(prefill_target_ms={16: 1.0}, prefill_draft_ms={16: 1.0}, draft_ms=1.0, verify_ms={0: 1.0},
                context_len=0, threads=1, repeats=9)
    idle = Calibration(**base, loadavg_1m=0.4, cpu_count=2)
    busy = Calibration(**base, loadavg_1m=6.0, cpu_count=2)
    assert not under_load(idle) and under_load(busy)
    assert idle.timing_hash() == busy.timing_hash()  # load is provenance, not timing
    slower = Calibration(**{**base, "draft_ms": 1.5})
    assert slower.timing_hash() != idle.timing_hash()
    assert calibration_from_dict(json.loads(json.dumps(busy.to_dict()))) == busy


def test_calibrate_records_procedure_quantile_and_load():
    pair = tiny_random_pair(vocab_size=64)
    cal = calibrate(pair.target, pair.draft, prompt_lens=(8,), ks=(0, 2), context_len=8, repeats=3)
    assert cal.procedure == PROCEDURE == 2 and cal.statistic == "q0.2" and cal.cpu_count
    assert cal.draft_ms > 0 and set(cal.verify_ms) == {0, 2}


def test_session_provenance_reports_calibration_values_and_hash(monkeypatch):
    monkeypatch.setattr(session_mod, "_CALIBRATIONS", {})
    s = session_mod.SpecDecSession("edge_cloud", pair="tiny-random", calibration_file=str(GOLDEN_CAL))
    prov = s.provenance()
    assert prov["calibration"]["source"] == str(GOLDEN_CAL)
    assert prov["calibration"]["sha256_16"] == load_calibration_file(GOLDEN_CAL).timing_hash()
    assert prov["calibration"]["draft_ms"] == pytest.approx(36.155268000015894)
    assert prov["strategy"] == {"placement": "edge_cloud", "policy": "FixedK(3)", "codec": "ids_only"}
    assert s.compute.calibration.draft_ms == prov["calibration"]["draft_ms"]
