"""Per-process state the Ianvs modules of the method share: the trained models, the calibration, the
test images by index, and the uplink channel from the edge module to the cloud module.

Ianvs runs the edge model, the hard-example miner and the cloud model in one process and hands the
cloud only the raw sample, so the edge *posts* its uplink message (the kept patch pixels and their
indices) here and the cloud *takes* it: the server never sees more of an image than the edge sent.
Models and calibrations are cached per process by everything that decides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from jointbench.patchoffload.calibration import Calibration, calibrate
from jointbench.patchoffload.models import ModelTrio, load_trio
from jointbench.patchoffload.pipeline import Messages, edge_pass

__all__ = ["SampleRef", "calibration_for", "post_uplink", "sample_image", "sample_ref", "take_uplink", "trio_for"]

_TRIOS: dict[tuple[str, int], ModelTrio] = {}
_CALS: dict[tuple[str, int, float, float], Calibration] = {}
_UPLINK: dict[tuple[str, int, int], Messages] = {}


@dataclass(frozen=True)
class SampleRef:
    """A test sample named by dataset, split seed and row in the test split (what the jsonl rows hold)."""

    dataset: str
    split_seed: int
    index: int

    @property
    def key(self) -> tuple[str, int, int]:
        """Dictionary key."""
        return (self.dataset, self.split_seed, self.index)


def sample_ref(x: Any) -> SampleRef:
    """Parse a sample ``{"dataset": str, "split_seed": int, "index": int}`` (Ianvs passes jsonl
    ``question`` values through unchanged when they are objects)."""
    if not isinstance(x, Mapping) or not {"dataset", "split_seed", "index"} <= set(x):
        raise ValueError(f"a crc_patch_offload sample must be a mapping with dataset, split_seed and index; got {x!r}")
    return SampleRef(str(x["dataset"]), int(x["split_seed"]), int(x["index"]))


def trio_for(dataset: str, split_seed: int, threads: int = 1) -> ModelTrio:
    """The method's trained models for ``dataset`` (trained once per cache, loaded once per process;
    the baselines' ViT edge is not loaded: no module here uses it)."""
    key = (dataset, int(split_seed))
    if key not in _TRIOS:
        _TRIOS[key] = load_trio(dataset, int(split_seed), threads=threads, with_edge_vit=False)
    return _TRIOS[key]


def calibration_for(dataset: str, split_seed: int, alpha_crc: float, alpha_aps: float) -> Calibration:
    """Algorithm 1 on the calibration split with the edge CNN (cached per process)."""
    key = (dataset, int(split_seed), float(alpha_crc), float(alpha_aps))
    if key not in _CALS:
        trio = trio_for(dataset, split_seed)
        probs = edge_pass(trio.edge_cnn.model, trio.splits.x_cal).probs
        _CALS[key] = calibrate(probs, trio.splits.y_cal, alpha_crc, alpha_aps)
    return _CALS[key]


def sample_image(ref: SampleRef) -> np.ndarray:
    """The uint8 ``(1, H, W, C)`` test image a reference names."""
    x = trio_for(ref.dataset, ref.split_seed).splits.x_test
    if not 0 <= ref.index < len(x):
        raise ValueError(f"sample index {ref.index} outside the {ref.dataset} test split (0..{len(x) - 1})")
    return x[ref.index:ref.index + 1]


def post_uplink(ref: SampleRef, message: Messages) -> None:
    """Edge side: leave the uplink message of a sample for the cloud."""
    _UPLINK[ref.key] = message


def take_uplink(ref: SampleRef) -> Messages:
    """Cloud side: take (and remove) the message the edge posted for a sample."""
    try:
        return _UPLINK.pop(ref.key)
    except KeyError:
        raise RuntimeError(
            f"no uplink message from the edge for sample {ref.key}: the CRC patch-offload cloud model needs the "
            "edge model CRCPatchEdgeModel to run first (testenv hard_example_mining_mode: inference-then-mining)"
        ) from None
