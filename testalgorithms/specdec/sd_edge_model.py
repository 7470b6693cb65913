"""Ianvs edge model of the speculative-decoding leaderboard: runs a whole session (self-design)."""

from __future__ import annotations

import json
import os
from typing import Any

from jointbench.ianvs_compat import prepare_edge_environment
from jointbench.registry import ClassFactory, ClassType
from jointbench.specdec.session import SpecDecSession

__all__ = ["SDSessionEdgeModel"]

DEFAULT_PROMPTS = "./examples/specdec/data/sd_prompts.jsonl"


@ClassFactory.register(ClassType.GENERAL, alias="SDSessionEdgeModel")
class SDSessionEdgeModel:
    """Edge side of every strategy; in self-design mode it schedules the cloud's work too.

    Parameters
    ----------
    prompts_file : str
        The test set, read once to record missing traces up front (one progress bar).
    **hyperparameters : Any
        Passed to :class:`jointbench.specdec.session.SpecDecSession`: ``strategy``,
        ``pair``, ``policy``, ``k``, ``max_new_tokens``, ``hardware`` (or
        ``edge_hardware``/``cloud_hardware``), ``bandwidth_mbps``, ``network_profile``,
        ``network_seed`` and any ``network_*`` key.
    """

    def __init__(self, prompts_file: str = DEFAULT_PROMPTS, **hyperparameters: Any) -> None:
        self.session = SpecDecSession(**hyperparameters)
        if os.path.isfile(prompts_file):
            with open(prompts_file, encoding="utf-8") as fh:
                rows = [json.loads(line)["question"] for line in fh if line.strip()]
            self.session.prepare([r["prompt"] if isinstance(r, dict) else str(r) for r in rows])
        prepare_edge_environment(prompts_file if os.path.exists(prompts_file) else os.getcwd())

    def load(self, model_url: str | None = None, **kwargs: Any) -> None:
        """Called by sedna with ``model_path``; traces and calibration are already cached."""

    def predict(self, data: Any, **kwargs: Any) -> list[Any]:
        """Serve one query; returns ``[is_hard, result, edge_result, cloud_result]`` (contract C8)."""
        question = data.item() if hasattr(data, "item") and not isinstance(data, (dict, str)) else data
        record = self.session.predict(question)
        return [False, record, record, None]
