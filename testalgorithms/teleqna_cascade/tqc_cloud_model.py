"""Ianvs cloud model of the TeleQnA cascade: replays Qwen2-7B's cached answers."""

from __future__ import annotations

from typing import Any

from jointbench.cascade.replay import CachedAnswerModel
from jointbench.registry import ClassFactory, ClassType

__all__ = ["TeleQnACachedCloudModel"]


@ClassFactory.register(ClassType.GENERAL, alias="TeleQnACachedCloudModel")
class TeleQnACachedCloudModel:
    """Cloud side of the cascade; called only for deferred questions.

    Parameters
    ----------
    n_options : int
        4 or 5.
    data_file_path : str, optional
        A regenerated ``.npz`` instead of the shipped tensors.
    """

    def __init__(self, n_options: int = 4, data_file_path: str | None = None) -> None:
        self.model = CachedAnswerModel("cloud", n_options, data_file_path)

    def inference(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Answer one deferred question; returns a record dict."""
        return self.model.answer(data).to_dict()
