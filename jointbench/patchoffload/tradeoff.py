"""The communication–accuracy trade-off: τ sweep of the method beside the baselines, on one test set.

Every method runs on the same test images with the same server. Rows (one per operating point) carry
top-1 accuracy (%), communication cost, offload rate, mean patches per offloaded image, the empirical
accept-and-wrong rate, APS set size and the upload latency at 1 / 8 / 20 Mbit/s through the simulator.
:func:`operating_points` picks the seed's two points per method: best accuracy (ties: lower cost) and
the cheapest point within 1 pp of server-only accuracy (Tables 1–2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from jointbench.datasets.image_splits import ImageSplits
from jointbench.patchoffload.calibration import Calibration, calibrate
from jointbench.patchoffload.costs import PAPER_RATES_MBPS, bytes_sent, communication_cost, serialisation_link
from jointbench.patchoffload.nets import EdgeCNN, PatchViT
from jointbench.patchoffload.pipeline import edge_pass, proposed_patch_scores, server_predict, vit_edge_pass
from jointbench.patchoffload.selection import BASELINE_RULES, min_entropy_accept, select_tau

__all__ = ["Geometry", "SweepConfig", "TradeoffResult", "operating_points", "run_tradeoff", "summarise"]

PROPOSED = "proposed"
SERVER_ONLY = "server-only"


@dataclass(frozen=True)
class Geometry:
    """Image and patch sizes: ``raw_bytes`` per image, ``patch_bytes`` per patch, ``n_patches`` per image."""

    raw_bytes: int
    patch_bytes: int
    n_patches: int

    @classmethod
    def of(cls, image_shape: tuple[int, int, int], patch: int) -> Geometry:
        """From ``(H, W, C)`` uint8 images and the server's patch side."""
        h, w, c = image_shape
        return cls(h * w * c, patch * patch * c, (h // patch) * (w // patch))


@dataclass(frozen=True)
class SweepConfig:
    """Calibration levels and the knob grids of every curve (k as fractions of the patch count)."""

    alpha_crc: float = 0.05
    alpha_aps: float = 0.05
    eta: float = 0.8
    taus: tuple[float, ...] = tuple(round(t, 2) for t in np.linspace(0.0, 1.0, 21))
    k_fractions: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    attention_sum_deltas: tuple[float, ...] = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 1.0)
    attention_threshold_deltas: tuple[float, ...] = (0.0, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05)
    seed: int = 0
    index_bytes: int = 0


@dataclass
class TradeoffResult:
    """All rows plus the calibration and the models' provenance."""

    rows: list[dict[str, Any]]
    calibration: Calibration
    info: dict[str, Any] = field(default_factory=dict)

    def rows_of(self, method: str) -> list[dict[str, Any]]:
        """Rows of one method."""
        return [r for r in self.rows if r["method"] == method]


def _latencies(sent: np.ndarray) -> dict[str, float]:
    values, counts = np.unique(sent, return_counts=True)
    out = {}
    for rate in PAPER_RATES_MBPS:
        link = serialisation_link(rate)
        per = np.array([link.expected_delay_ms("up", int(v)) if v > 0 else 0.0 for v in values])
        out[f"latency_ms_{rate:g}mbps"] = float((per * counts).sum() / max(counts.sum(), 1))
    return out


def summarise(method: str, knob: str, value: float, labels: np.ndarray, accepted: np.ndarray,
              edge_pred: np.ndarray, server_pred_off: np.ndarray, keep_off: np.ndarray, geo: Geometry,
              index_bytes: int = 0, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One trade-off row from per-image decisions (``*_off`` arrays cover the offloaded images, in order)."""
    accepted = np.asarray(accepted, dtype=bool)
    pred = np.asarray(edge_pred).copy()
    pred[~accepted] = server_pred_off
    patches = np.zeros(len(labels), dtype=np.int64)
    patches[~accepted] = np.asarray(keep_off, dtype=bool).sum(axis=1)
    sent = bytes_sent(patches, geo.patch_bytes, index_bytes)
    wrong = pred != labels
    row = {"method": method, "knob": knob, "value": float(value), "n": int(len(labels)),
           "accuracy_pct": 100.0 * float((~wrong).mean()),
           "cost": communication_cost(sent, geo.raw_bytes),
           "offload_rate": float((~accepted).mean()),
           "mean_patches_offloaded": float(patches[~accepted].mean()) if (~accepted).any() else 0.0,
           "mean_patches": float(patches.mean()),
           "accept_wrong_rate": float((accepted & (np.asarray(edge_pred) != labels)).mean())}
    row.update(_latencies(sent))
    row.update(extra or {})
    return row


def run_tradeoff(splits: ImageSplits, edge_cnn: EdgeCNN, server: PatchViT, edge_vit: PatchViT | None,
                 cfg: SweepConfig = SweepConfig()) -> TradeoffResult:
    """Calibrate on ``splits.x_cal`` and sweep every method on ``splits.x_test`` (see module docstring)."""
    if edge_vit is not None and edge_vit.grid != server.grid:
        raise ValueError(f"the baselines' ViT edge has a {edge_vit.grid}x{edge_vit.grid} patch grid but the server "
                         f"{server.grid}x{server.grid}: pick recipes with the same patch size (--recipe edge_vit=...)")
    x, y = splits.x_test, splits.y_test
    geo = Geometry.of(splits.image_shape, server.patch)
    ib = cfg.index_bytes
    cal = calibrate(edge_pass(edge_cnn, splits.x_cal).probs, splits.y_cal, cfg.alpha_crc, cfg.alpha_aps)
    rows: list[dict[str, Any]] = []

    full_pred = server_predict(server, x, np.ones((len(y), geo.n_patches), dtype=bool))
    none = np.zeros(len(y), dtype=bool)
    rows.append(summarise(SERVER_ONLY, "-", 0.0, y, none, full_pred, full_pred,
                          np.ones((len(y), geo.n_patches), bool), geo, ib))
    cnn = edge_pass(edge_cnn, x)
    rows.append(summarise("edge-only (CNN)", "-", 0.0, y, ~none, cnn.prediction, full_pred[:0],
                          np.zeros((0, geo.n_patches), bool), geo, ib))

    accepted = cnn.confidence >= cal.lambda_hat
    off = ~accepted
    scores, set_size = proposed_patch_scores(edge_cnn, x[off], cnn.probs[off], cal.q_hat, server.grid)
    extra = {"lambda_hat": cal.lambda_hat, "q_hat": cal.q_hat,
             "aps_set_size": float(set_size.mean()) if off.any() else 0.0}
    for tau in cfg.taus:
        keep = select_tau(scores, tau)
        rows.append(summarise(PROPOSED, "tau", tau, y, accepted, cnn.prediction, server_predict(server, x[off], keep),
                              keep, geo, ib, extra))

    if edge_vit is not None:
        vit = vit_edge_pass(edge_vit, x)
        rows.append(summarise("edge-only (ViT)", "-", 0.0, y, ~none, vit.prediction, full_pred[:0],
                              np.zeros((0, geo.n_patches), bool), geo, ib))
        acc_b = min_entropy_accept(vit.probs, cfg.eta)
        attn = vit.attention[~acc_b]
        grids = {"random": ("k", [max(1, round(f * geo.n_patches)) for f in cfg.k_fractions]),
                 "topk": ("k", [max(1, round(f * geo.n_patches)) for f in cfg.k_fractions]),
                 "attention_threshold": ("delta", list(cfg.attention_threshold_deltas)),
                 "attention_sum": ("delta", list(cfg.attention_sum_deltas))}
        for rule, (knob, values) in grids.items():
            for v in values:
                args = (attn, v, np.random.default_rng(cfg.seed)) if rule == "random" else (attn, v)
                keep = BASELINE_RULES[rule](*args)
                rows.append(summarise(rule, knob, v, y, acc_b, vit.prediction,
                                      server_predict(server, x[~acc_b], keep), keep, geo, ib))
    info = {"geometry": asdict(geo), "config": asdict(cfg), "n_test": int(len(y)), "n_cal": int(len(splits.y_cal))}
    return TradeoffResult(rows, cal, info)


def operating_points(rows: list[dict[str, Any]], gap_pp: float = 1.0) -> dict[str, dict[str, Any]]:
    """Per method: ``best`` (max accuracy, then min cost) and ``within`` (min cost with accuracy >=
    server-only − ``gap_pp``; None when no point qualifies)."""
    server = [r for r in rows if r["method"] == SERVER_ONLY]
    if not server:
        raise ValueError("operating_points needs the server-only row")
    floor = server[0]["accuracy_pct"] - gap_pp
    out: dict[str, dict[str, Any]] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        best = max(mine, key=lambda r: (r["accuracy_pct"], -r["cost"]))
        ok = [r for r in mine if r["accuracy_pct"] >= floor - 1e-9]
        within = min(ok, key=lambda r: (r["cost"], -r["accuracy_pct"])) if ok else None
        out[method] = {"best": best, "within": within}
    return out
