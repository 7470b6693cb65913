"""One edge-cloud UTS session: serve a question stream, upload uncertain samples, update the edge.

Per question (in stream order): the edge answers; UTS-1 decides whether to upload; if so UTS-2
picks the uncertainty tokens, the edge encodes the uplink message, the simulated link carries it,
the cloud decodes it, answers by replacement or fusion (that answer is served) and keeps the
pseudo-label. Every ``update_every`` pseudo-labels the cloud fine-tunes its copy of the edge's
trainable subset, encodes ``delta`` with the update codec and sends it down; the edge decodes
and applies it. After each update the edge alone is evaluated on the held-out questions, with
the compressed update (what it applied) and, for comparison, with the dense fp16 one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from jointbench.datasets.teleqna import TeleQnA
from jointbench.netsim import Link, hardware_profile
from jointbench.netsim.roundtrip import request_response
from jointbench.records import SampleRecord
from jointbench.uncertainty.cloud import LiveCloud, ReplayCloud, answer_rule
from jointbench.uncertainty.codec import DenseFP16Codec, apply_update, make_codec
from jointbench.uncertainty.edge import LETTERS, TOKEN_SCORES, EdgeAnswer, EdgeLM
from jointbench.uncertainty.payload import FEATURE_FORMATS, decode_uplink, encode_uplink
from jointbench.uncertainty.selection import confidence_rule, select_tokens
from jointbench.uncertainty.update import FinetuneConfig, TrainExample, finetune, load_state, make_trainable
from jointbench.uncertainty.update import snapshot
from jointbench.workers import refuse_in_parallel_worker

__all__ = ["Question", "UTSConfig", "UTSSession", "questions_from_teleqna"]

ANSWER_BYTES = 1  # the cloud returns the served option index


@dataclass(frozen=True)
class Question:
    """One TeleQnA question of the stream or of the held-out set."""

    row: int
    qid: str
    prompt: str
    n_options: int
    answer: int  # -1 when the key is missing
    index: int = 0


def questions_from_teleqna(data: TeleQnA, rows: np.ndarray) -> list[Question]:
    """:class:`Question` objects for ``rows`` of ``data``, indexed in the given order."""
    return [Question(int(r), str(data.question_ids[r]), str(data.prompts[r]), data.n_options,
                     int(data.answer[r]) if data.gold_valid[r] else -1, i) for i, r in enumerate(rows)]


@dataclass(frozen=True)
class UTSConfig:
    """Every knob of a session (see ``docs/uncertainty.md``)."""

    confidence: str = "maxprob"
    tau: float = 0.5
    token_score: str = "mc-dropout"
    m: float = 0.25
    mc_passes: int = 8
    dropout_p: float = 0.1
    dropout_layers: int = 2
    feature_format: str = "fp16"
    answer_rule: str = "replace"
    fusion_weight: float = 0.7
    update_every: int = 16
    subset: str = "lora"
    lora_rank: int = 4
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    codec: str = "topk-quant"
    rho: float = 0.1
    bits: int = 4
    query_interval_ms: float = 1000.0
    edge_hardware: str = "this-cpu"
    cloud_hardware: str = "cloud-gpu-7b"
    seed: int = 0

    def __post_init__(self) -> None:
        confidence_rule(self.confidence)
        answer_rule(self.answer_rule)
        make_codec(self.codec, self.rho, self.bits)
        if self.token_score not in TOKEN_SCORES:
            raise ValueError(f"Unknown token_score {self.token_score!r}. Available: {', '.join(TOKEN_SCORES)}")
        if self.feature_format not in FEATURE_FORMATS:
            raise ValueError(f"Unknown feature_format {self.feature_format!r}. Available: {', '.join(FEATURE_FORMATS)}")
        if not 0.0 <= self.tau <= 1.0 or not 0.0 < self.m <= 1.0:
            raise ValueError(f"tau must be in [0, 1] and m in (0, 1], got tau={self.tau!r}, m={self.m!r}")
        if self.update_every < 1:
            raise ValueError(f"update_every: must be >= 1, got {self.update_every!r}")


class UTSSession:
    """The edge, the cloud and the link of one test case (state kept across the stream).

    Parameters
    ----------
    edge : EdgeLM
    cloud : ReplayCloud or LiveCloud
        Whose answer distribution serves an uploaded question (replayed Qwen2-7B, or a live model).
    cfg : UTSConfig
    link : Link
        Seeded; every uplink, answer and update message goes through it.
    heldout : list of Question
        Evaluated edge-alone before the first and after every update.
    """

    def __init__(self, edge: EdgeLM, cloud: ReplayCloud | LiveCloud, cfg: UTSConfig, link: Link,
                 heldout: list[Question]) -> None:
        self.edge, self.cloud, self.heldout = edge, cloud, heldout
        self.params: dict[str, torch.nn.Parameter] | None = None
        self.reconfigure(cfg, link)
        self.pending: list[TrainExample] = []
        self.round = 0
        self.history: list[dict[str, Any]] = []
        self.last_answers = np.zeros(0, dtype=int)
        self._start_reported = False

    def reconfigure(self, cfg: UTSConfig, link: Link) -> None:
        """Set the configuration and the link (the Ianvs cloud module brings its part late).

        Allowed until the trainable subset exists (the first update); the edge's fields of ``cfg``
        must not change after answering has started, which the caller guarantees.
        """
        if self.params is not None and cfg.subset != self.cfg.subset:
            raise ValueError("reconfigure: the trainable subset cannot change after an update")
        self.cfg, self.link = cfg, link
        self.codec = make_codec(cfg.codec, cfg.rho, cfg.bits)
        self.rule = answer_rule(cfg.answer_rule)
        self.edge_hw = hardware_profile(cfg.edge_hardware)
        self.cloud_hw = hardware_profile(cfg.cloud_hardware)

    def trainable(self) -> dict[str, torch.nn.Parameter]:
        """The edge's trainable subset, created (LoRA injected: the edge is unchanged) on first use."""
        if self.params is None:
            self.params = make_trainable(self.edge.lm, self.cfg.subset, self.cfg.lora_rank, self.cfg.seed)
            self.layout = {k: tuple(v.shape) for k, v in self.params.items()}
        return self.params

    @torch.no_grad()
    def evaluate(self, questions: list[Question] | None = None) -> float:
        """Edge-alone accuracy on ``questions`` (default the held-out set); nan if empty."""
        qs = [q for q in (self.heldout if questions is None else questions) if q.answer >= 0]
        if not qs:
            return float("nan")
        answers = self.edge.answer_batch([(q.prompt, q.n_options) for q in qs])
        self.last_answers = answers
        return float(np.mean(answers == np.array([q.answer for q in qs])))

    def heldout_answers(self) -> list[int]:
        """Option indices the edge chose on the held-out set at the last :meth:`evaluate` (diagnostics)."""
        return [int(a) for a in self.last_answers]

    def start(self) -> dict[str, Any]:
        """Round 0: held-out accuracy of the edge before any update."""
        entry = {"round": 0, "heldout_acc": self.evaluate(), "heldout_acc_dense": None,
                 "heldout_answers": self.heldout_answers()}
        self.history = [entry]
        return entry

    def serve(self, q: Question) -> dict[str, Any]:
        """Answer one stream question; returns its :class:`~jointbench.records.SampleRecord` dict."""
        record, ans = self.edge_step(q)
        if record["extras"]["uploaded"]:
            return self.cloud_step(q, ans, record)
        return record

    def edge_step(self, q: Question) -> tuple[dict[str, Any], EdgeAnswer]:
        """The edge's answer and UTS-1 decision (``extras["uploaded"]``), as a record dict."""
        refuse_in_parallel_worker("the uncertainty-token session (its edge latency is measured wall time)")
        if not self.history:
            self.start()
        cfg = self.cfg
        ans = self.edge.answer(q.prompt, q.n_options)
        conf = confidence_rule(cfg.confidence)(ans.option_probs[None])
        extras: dict[str, Any] = {"confidence": conf, "uncertainty": 1.0 - conf, "edge_answer": LETTERS[ans.answer],
                                  "edge_correct": (ans.answer == q.answer) if q.answer >= 0 else None,
                                  "uploaded": conf < cfg.tau, "round": self.round, "n_tokens": int(ans.ids.numel())}
        if not self._start_reported:  # the first record carries round 0 (before any update)
            extras["heldout"] = {k: v for k, v in self.history[0].items() if k != "heldout_answers"}
            self._start_reported = True
        rec = SampleRecord(sample_id=q.qid, sample_index=q.index, extras=extras, route="edge",
                           prediction=LETTERS[ans.answer], network_ms=0.0)
        rec.edge_compute_ms = rec.latency_ms = self.edge_hw.scaled_ms(ans.compute_ms)
        rec.correct = (rec.prediction == LETTERS[q.answer]) if q.answer >= 0 else None
        return rec.to_dict(), ans

    def cloud_step(self, q: Question, ans: EdgeAnswer, edge_record: dict[str, Any]) -> dict[str, Any]:
        """UTS-2, the uplink, the cloud's answer and pseudo-label, and the update when one is due."""
        rec = SampleRecord(**{**edge_record, "extras": dict(edge_record["extras"])})
        self._upload(q, ans, rec, q.index * self.cfg.query_interval_ms)
        rec.correct = (rec.prediction == LETTERS[q.answer]) if q.answer >= 0 else None
        return rec.to_dict()

    def _upload(self, q: Question, ans: EdgeAnswer, rec: SampleRecord, t0: float) -> None:
        cfg = self.cfg
        t_mc = time.perf_counter()
        scores = self.edge.token_scores(cfg.token_score, ans, cfg.mc_passes, cfg.dropout_p, cfg.dropout_layers,
                                        seed=cfg.seed * 100003 + q.index)
        pos = select_tokens(scores, cfg.m)
        message = encode_uplink(ans.ids.numpy(), ans.option_probs, pos, ans.hidden[torch.as_tensor(pos)].numpy(),
                                int(self.edge.lm.model.config.vocab_size), cfg.feature_format)
        edge_ms = self.edge_hw.scaled_ms(ans.compute_ms + (time.perf_counter() - t_mc) * 1000.0)
        # --- cloud side: everything below uses only the decoded message and the replayed cloud.
        up = decode_uplink(message)
        served = self.rule(up.option_probs, self.cloud.distribution(q.row), cfg.fusion_weight)
        label = int(np.argmax(served))
        cloud_ms = self.cloud_hw.prefill_ms(int(up.ids.size)) + self.cloud_hw.decode_ms(1)
        rr = request_response(self.link, len(message), ANSWER_BYTES, t_start_ms=t0 + edge_ms,
                              server_compute_ms=cloud_ms, up_kind="uts_upload", down_kind="answer")
        trunk, _ = self.edge.trunk_of(torch.from_numpy(up.ids))
        self.pending.append(TrainExample(trunk, self.edge.letter_ids[label], up.positions,
                                         torch.from_numpy(up.features)))
        rec.prediction, rec.route = LETTERS[label], "both"
        rec.edge_compute_ms, rec.cloud_compute_ms, rec.network_ms = edge_ms, cloud_ms, rr.network_ms
        rec.latency_ms = edge_ms + rr.total_ms
        rec.bytes_up, rec.bytes_down, rec.retransmissions = rr.bytes_up, rr.bytes_down, rr.retransmissions
        rec.exchanges = rr.exchanges
        rec.extras.update({"kept_tokens": int(pos.size), "uplink_payload_bytes": len(message),
                           "pseudo_label": LETTERS[label],
                           "pseudo_label_correct": (label == q.answer) if q.answer >= 0 else None})
        if len(self.pending) >= cfg.update_every:
            info = self.update(t_ms=t0 + rec.latency_ms)
            rec.bytes_down += info["downlink_bytes"]
            rec.exchanges = rec.exchanges + [info.pop("exchange")]
            rec.extras["update"] = info

    def update(self, t_ms: float = 0.0) -> dict[str, Any]:
        """Fine-tune on the pending pseudo-labels, send the compressed delta down, apply it, evaluate."""
        self.round += 1
        self.trainable()
        old = snapshot(self.params)
        ft = FinetuneConfig(**{**asdict(self.cfg.finetune), "seed": self.cfg.seed * 1000 + self.round})
        t_train = time.perf_counter()
        losses = finetune(self.edge.lm, self.params, self.pending, ft)
        train_ms = (time.perf_counter() - t_train) * 1000.0
        delta = {k: v.detach() - old[k] for k, v in self.params.items()}
        dense_msg = DenseFP16Codec().encode(delta)
        message = self.codec.encode(delta)
        # The edge's side: decode the message and apply it to its (old) tensors.
        load_state(self.params, old)
        apply_update(self.params, self.codec.decode(message, self.layout))
        acc = self.evaluate()
        answers = self.heldout_answers()
        if isinstance(self.codec, DenseFP16Codec):
            acc_dense = acc
        else:  # what the dense fp16 update would have given (the compressed-vs-dense accuracy drop)
            applied = snapshot(self.params)
            load_state(self.params, old)
            apply_update(self.params, DenseFP16Codec().decode(dense_msg, self.layout))
            acc_dense = self.evaluate()
            load_state(self.params, applied)
        down = self.link.send("down", len(message), kind="model_update", t_ms=t_ms)
        entry = {"round": self.round, "n_pseudo_labels": len(self.pending), "heldout_acc": acc,
                 "heldout_acc_dense": acc_dense, "heldout_answers": answers, "downlink_payload_bytes": len(message),
                 "downlink_bytes": down.bytes, "dense_fp16_bytes": len(dense_msg),
                 "compression_ratio": len(dense_msg) / len(message), "update_delay_ms": down.delay_ms,
                 "train_ms": train_ms, "losses": losses}
        self.history.append(entry)
        self.pending = []
        return {**{k: v for k, v in entry.items() if k != "heldout_answers"}, "exchange": down.to_dict()}
