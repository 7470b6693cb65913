"""Ianvs edge model of CRC + APS Grad-CAM patch offloading: the edge CNN, CRC acceptance and patch choice."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from jointbench.datasets.image_splits import IMAGE_DATASETS
from jointbench.ianvs_compat import prepare_edge_environment
from jointbench.patchoffload.edge_step import EDGE_POLICIES, edge_step
from jointbench.patchoffload.session import (calibration_for, post_uplink, sample_image, sample_ref,
                                             trio_for)
from jointbench.records import SampleRecord
from jointbench.registry import ClassFactory, ClassType

__all__ = ["CRCPatchEdgeModel"]


def _check_unit(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name}: must be a float in (0, 1), got {value!r}")
    return float(value)


@ClassFactory.register(ClassType.GENERAL, alias="CRCPatchEdgeModel")
class CRCPatchEdgeModel:
    """Edge side (seed Algorithm 2, edge half). Calibrates λ̂ and q̂ on the dataset's calibration split
    on the first sample; for an offloaded image, posts the τ-selected patches for the cloud.

    Parameters
    ----------
    dataset : str
        Offline image dataset (``cifar10`` or ``fashion-mnist``).
    split_seed : int
        Seed of the train/calibration/test split (>= 0); the test jsonl must be built with the same.
    alpha_crc : float
        CRC budget for the accept-and-wrong risk, in (0, 1).
    alpha_aps : float
        APS miscoverage, in (0, 1).
    tau : float
        Patch threshold τ in [0, 1] (0 sends every patch of an offloaded image).
    policy : str
        ``crc`` (the method), ``edge_only`` or ``server_only``.
    threads : int
        torch threads (>= 1).
    """

    def __init__(self, dataset: str = "cifar10", split_seed: int = 0, alpha_crc: float = 0.05,
                 alpha_aps: float = 0.05, tau: float = 0.5, policy: str = "crc", threads: int = 1) -> None:
        if dataset not in IMAGE_DATASETS:
            raise ValueError(f"dataset: unknown {dataset!r}. Available: {sorted(IMAGE_DATASETS)}")
        if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
            raise ValueError(f"split_seed: must be an int >= 0, got {split_seed!r}")
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0.0 <= float(tau) <= 1.0:
            raise ValueError(f"tau: must be a float in [0, 1], got {tau!r}")
        if policy not in EDGE_POLICIES:
            raise ValueError(f"policy: unknown {policy!r}. Available: {sorted(EDGE_POLICIES)}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads: must be an int >= 1, got {threads!r}")
        self.dataset, self.split_seed, self.policy, self.threads = dataset, split_seed, policy, threads
        self.alpha_crc, self.alpha_aps = _check_unit("alpha_crc", alpha_crc), _check_unit("alpha_aps", alpha_aps)
        self.tau = float(tau)
        prepare_edge_environment(str(Path(__file__).resolve().parent))

    def load(self, model_url: str | None = None, **kwargs: Any) -> None:
        """Called by sedna; the models load lazily on the first sample."""

    def check_dataset(self, x: Sequence[Any], y: Sequence[Any]) -> None:
        """Every sample must reference this module's dataset and split seed."""
        for i, item in enumerate(x):
            ref = sample_ref(item)
            if (ref.dataset, ref.split_seed) != (self.dataset, self.split_seed):
                raise ValueError(f"test row {i} references {ref.dataset}/seed {ref.split_seed}, but the edge "
                                 f"model is configured for {self.dataset}/seed {self.split_seed}")

    def predict(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Edge decision for one sample; returns a :class:`~jointbench.records.SampleRecord` dict."""
        ref = sample_ref(data)
        trio = trio_for(ref.dataset, ref.split_seed, self.threads)
        cal = calibration_for(ref.dataset, ref.split_seed, self.alpha_crc, self.alpha_aps)
        extras, message = edge_step(trio, cal, sample_image(ref), self.policy, self.tau)
        if message is not None:
            post_uplink(ref, message)
        return SampleRecord(sample_id=f"{ref.dataset}-{ref.split_seed}-{ref.index}", sample_index=ref.index,
                            prediction=extras["edge_prediction"], route="edge", extras=extras).to_dict()

    def provenance(self) -> dict[str, Any]:
        """Calibration values and model accuracies (after at least one sample)."""
        trio = trio_for(self.dataset, self.split_seed, self.threads)
        cal = calibration_for(self.dataset, self.split_seed, self.alpha_crc, self.alpha_aps)
        return {"calibration": cal.to_dict(), "model_accuracy_pct": trio.accuracies(), "tau": self.tau,
                "policy": self.policy}
