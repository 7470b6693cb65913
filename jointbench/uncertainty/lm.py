"""The edge LM split into a frozen trunk and a trainable, dropout-capable tail.

The update only trains tensors of the last ``tail_layers`` decoder blocks (LoRA or norms) and
MC dropout only perturbs the last blocks, so the first ``L - tail_layers`` blocks are a fixed
function of the prompt: their output is computed once per question (and cached on disk by
:mod:`jointbench.uncertainty.edge`), and every later forward (answering after each update,
MC passes, fine-tuning) runs the tail only. :meth:`SplitLM.tail` from :meth:`SplitLM.trunk`
equals the full model's forward; ``tests/uncertainty/test_edge.py`` checks it.

:func:`load_lm` is the ONE place this package loads a model, through the suite's shared loader
(:func:`jointbench.models.load_causal_lm`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["SplitLM", "fresh_lm", "load_lm", "remove_adapters"]


def load_lm(name: str) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for ``"smollm2-135m"``, ``"tiny-random"`` or a local HF folder (fp32, offline).

    Raises
    ------
    jointbench.models.ModelUnavailable
        Naming the missing model or package and how to install it.
    """
    from jointbench.models import load_causal_lm

    model, tokenizer = load_causal_lm(name, dtype=torch.float32)
    return model.eval(), tokenizer


_PRISTINE: dict[str, tuple[Any, Any, dict[str, torch.Tensor]]] = {}


def fresh_lm(name: str) -> tuple[Any, Any]:
    """:func:`load_lm` once per process, then the same model object restored to its loaded weights.

    Test cases run one after another in one process; each starts from the pristine edge
    (adapters injected by an earlier case removed, trained tensors restored).
    """
    if name not in _PRISTINE:
        model, tokenizer = load_lm(name)
        _PRISTINE[name] = (model, tokenizer, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model, tokenizer, state = _PRISTINE[name]
    remove_adapters(model)
    model.load_state_dict(state)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval(), tokenizer


def remove_adapters(model: Any) -> None:
    """Replace every PEFT-injected layer by its base layer (no-op without PEFT layers)."""
    try:
        from peft.tuners.tuners_utils import BaseTunerLayer
    except ImportError:  # pragma: no cover - peft is pinned in requirements.txt
        return
    for name, module in list(model.named_modules()):
        if isinstance(module, BaseTunerLayer) and "." in name:
            parent_name, child = name.rsplit(".", 1)
            setattr(model.get_submodule(parent_name), child, module.get_base_layer())
    if hasattr(model, "peft_config"):  # set by inject_adapter_in_model; a stale one makes peft warn
        del model.peft_config


def _causal_mask(t: int, dtype: torch.dtype) -> torch.Tensor:
    """Additive causal mask (1, 1, T, T): 0 on and below the diagonal, -inf above."""
    return torch.full((t, t), float("-inf"), dtype=dtype).triu(1)[None, None]


class SplitLM:
    """A Llama-family causal LM seen as ``trunk`` (blocks ``0 .. s-1``) and ``tail`` (``s .. L-1``).

    Parameters
    ----------
    model : transformers.LlamaForCausalLM (or any model with ``.model.layers``, ``.model.norm``,
        ``.model.rotary_emb``, ``.model.embed_tokens`` and ``.lm_head``)
    tail_layers : int
        Blocks in the tail, 1 .. L.
    """

    def __init__(self, model: Any, tail_layers: int) -> None:
        self.model = model
        self.layers = model.model.layers
        n = len(self.layers)
        if not 1 <= int(tail_layers) <= n:
            raise ValueError(f"tail_layers: must be in 1..{n} for this model, got {tail_layers!r}")
        self.split = n - int(tail_layers)
        self.dropout_p = 0.0
        self._gen: torch.Generator | None = None

    @property
    def n_layers(self) -> int:
        """Decoder blocks in the model."""
        return len(self.layers)

    def _run(self, h: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        t = h.shape[-2]
        pos = torch.arange(t).unsqueeze(0)
        cos_sin = self.model.model.rotary_emb(h, position_ids=pos)
        mask = _causal_mask(t, h.dtype)
        for layer in self.layers[start:stop]:
            h = layer(h, attention_mask=mask, position_ids=pos, position_embeddings=cos_sin)
        return h

    @torch.no_grad()
    def trunk(self, ids: torch.Tensor) -> torch.Tensor:
        """Output of blocks ``0 .. s-1`` for token ids ``(T,)``; shape (T, d)."""
        h = self.model.model.embed_tokens(ids.view(1, -1))
        return self._run(h, 0, self.split)[0]

    def tail(self, h: torch.Tensor, start: int | None = None) -> torch.Tensor:
        """Final normed hidden states from block ``start`` (default the split) on; (B, T, d) or (T, d)."""
        squeeze = h.dim() == 2
        x = h.unsqueeze(0) if squeeze else h
        out = self.model.model.norm(self._run(x, self.split if start is None else start, self.n_layers))
        return out[0] if squeeze else out

    def partial(self, h: torch.Tensor, stop: int) -> torch.Tensor:
        """Blocks ``split .. stop-1`` applied to trunk output ``h`` (T, d) -> (T, d)."""
        return self._run(h.unsqueeze(0), self.split, stop)[0]

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """LM-head logits of final hidden states (..., d) -> (..., V)."""
        return self.model.lm_head(hidden)

    @contextlib.contextmanager
    def dropout(self, p: float, first_layer: int, generator: torch.Generator) -> Iterator[None]:
        """Real dropout on the attention and MLP outputs of blocks ``first_layer ..`` (before the residual add).

        Llama blocks have no dropout modules of their own, so forward hooks drop each sublayer
        output with probability ``p`` (inverted scaling, masks from ``generator``), the
        residual dropout of the original Transformer.
        """
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout p: must be in [0, 1), got {p!r}")

        def drop(x: torch.Tensor) -> torch.Tensor:
            keep = (torch.rand(x.shape, generator=generator) >= p).to(x.dtype)
            return x * keep / (1.0 - p)

        def attn_hook(_m: Any, _i: Any, out: Any) -> Any:
            return (drop(out[0]), *out[1:]) if isinstance(out, tuple) else drop(out)

        def mlp_hook(_m: Any, _i: Any, out: torch.Tensor) -> torch.Tensor:
            return drop(out)

        handles = []
        for layer in self.layers[first_layer:]:
            handles.append(layer.self_attn.register_forward_hook(attn_hook))
            handles.append(layer.mlp.register_forward_hook(mlp_hook))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()


def option_distribution(logits_last: torch.Tensor, letter_ids: list[int]) -> torch.Tensor:
    """Softmax over the option letters' logits at the answer position: (V,) -> (n,)."""
    return F.softmax(logits_last[..., letter_ids], dim=-1)
