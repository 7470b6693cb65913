"""Context-dependent compute (``compute_context``): fits, pricing, old files, contexts the placements pass.

No timing: the fits are checked against a fake timer that charges a known linear cost.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jointbench.netsim import HardwareProfile, Link, LinkConfig
from jointbench.specdec import FixedK
from jointbench.specdec import session as session_mod
from jointbench.specdec import tracestore
from jointbench.specdec.calibrate import Calibration, calibrate
from jointbench.specdec.compute import ComputeModel, calibration_from_dict, compute_model
from jointbench.specdec.context_cost import ContextCosts, LinearFit, fit_linear, measure_context_costs
from jointbench.specdec.loop import run_query
from jointbench.specdec.placement import Cycle
from jointbench.specdec.session import SpecDecSession
from jointbench.specdec.sources import RecordedSource, TokenSource
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.tiny import tiny_random_pair

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "specdec_golden"
GOLDEN_CAL = GOLDEN / "cache" / "calibration" / "smollm2-135m-int8-t1.json"


# --- the least-squares fit -------------------------------------------------------------------------

def test_fit_recovers_a_known_line_and_a_constant_is_not_one():
    fit = fit_linear([64, 192, 384, 640], [3.0 + 0.02 * c for c in (64, 192, 384, 640)])
    assert fit.base_ms == pytest.approx(3.0, abs=1e-9) and fit.slope_ms_per_token == pytest.approx(0.02, abs=1e-12)
    flat = fit_linear([64, 192, 384, 640], [10.0] * 4)  # control: no context effect, no slope
    assert flat.slope_ms_per_token == pytest.approx(0.0, abs=1e-12)
    assert fit.at(500) != pytest.approx(flat.at(500))
    with pytest.raises(ValueError, match="distinct contexts"):
        fit_linear([64, 64], [1.0, 2.0])


class _FakeLM:
    """Records each forward's (cache length, tokens in); ``length`` follows the calls like a KV cache."""

    def __init__(self):
        self.length, self.last = 0, None

    def prefill(self, ids):
        self.length = len(ids)

    def forward(self, ids, num_logits=1):
        self.last = (self.length, len(ids))
        self.length += len(ids)

    def crop(self, n):
        self.length = n


def test_measure_fits_each_stage_as_the_known_linear_cost():
    made = []

    def new_lm():
        made.append(_FakeLM())
        return made[-1]

    def time_once(fn):  # a fake clock: 2 ms + 1.5 ms per token in + 0.01 ms per token in per cached token
        for lm in made:
            lm.last = None
        fn()
        cached, n = next(lm for lm in made if lm.last is not None).last
        return 2.0 + 1.5 * n + 0.01 * n * cached

    costs = measure_context_costs(new_lm, new_lm, list(range(700)), time_once, min, 3, contexts=(64, 192, 384),
                                  ks=(0, 3))
    assert len(made) == 6  # one cache per context and model: contexts are timed in turn
    assert costs.draft.base_ms == pytest.approx(3.5) and costs.draft.slope_ms_per_token == pytest.approx(0.01)
    assert costs.refeed.base_ms == pytest.approx(5.0) and costs.refeed.slope_ms_per_token == pytest.approx(0.02)
    assert costs.verify[3].base_ms == pytest.approx(8.0) and costs.verify[3].slope_ms_per_token == pytest.approx(0.04)
    assert costs.verify[0].slope_ms_per_token == pytest.approx(0.01)
    # control: charging the re-feed as a draft step (the flat model) misses it by the known amount
    assert costs.refeed.at(300) - costs.draft.at(300) == pytest.approx(1.5 + 0.01 * 300)
    assert costs.verify_fit(2).slope_ms_per_token == pytest.approx(0.01 + 2 / 3 * 0.03)  # interpolated in K


def test_calibrate_tiny_pair_with_context_fits_round_trips_through_json():
    pair = tiny_random_pair()
    cal = calibrate(pair.target, pair.draft, prompt_lens=(8,), ks=(0, 2), repeats=1, context_lens=(8, 24),
                    context_ks=(0, 2))
    assert cal.context_costs is not None and cal.context_costs.contexts == [8, 24]
    assert sorted(cal.context_costs.points) == ["draft", "refeed", "verify0", "verify2"]
    back = calibration_from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back == cal and back.timing_hash() == cal.timing_hash()
    plain = calibrate(pair.target, pair.draft, prompt_lens=(8,), ks=(0, 2), repeats=1)
    assert "context_costs" not in plain.to_dict()  # the default calibration writes no new key


# --- pricing ---------------------------------------------------------------------------------------

def _costs(slope: float, draft=25.0, refeed=None, verify=None) -> ContextCosts:
    verify = verify or {0: 60.0, 3: 100.0, 8: 180.0}
    return ContextCosts([64, 640], LinearFit(draft - slope * 64, slope),
                        LinearFit((refeed or draft) - slope * 64, slope),
                        {k: LinearFit(v - slope * 64, slope * (k + 1)) for k, v in verify.items()})


