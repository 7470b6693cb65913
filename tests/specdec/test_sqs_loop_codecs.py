"""The SQS codecs in the loop: T=0 exactness, message sizes, engine round trips, state, params."""

from __future__ import annotations

import pytest
import torch

from jointbench.specdec import sampled, tracestore
from jointbench.specdec.codec import make_codec
from jointbench.specdec.codecs.sqs_codecs import message_bits
from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.session import SpecDecSession

PROMPTS = ["alpha beta gamma delta", "one two three four five", "red green blue"]
NEW = [("dense_lattice", {"ell": 64}), ("ids_k1", {}), ("k_sqs", {"k": 2}), ("k_sqs", {"k": 8}),
       ("c_sqs", {"alpha": 0.05}), ("c_sqs", {"alpha": 0.2, "k_max": 16})]


@pytest.fixture
def cold(tmp_path, monkeypatch):
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(sampled, "_RUNS", {})
    monkeypatch.setattr(tracestore, "_TRACES", {})
    return tmp_path


def _tokens(strategy: str, temperature: float, codec: str | None = None, params: dict | None = None,
            seed: int = 0) -> tuple[SpecDecSession, list[dict]]:
    s = SpecDecSession(strategy, pair="tiny-random", k=3, max_new_tokens=12, chat=False, temperature=temperature,
                       codec=codec, codec_params=params, sample_seed=seed,
                       network={"network_rtt_ms": 10, "network_uplink_bandwidth_mbps": 1})
    return s, [s.predict({"prompt": p, "index": i}) for i, p in enumerate(PROMPTS)]


@pytest.mark.parametrize(("codec", "params"), NEW)
def test_every_sqs_codec_at_t0_gives_the_cloud_only_tokens(cold, codec, params):
    _, cloud = _tokens("cloud_only", 0.0)
    _, spec = _tokens("edge_cloud", 0.0, codec, params)
    assert [r["extras"]["tokens"] for r in spec] == [r["extras"]["tokens"] for r in cloud]
    assert sum(sum(r["extras"]["drafted_per_cycle"]) for r in spec) > 0


def test_t0_control_edge_only_differs_from_cloud_only(cold):
    _, cloud = _tokens("cloud_only", 0.0)
    _, edge = _tokens("edge_only", 0.0)
    assert [r["extras"]["tokens"] for r in edge] != [r["extras"]["tokens"] for r in cloud]


@pytest.mark.parametrize(("codec", "params"), NEW)
def test_draft_message_is_the_accounted_bits_rounded_up(cold, codec, params):
    _, recs = _tokens("edge_cloud", 1.0, codec, params)
    n = 0
    for rec in recs:
        for size, stats in zip(rec["extras"]["draft_bytes_per_cycle"], rec["extras"]["codec_stats"]):
            assert len(stats["bits"]) == len(stats["tv"])
            assert size == 8 + (int(sum(stats["bits"])) + 7) // 8
            assert size <= make_codec(codec, params).encoded_len(len(stats["bits"]), 256)
            n += len(stats["bits"])
    assert n > 0


class _Spy:
    """Wraps a codec, keeping every (steps, message) the edge produced."""

    def __init__(self, codec):
        self.codec, self.sent = codec, []

    def __getattr__(self, name):
        return getattr(self.codec, name)

    def encode_steps(self, steps, vocab):
        data = self.codec.encode_steps(steps, vocab)
        self.sent.append((list(steps), data))
        return data


@pytest.mark.parametrize(("codec", "params"), NEW)
def test_round_trip_through_the_engine(codec, params):
    pair = tracestore.get_pair("tiny-random")
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, temperature=1.0)
    spy = _Spy(make_codec(codec, params))
    run = dec.start([1, 2, 3, 4], 16, spy, seed=3)
    while not run.done:
        run.cycle(3)
    assert spy.sent
    for steps, data in spy.sent:
        assert len(data) == (message_bits(steps) + 7) // 8
        ids, q_hat = spy.codec.decode(data)
        assert ids == [s.token for s in steps]
        if steps:
            assert q_hat is not None and q_hat.shape[0] == len(steps)
            rows = torch.arange(len(ids))
            assert torch.all(q_hat[rows, torch.tensor(ids)] > 0)  # drafted from q_hat
            assert torch.allclose(q_hat.sum(-1), torch.ones(len(ids)), atol=1e-6)
            assert all(int((r > 0).sum()) <= s.stats["support_size"] for r, s in zip(q_hat, steps))
            with pytest.raises(ValueError, match="cannot read"):  # control: the last byte carries bits
                spy.codec.decode(data[:-1])
    # every cycle's committed tokens start with its accepted drafts (the decoded ids were verified)
    for c, (steps, _) in zip(run.cycles, spy.sent):
        assert list(c.tokens[:c.accepted]) == [s.token for s in steps][:c.accepted]


