"""Ianvs cloud model of CRC patch offloading: the patch-ViT server, run on the received patches only."""

from __future__ import annotations

import math
from typing import Any

import torch

from jointbench.datasets.image_splits import IMAGE_DATASETS
from jointbench.patchoffload.costs import bytes_sent, serialisation_link
from jointbench.patchoffload.session import sample_ref, take_uplink, trio_for
from jointbench.patchoffload.training import normalise_uint8
from jointbench.records import SampleRecord
from jointbench.registry import ClassFactory, ClassType

__all__ = ["PatchViTCloudModel"]


@ClassFactory.register(ClassType.GENERAL, alias="PatchViTCloudModel")
class PatchViTCloudModel:
    """Server side; called only for offloaded samples, with the message the edge posted.

    Parameters
    ----------
    dataset : str
        Offline image dataset the server was trained on.
    split_seed : int
        Split seed (>= 0).
    index_bytes : int
        Bytes per transmitted patch index (>= 0; 0 as in the seed's cost).
    uplink_mbps : float
        Upload rate (Mbit/s, > 0) of the serialisation-only link pricing the record's ``network_ms``.
    """

    def __init__(self, dataset: str = "cifar10", split_seed: int = 0, index_bytes: int = 0,
                 uplink_mbps: float = 8.0) -> None:
        if dataset not in IMAGE_DATASETS:
            raise ValueError(f"dataset: unknown {dataset!r}. Available: {sorted(IMAGE_DATASETS)}")
        if isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0:
            raise ValueError(f"split_seed: must be an int >= 0, got {split_seed!r}")
        if isinstance(index_bytes, bool) or not isinstance(index_bytes, int) or index_bytes < 0:
            raise ValueError(f"index_bytes: must be an int >= 0, got {index_bytes!r}")
        if (isinstance(uplink_mbps, bool) or not isinstance(uplink_mbps, (int, float))
                or not 0.0 < float(uplink_mbps) < math.inf):
            raise ValueError(f"uplink_mbps: must be a positive finite float, got {uplink_mbps!r}")
        self.dataset, self.split_seed, self.index_bytes = dataset, split_seed, index_bytes
        self.link = serialisation_link(float(uplink_mbps))

    @torch.no_grad()
    def inference(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Classify one offloaded sample from its received patches; record bytes and upload time."""
        ref = sample_ref(data)
        msg = take_uplink(ref)
        server = trio_for(ref.dataset, ref.split_seed).server_vit.model.eval()
        logits = server.forward_patches(normalise_uint8(torch.from_numpy(msg.patches)),
                                        torch.from_numpy(msg.index), torch.from_numpy(msg.valid))
        patches = int(msg.patches_sent[0])
        patch_bytes = int(msg.patches[0, 0].size)
        nbytes = int(bytes_sent(msg.patches_sent, patch_bytes, self.index_bytes)[0])
        ex = self.link.send("up", nbytes, kind="patches")
        return SampleRecord(sample_id=f"{ref.dataset}-{ref.split_seed}-{ref.index}", sample_index=ref.index,
                            prediction=int(logits.argmax(1)[0]), route="both", network_ms=ex.delay_ms,
                            bytes_up=nbytes, exchanges=[ex.to_dict()],
                            extras={"patches_sent": patches}).to_dict()