def _cal(context_costs=None) -> Calibration:
    return Calibration({16: 40.0, 128: 300.0}, {16: 15.0, 128: 80.0}, 25.0, {0: 60.0, 3: 100.0, 8: 180.0}, 64, 1, 9,
                       context_costs=context_costs)


CYCLES = [Cycle(3, 3, 3, (1, 2, 3, 4)), Cycle(3, 3, 1, (5, 6)), Cycle(3, 3, 0, (7,)), Cycle(3, 3, 2, (8, 9, 10))]


def _latency(name, comp, n_prompt=100, link=None):
    strategy = Strategy.build(name, FixedK(3))
    source = RecordedSource(n_prompt, CYCLES) if strategy.speculative else TokenSource(n_prompt, list(range(10)))
    return run_query(strategy, source, comp, link or Link(LinkConfig(rtt_ms=20.0)), 64).timeline


@pytest.mark.parametrize("name", ["edge_cloud", "colocated", "cloud_only", "edge_only"])
def test_zero_slopes_price_like_the_flat_model_and_positive_slopes_cost_more(name):
    flat = compute_model(_cal())
    zero = compute_model(_cal(_costs(0.0)), context=True)
    sloped = compute_model(_cal(_costs(0.05)), context=True)
    t_flat, t_zero, t_slope = (_latency(name, c) for c in (flat, zero, sloped))
    assert t_zero.latency_ms == pytest.approx(t_flat.latency_ms, rel=1e-12)
    assert [e.duration_ms for e in t_zero.events] == pytest.approx([e.duration_ms for e in t_flat.events])
    assert t_slope.latency_ms > t_flat.latency_ms + 1.0  # control: context at 100+ tokens costs more
    assert sloped.verify_ms(3, 500) > sloped.verify_ms(3, 64) and sloped.draft_ms(500) > sloped.draft_ms(64)


def test_refeed_charges_the_first_draft_step_only():
    comp = compute_model(_cal(_costs(0.0, refeed=33.0)), context=True)
    assert comp.draft_block_ms(3, 100) == pytest.approx(33.0 + 2 * 25.0)
    assert compute_model(_cal(_costs(0.0, refeed=33.0))).draft_block_ms(3, 100) == 3 * 25.0  # flat: ignored


def test_context_off_ignores_the_fits_and_profiles_keep_their_cost_models():
    cal = _cal(_costs(0.05))
    off = compute_model(cal)
    assert off.verify_ms(3, 600) == off.verify_ms(3) == 100.0 and off.decode_ms(600) == 60.0
    scaled = ComputeModel(cal, HardwareProfile("e", scale=2.0), HardwareProfile("c", scale=0.5), context=True)
    assert scaled.verify_ms(3, 600) == pytest.approx(0.5 * cal.context_costs.verify[3].at(600))
    assert scaled.draft_ms(600) == pytest.approx(2.0 * cal.context_costs.draft.at(600))
    modelled = ComputeModel(cal, HardwareProfile("e", decode_ms_per_token=7.0),
                            HardwareProfile("c", decode_ms_per_token=9.0, verify_base_ms=10.0,
                                            verify_ms_per_token=2.0), context=True)
    assert modelled.draft_block_ms(3, 600) == 3 * 7.0 and modelled.decode_ms(600) == 9.0
    assert modelled.verify_ms(3, 600) == modelled.verify_ms(3, 64)


def test_context_true_without_fits_names_the_key_and_the_fix():
    with pytest.raises(ValueError, match="compute_context: true needs a calibration with context fits.*context_costs"):
        compute_model(_cal(), context=True, source="x.json")


# --- old files -------------------------------------------------------------------------------------

def test_old_calibration_file_loads_hashes_and_prices_as_before():
    data = json.loads(GOLDEN_CAL.read_text())
    assert "context_costs" not in data
    old = calibration_from_dict(data)
    assert old.context_costs is None and "context_costs" not in old.to_dict()
    import hashlib
    tables = {k: data[k] for k in ("prefill_target_ms", "prefill_draft_ms", "draft_ms", "verify_ms")}
    tables = {k: ({int(a): b for a, b in v.items()} if isinstance(v, dict) else v) for k, v in tables.items()}
    blob = json.dumps(tables, sort_keys=True, default=str, separators=(",", ":"))
    assert old.timing_hash() == hashlib.sha256(blob.encode()).hexdigest()[:16]  # the pre-context formula
    with_fits = Calibration(**{**old.__dict__, "context_costs": _costs(0.05)})
    assert with_fits.timing_hash() != old.timing_hash()  # control: the fits do enter the hash when present
    for name in ("edge_cloud", "cloud_only", "colocated"):
        assert _latency(name, compute_model(with_fits)).latency_ms == _latency(name, compute_model(old)).latency_ms


