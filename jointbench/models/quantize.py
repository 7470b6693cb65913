"""Cheaper copies of a loaded model: int8 dynamic quantisation and a bfloat16 cast."""

from __future__ import annotations

import copy
import warnings

import torch


def int8_dynamic_copy(model: torch.nn.Module, inplace: bool = False) -> torch.nn.Module:
    """Return an int8-dynamic-quantised copy of ``model`` (every ``nn.Linear``).

    Weights become int8 (per tensor), activations are quantised on the fly; CPU only.
    Takes about 4 s for SmolLM2-135M on 2 cores.

    Parameters
    ----------
    model : torch.nn.Module
        An fp32 model.
    inplace : bool
        Quantise ``model`` itself instead of a deep copy.
    """
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao, but still ships in torch 2.13.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=inplace).eval()


def bf16_copy(model: torch.nn.Module) -> torch.nn.Module:
    """Return a bfloat16 copy of ``model``."""
    return copy.deepcopy(model).to(torch.bfloat16).eval()
