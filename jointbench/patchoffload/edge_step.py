"""One sample through the edge of Algorithm 2, as the Ianvs edge module runs it.

Policies (a registry): ``crc`` accepts iff π_(1) >= λ̂ and otherwise sends the τ-selected patches;
``edge_only`` always accepts; ``server_only`` never accepts and sends every patch.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from jointbench.patchoffload.calibration import Calibration
from jointbench.patchoffload.candidates import aps_candidate_sets
from jointbench.patchoffload.costs import bytes_sent
from jointbench.patchoffload.models import ModelTrio
from jointbench.patchoffload.pipeline import Messages, edge_pass, make_messages, proposed_patch_scores
from jointbench.patchoffload.selection import select_tau
from jointbench.patchoffload.tradeoff import Geometry

__all__ = ["EDGE_POLICIES", "edge_step"]


def _crc(conf: float, cal: Calibration) -> bool:
    return conf >= cal.lambda_hat


EDGE_POLICIES: dict[str, Callable[[float, Calibration], bool]] = {
    "crc": _crc,
    "edge_only": lambda conf, cal: True,
    "server_only": lambda conf, cal: False,
}


def edge_step(trio: ModelTrio, cal: Calibration, image: np.ndarray, policy: str, tau: float
              ) -> tuple[dict[str, Any], Messages | None]:
    """Run the edge on one uint8 image ``(1, H, W, C)``.

    Returns
    -------
    extras : dict
        ``confidence``, ``accept``, ``aps_set`` (class ids), ``patches_planned``, ``n_patches``,
        ``raw_image_bytes``, ``patch_bytes``, ``lambda_hat``, ``q_hat``, ``alpha_crc``, ``policy``,
        ``edge_prediction``.
    message : Messages or None
        The uplink payload when the image is offloaded.
    """
    server = trio.server_vit.model
    geo = Geometry.of(trio.splits.image_shape, server.patch)
    ep = edge_pass(trio.edge_cnn.model, image)
    conf = float(ep.confidence[0])
    accept = bool(EDGE_POLICIES[policy](conf, cal))
    members = aps_candidate_sets(ep.probs, cal.q_hat)[0]
    message = None
    if not accept:
        if policy == "server_only":
            keep = np.ones((1, geo.n_patches), dtype=bool)
        else:
            scores, _ = proposed_patch_scores(trio.edge_cnn.model, image, ep.probs, cal.q_hat, server.grid)
            keep = select_tau(scores, tau)
        message = make_messages(image, keep, server.patch)
    planned = int(message.patches_sent[0]) if message is not None else 0
    extras = {"confidence": conf, "accept": accept, "aps_set": np.nonzero(members)[0].tolist(),
              "patches_planned": planned, "n_patches": geo.n_patches, "raw_image_bytes": geo.raw_bytes,
              "patch_bytes": geo.patch_bytes, "planned_bytes": int(bytes_sent(np.array([planned]), geo.patch_bytes)[0]),
              "lambda_hat": cal.lambda_hat, "q_hat": cal.q_hat, "alpha_crc": cal.alpha_crc, "policy": policy,
              "edge_prediction": int(ep.prediction[0])}
    return extras, message