def test_csqs_threshold_resets_per_query_and_moves_within_one(cold):
    _, recs = _tokens("edge_cloud", 1.5, "c_sqs", {"alpha": 0.1, "eta": 0.5, "beta1": 0.3})
    betas = [[b for s in r["extras"]["codec_stats"] for b in s["beta"]] for r in recs]
    assert all(b[0] == pytest.approx(0.3) for b in betas)
    assert any(len(set(b)) > 1 for b in betas)
    # control: without the per-query reset the second query would start where the first ended
    codec = make_codec("c_sqs", {"alpha": 0.1, "eta": 0.5, "beta1": 0.3})
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        codec.draft_step(torch.softmax(torch.randn(64, generator=gen), -1), gen)
    assert codec.scheme.beta != pytest.approx(0.3)
    codec.reset()
    assert codec.scheme.beta == pytest.approx(0.3)


def test_codec_params_are_checked_by_name():
    with pytest.raises(ValueError, match="codec_params: unknown key 'K' for codec 'k_sqs'. Allowed: k, ell"):
        make_codec("k_sqs", {"K": 3})
    with pytest.raises(ValueError, match="codec_params of codec 'k_sqs': k: must be an int >= 1, got '3'"):
        make_codec("k_sqs", {"k": "3"})
    with pytest.raises(ValueError, match="codec 'c_sqs': alpha: must be a float in"):
        make_codec("c_sqs", {"alpha": 2.0})
    with pytest.raises(ValueError, match="pick"):
        make_codec("ids_k1", {"pick": "first"})
    with pytest.raises(ValueError, match="unknown key 'k' for codec 'dense_fp16'. Allowed: none"):
        make_codec("dense_fp16", {"k": 3})
    assert make_codec("k_sqs", {"k": 8}).params["k"] == 8  # control: a valid key passes


Q5 = torch.tensor([0.5, 0.25, 0.15, 0.07, 0.03])
P5 = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15])
LOSSLESS = [("dense_fp16", {}), ("dense_lattice", {"ell": 4}), ("ids_k1", {}), ("k_sqs", {"k": 2, "ell": 4}),
            ("c_sqs", {"alpha": 0.3, "eta": 0.05, "beta1": 0.1, "ell": 4}),
            # the held-out rule's scale (benchmarks/sqs_csqs_rule.py): small eta, beta1 a small probability
            ("c_sqs", {"alpha": 0.6871, "eta": 0.00101, "beta1": 0.0019, "k_max": 4, "ell": 4})]


def _first_emitted_pvalue(codec, sample_then_quantise: bool = False, draws: int = 3000) -> float:
    """Draft one position through the codec's edge/wire/cloud path; chi-squared of the committed token vs p."""
    from scipy.stats import chisquare

    from jointbench.specdec.sampling import sample, speculative_verify

    gen_edge, gen_cloud = torch.Generator().manual_seed(5), torch.Generator().manual_seed(6)
    counts = torch.zeros(5)
    for _ in range(draws):
        step = codec.draft_step(Q5, gen_edge)
        ids, q_hat = codec.decode(codec.encode_steps([step], 5))
        if sample_then_quantise:  # the biased order: the token drawn from q, verified against q_hat
            ids = [sample(Q5, gen_edge)]
        n, nxt = speculative_verify(ids, q_hat, torch.stack([P5, P5]), gen_cloud)
        counts[ids[0] if n == 1 else nxt] += 1
    return float(chisquare(counts.numpy(), draws * P5.numpy()).pvalue)


@pytest.mark.parametrize(("codec", "params"), LOSSLESS)
def test_codec_path_is_lossless(codec, params):
    assert _first_emitted_pvalue(make_codec(codec, params)) > 1e-3


def test_codec_path_control_sample_then_quantise_is_biased():
    assert _first_emitted_pvalue(make_codec("k_sqs", {"k": 2, "ell": 4}), sample_then_quantise=True) < 1e-6


def test_edge_model_shim_passes_and_checks_codec_params():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "testalgorithms" / "specdec" / "sd_edge_model.py"
    spec = importlib.util.spec_from_file_location("sd_edge_model", path)  # the registry allows a re-run of one module
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    base = {"strategy": "edge_cloud", "pair": "tiny-random", "temperature": 1.0, "codec": "k_sqs"}
    with pytest.raises(TypeError, match="codec_params: expected dict"):
        mod.SDSessionEdgeModel(**base, codec_params="k=3")
    with pytest.raises(ValueError, match="unknown key 'kk' for codec 'k_sqs'"):
        mod.SDSessionEdgeModel(**base, codec_params={"kk": 3})
    ok = mod.SDSessionEdgeModel(**base, codec_params={"k": 8})  # control
    assert ok.session.strategy.codec.params["k"] == 8
