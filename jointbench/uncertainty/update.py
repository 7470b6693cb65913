"""AKD on the cloud: fine-tune the edge's trainable subset on pseudo-labels.

**Trainable subset** (:data:`SUBSETS`), always inside the tail blocks so the frozen trunk
stays cached: ``"lora"`` (PEFT LoRA on ``q_proj``/``v_proj`` of the tail blocks, injected
with ``peft.inject_adapter_in_model``; B starts at 0, so the edge is unchanged until an update)
or ``"norms"`` (the RMSNorm weights of the tail blocks and the final norm; CD-CCA trains
norms, biases and LoRA; Llama has no biases).

**Loss** (:data:`LOSSES`) per pseudo-labelled sample:
``CE`` of the pseudo-label's letter token at the answer position (full vocabulary), plus
``mse_weight * MSE(h_s, h_t)`` (CD-CCA's SKD), plus ``wavelet_weight * sum_j L1(H_j(h_t), H_j(h_s))``
(FKD: db6, J=3 detail bands along the token axis, :func:`~jointbench.uncertainty.wavelet.highband_l1`),
where ``h_s`` are the student's final hidden states at the uploaded uncertainty tokens and ``h_t``
the features the edge uploaded for them. CD-CCA's ``h_t`` comes from a stronger teacher of the
same width; the replayed cloud has no hidden states, so here the uploaded features are the
target and the feature terms anchor the student's uncertain-token features while CE moves its
answers (with a live cloud LM of the same width they would be the teacher's features).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from jointbench.uncertainty.lm import SplitLM
from jointbench.uncertainty.wavelet import highband_l1

__all__ = ["LOSSES", "SUBSETS", "FinetuneConfig", "TrainExample", "finetune", "make_trainable", "snapshot"]

SUBSETS = ("lora", "norms")
LOSSES = ("ce", "ce+mse", "ce+mse+wavelet")


def make_trainable(lm: SplitLM, subset: str = "lora", lora_rank: int = 4, seed: int = 0) -> dict[str, torch.nn.Parameter]:
    """Make only ``subset`` of the tail trainable; returns its parameters by name (sorted).

    Raises
    ------
    ValueError
        Unknown subset (listing :data:`SUBSETS`).
    """
    model = lm.model
    tail = list(range(lm.split, lm.n_layers))
    if subset == "lora":
        from peft import LoraConfig, inject_adapter_in_model

        config = LoraConfig(r=int(lora_rank), lora_alpha=2 * int(lora_rank), lora_dropout=0.0,
                            target_modules=["q_proj", "v_proj"], layers_to_transform=tail, layers_pattern="layers")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            inject_adapter_in_model(config, model)
        keep = lambda name: "lora_" in name  # noqa: E731
    elif subset == "norms":
        prefixes = tuple(f"model.layers.{i}." for i in tail)
        keep = lambda name: name == "model.norm.weight" or (name.startswith(prefixes) and "norm" in name)  # noqa: E731
    else:
        raise ValueError(f"Unknown trainable subset {subset!r}. Available: {', '.join(SUBSETS)}")
    params = {}
    for name, p in model.named_parameters():
        p.requires_grad_(keep(name))
        if keep(name):
            params[name] = p
    if not params:
        raise ValueError(f"trainable subset {subset!r} matched no parameter of this model")
    return dict(sorted(params.items()))


def snapshot(params: dict[str, torch.nn.Parameter]) -> dict[str, torch.Tensor]:
    """Detached copies of the trainable tensors."""
    return {k: v.detach().clone() for k, v in params.items()}


@torch.no_grad()
def load_state(params: dict[str, torch.nn.Parameter], state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` into the trainable tensors."""
    for k, v in state.items():
        params[k].copy_(v)


@dataclass(frozen=True)
class TrainExample:
    """One pseudo-labelled upload as the cloud sees it.

    Attributes
    ----------
    trunk : torch.Tensor, shape (T, d)
        Frozen-trunk output of the uploaded prompt ids (the cloud's copy of the edge computes it).
    target_id : int
        Token id of the pseudo-label's letter.
    positions : numpy.ndarray, shape (k,)
        Uploaded uncertainty-token positions.
    features : torch.Tensor, shape (k, d)
        Uploaded features at those positions.
    """

    trunk: torch.Tensor
    target_id: int
    positions: np.ndarray
    features: torch.Tensor


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning hyperparameters (few steps: the machine is 2 shared cores)."""

    loss: str = "ce+mse+wavelet"
    epochs: int = 2
    batch: int = 4
    lr: float = 2e-3
    mse_weight: float = 1.0
    wavelet_weight: float = 1.0
    clip: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"Unknown loss {self.loss!r}. Available: {', '.join(LOSSES)}")


def sample_loss(lm: SplitLM, ex: TrainExample, cfg: FinetuneConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one example and its parts."""
    hidden = lm.tail(ex.trunk)
    logits = lm.logits(hidden[-1])
    ce = F.cross_entropy(logits[None], torch.tensor([ex.target_id]))
    total, parts = ce, {"ce": float(ce.detach())}
    if cfg.loss != "ce" and len(ex.positions):
        student = hidden[torch.as_tensor(ex.positions)]
        mse = F.mse_loss(student, ex.features)
        total = total + cfg.mse_weight * mse
        parts["mse"] = float(mse.detach())
        if cfg.loss == "ce+mse+wavelet":
            fkd = highband_l1(student, ex.features)
            total = total + cfg.wavelet_weight * fkd
            parts["wavelet"] = float(fkd.detach())
    return total, parts


def finetune(lm: SplitLM, params: dict[str, torch.nn.Parameter], examples: Sequence[TrainExample],
             cfg: FinetuneConfig) -> dict[str, float]:
    """Train ``params`` in place on ``examples``; returns the mean loss parts of the last epoch."""
    if not examples:
        return {}
    opt = torch.optim.AdamW(list(params.values()), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.0)
    rng = np.random.default_rng(cfg.seed)
    last: dict[str, list[float]] = {}
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(examples))
        sums: dict[str, list[float]] = {}
        for start in range(0, len(order), cfg.batch):
            chunk = order[start:start + cfg.batch]
            opt.zero_grad()
            for i in chunk:
                loss, parts = sample_loss(lm, examples[int(i)], cfg)
                (loss / len(chunk)).backward()
                for k, v in parts.items():
                    sums.setdefault(k, []).append(v)
            torch.nn.utils.clip_grad_norm_(list(params.values()), cfg.clip)
            opt.step()
        last = sums
    return {k: float(np.mean(v)) for k, v in last.items()}