@pytest.fixture()
def golden_cache(monkeypatch):
    monkeypatch.setenv("JOINTBENCH_CACHE", str(GOLDEN / "cache"))
    monkeypatch.setattr(tracestore, "_TRACES", {})
    monkeypatch.setattr(session_mod, "_CALIBRATIONS", {})
    monkeypatch.setattr(session_mod, "_COMPUTE", {})

    def no_models(name):
        raise AssertionError("must not load a model")

    monkeypatch.setattr(tracestore, "get_pair", no_models)
    monkeypatch.setattr(session_mod, "get_pair", no_models)


def _golden_records(hp, **extra):
    hp = dict(hp)
    network = {k: hp.pop(k) for k in list(hp) if k.startswith("network_")}
    s = SpecDecSession(**hp, network=network, **extra)
    prompts = json.loads((GOLDEN / "prompts.json").read_text())
    return [s.predict({"prompt": p["prompt"], "kind": p["kind"], "id": str(i), "index": i})["latency_ms"]
            for i, p in enumerate(prompts)]


def test_new_format_file_with_fits_gives_the_golden_numbers_unless_asked(golden_cache, tmp_path):
    case = next(c for c in json.loads((GOLDEN / "expected.json").read_text())
                if c["hyperparameters"]["strategy"] == "edge_cloud")
    data = json.loads(GOLDEN_CAL.read_text())
    path = tmp_path / "with_fits.json"
    path.write_text(json.dumps({**data, "context_costs": _costs(0.05).to_dict()}))
    expected = [r["latency_ms"] for r in case["records"]]
    assert _golden_records(case["hyperparameters"], calibration_file=str(path)) == expected
    longer = _golden_records(case["hyperparameters"], calibration_file=str(path), compute_context=True)
    assert all(a != b for a, b in zip(longer, expected))  # control: asked for, the fits move every query


# --- the contexts the placements pass --------------------------------------------------------------

class _Spy(ComputeModel):
    def __init__(self):
        super().__init__(_cal(_costs(0.0)), HardwareProfile("e"), HardwareProfile("c"), context=True)
        object.__setattr__(self, "calls", [])

    def draft_block_ms(self, steps, context=None):
        self.calls.append(("draft", steps, context))
        return super().draft_block_ms(steps, context)

    def verify_ms(self, k, context=None):
        self.calls.append(("verify", k, context))
        return super().verify_ms(k, context)

    def decode_ms(self, context=None):
        self.calls.append(("decode", context))
        return super().decode_ms(context)


def test_edge_cloud_passes_prompt_plus_committed_tokens():
    spy = _Spy()
    _latency("edge_cloud", spy, n_prompt=20)
    # committed before each cycle: 20, 24, 26, 27; the cloud has cached all but the last committed token
    assert [c for c in spy.calls if c[0] == "draft"] == [("draft", 3, 20), ("draft", 3, 24), ("draft", 3, 26),
                                                         ("draft", 3, 27)]
    assert [c for c in spy.calls if c[0] == "verify"] == [("verify", 3, 19), ("verify", 3, 23), ("verify", 3, 25),
                                                          ("verify", 3, 26)]
    other = _Spy()  # control: another prompt length moves every context
    _latency("edge_cloud", other, n_prompt=21)
    assert [c for c in other.calls if c[0] == "draft"] != [c for c in spy.calls if c[0] == "draft"]


def test_cloud_only_passes_the_growing_cache_length():
    spy = _Spy()
    _latency("cloud_only", spy, n_prompt=20)
    assert [c[1] for c in spy.calls if c[0] == "decode" and c[1] is not None] == list(range(20, 29))


def test_session_measures_and_caches_the_context_calibration_only_when_asked(tmp_path, monkeypatch):
    from jointbench.specdec.compute import calibration_path

    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(session_mod, "_CALIBRATIONS", {})
    monkeypatch.setattr(session_mod, "_COMPUTE", {})
    hp = dict(pair="tiny-random", policy="fixed", k=3, max_new_tokens=8, network={"network_rtt_ms": 10.0})
    flat = SpecDecSession("edge_cloud", **hp).predict({"prompt": "question 0", "index": 0})
    assert not calibration_path("tiny-random", tmp_path, context=True).exists()  # control: the default never does
    session = SpecDecSession("edge_cloud", compute_context=True, **hp)
    rec = session.predict({"prompt": "question 0", "index": 0})
    saved = json.loads(calibration_path("tiny-random", tmp_path, context=True).read_text())
    assert saved["context_costs"]["contexts"] == [64, 192, 384, 640]
    assert session.provenance()["calibration"]["compute_context"] is True
    assert rec["extras"]["tokens"] == flat["extras"]["tokens"]  # timing only
