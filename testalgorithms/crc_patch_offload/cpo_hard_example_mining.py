"""Ianvs HEM of CRC patch offloading: hard (sent to the server) iff the edge did not accept."""

from __future__ import annotations

from typing import Any, Mapping

from jointbench.registry import ClassFactory, ClassType

__all__ = ["CRCAcceptanceMining"]


@ClassFactory.register(ClassType.HEM, alias="CRCAcceptanceMining")
class CRCAcceptanceMining:
    """Reads the edge record's CRC decision (``π_(1) >= λ̂``), made on the edge as in Algorithm 2.

    Used in ``inference-then-mining`` mode, so it receives the edge record.

    Parameters
    ----------
    alpha_crc : float, optional
        When given, the edge record's ``alpha_crc`` must equal it (guards mismatched grids).
    """

    def __init__(self, alpha_crc: float | None = None) -> None:
        if alpha_crc is not None and (isinstance(alpha_crc, bool) or not isinstance(alpha_crc, (int, float))
                                      or not 0.0 < float(alpha_crc) < 1.0):
            raise ValueError(f"alpha_crc: must be a float in (0, 1) or null, got {alpha_crc!r}")
        self.alpha_crc = None if alpha_crc is None else float(alpha_crc)

    def __call__(self, edge_result: Mapping[str, Any]) -> bool:
        extras = (edge_result or {}).get("extras") or {}
        if "accept" not in extras:
            raise ValueError("CRCAcceptanceMining needs the CRCPatchEdgeModel record (extras.accept); set "
                             "hard_example_mining_mode: inference-then-mining in the testenv")
        if self.alpha_crc is not None and abs(float(extras["alpha_crc"]) - self.alpha_crc) > 1e-12:
            raise ValueError(f"alpha_crc: HEM has {self.alpha_crc} but the edge calibrated with {extras['alpha_crc']}")
        return not bool(extras["accept"])
