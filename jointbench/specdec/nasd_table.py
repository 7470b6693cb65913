"""NASD's RTT -> draft-length table and its JSON file.

The model (:mod:`~jointbench.specdec.nasd_model`) predicts the rate of each ``K``. A
:class:`NasdTable` holds, per bandwidth, the breakpoints of ``K*`` over a fine RTT grid
(built by :func:`build_table`), plus every term of the model, so that the controller
can predict the rate of a ``K`` at the measured RTT in microseconds. It is tagged with the model pair and the
hardware pair it was built for and refuses to serve another
(:class:`TablePairMismatchError`); its ``calibration_hash`` covers every number in it,
so a hand-edited file is refused on load.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from jointbench.cache import atomic_write_json
from jointbench.specdec.nasd_model import (
    FALLBACKS,
    FORMULAS,
    AcceptanceProfile,
    CycleCosts,
    argmax_rate,
    best_k_row,
    cycle_ms,
    predicted_rate,
)

__all__ = [
    "DEFAULT_RTT_GRID_MS", "FALLBACKS", "FORMULAS", "TABLE_FORMAT", "AcceptanceProfile", "CycleCosts",
    "NasdTable", "TablePairMismatchError", "argmax_rate", "best_k_row", "build_table", "cycle_ms", "predicted_rate",
]

TABLE_FORMAT = 1
DEFAULT_RTT_GRID_MS: tuple[float, float, float] = (0.0, 3000.0, 1.0)
"""``(start, stop, step)`` of the RTT grid (ms) a table is built on (stop included)."""


class TablePairMismatchError(ValueError):
    """A table built for one model pair / hardware pair was asked to serve another."""


def _breakpoints(rtts_ms: np.ndarray, ks: np.ndarray) -> tuple[tuple[float, int], ...]:
    change = np.flatnonzero(np.diff(ks)) + 1
    idx = np.concatenate([[0], change])
    return tuple((float(rtts_ms[i]), int(ks[i])) for i in idx)


def _bw_key(bw: float | None) -> float | None:
    return None if bw is None or math.isinf(bw) else float(bw)


@dataclass(frozen=True)
class NasdTable:
    """RTT -> ``K*`` breakpoints per bandwidth, with the model they came from.

    Attributes
    ----------
    pair : str
        Model pair (key of ``configs/models.yaml``).
    edge_hardware, cloud_hardware : str
        Hardware profiles (``configs/hardware_profiles.yaml``) the costs were taken on.
    formula : {"seed", "corrected"}
    k_min, k_max : int
    bandwidths_mbps : tuple of (float or None)
        Ascending; ``None`` = unlimited (last).
    rows : tuple of tuple of (float, int)
        Per bandwidth, ``(rtt_from_ms, K)``: ``K`` holds from ``rtt_from_ms`` to the next breakpoint.
    acceptance : AcceptanceProfile
    costs : CycleCosts
    rtt_grid_ms : tuple of float
        ``(start, stop, step)`` of the grid the breakpoints were found on.
    meta : dict
        Provenance (prompts, positions, calibration source); not part of the model.
    """

    pair: str
    edge_hardware: str
    cloud_hardware: str
    formula: str
    k_min: int
    k_max: int
    bandwidths_mbps: tuple[float | None, ...]
    rows: tuple[tuple[tuple[float, int], ...], ...]
    acceptance: AcceptanceProfile
    costs: CycleCosts
    rtt_grid_ms: tuple[float, float, float] = DEFAULT_RTT_GRID_MS
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.bandwidths_mbps) or not all(self.rows):
            raise ValueError("rows: need one non-empty breakpoint row per bandwidth")
        # lookup caches (derived, not part of the model): breakpoint starts, E[tokens](K), finite bandwidths
        object.__setattr__(self, "_starts", tuple(tuple(r for r, _ in row) for row in self.rows))
        object.__setattr__(self, "_expected", tuple(self.acceptance.expected_tokens(k)
                                                     for k in range(self.acceptance.k_max + 1)))
        object.__setattr__(self, "_finite", [b for b in self.bandwidths_mbps if b is not None])

    @property
    def hardware(self) -> str:
        """``"<edge>/<cloud>"``."""
        return f"{self.edge_hardware}/{self.cloud_hardware}"

    def row_index(self, bandwidth_mbps: float | None) -> int:
        """Row for a bandwidth estimate: the largest table bandwidth not above it (conservative).

        ``None`` (no estimate) picks the last row (the nominal/unlimited one); an estimate
        below the smallest table bandwidth picks the first.
        """
        if bandwidth_mbps is None:
            return len(self.bandwidths_mbps) - 1
        finite: list[float] = self._finite  # type: ignore[attr-defined]
        if math.isinf(bandwidth_mbps):
            return len(self.bandwidths_mbps) - 1 if self.bandwidths_mbps[-1] is None else len(finite) - 1
        i = bisect.bisect_right(finite, bandwidth_mbps) - 1
        return max(i, 0)

    def k_for(self, rtt_ms: float, bandwidth_mbps: float | None = None) -> int:
        """``K*`` at ``rtt_ms`` (ms) for a bandwidth estimate (Mbit/s); O(log breakpoints)."""
        idx = self.row_index(bandwidth_mbps)
        i = bisect.bisect_right(self._starts[idx], max(0.0, rtt_ms)) - 1  # type: ignore[attr-defined]
        return self.rows[idx][max(i, 0)][1]

    def rate(self, k: int, rtt_ms: float, bandwidth_mbps: float | None = None) -> float:
        """Predicted tokens/s of ``k`` under the table's formula, at the row's bandwidth."""
        bw = self.bandwidths_mbps[self.row_index(bandwidth_mbps)]
        expected: tuple[float, ...] = self._expected  # type: ignore[attr-defined]
        return 1000.0 * expected[k] / cycle_ms(k, rtt_ms, bw, self.costs, self.formula)

    def fallback_rate(self, fallback: str) -> float:
        """Tokens/s of the fallback (see :meth:`CycleCosts.fallback_rate`)."""
        return self.costs.fallback_rate(fallback)

    def check_for(self, pair: str, edge_hardware: str, cloud_hardware: str, source: str = "the table") -> None:
        """Raise :class:`TablePairMismatchError` unless built for this pair and hardware pair."""
        if (pair, edge_hardware, cloud_hardware) != (self.pair, self.edge_hardware, self.cloud_hardware):
            raise TablePairMismatchError(
                f"{source} was built for pair '{self.pair}' on hardware '{self.hardware}', but this run "
                f"uses pair '{pair}' on hardware '{edge_hardware}/{cloud_hardware}'; rebuild it with "
                f"`python -m jointbench.specdec.nasd_calibrate --pair {pair} --edge-hardware "
                f"{edge_hardware} --cloud-hardware {cloud_hardware}`")

    def with_costs(self, costs: CycleCosts) -> NasdTable:
        """The same table (acceptance, pair, hardware tags, formula, bandwidths) rebuilt for other costs.

        For a run whose compute model differs from the one the table was calibrated with
        (``this-cpu`` is whatever machine runs the suite): the acceptance profile is a fact
        of the model pair, the costs a fact of the machine.
        """
        k_max = min(self.k_max, costs.k_max)
        return build_table(self.acceptance, costs, pair=self.pair, edge_hardware=self.edge_hardware,
                           cloud_hardware=self.cloud_hardware, formula=self.formula, k_min=self.k_min,
                           k_max=k_max, bandwidths_mbps=self.bandwidths_mbps, rtt_grid_ms=self.rtt_grid_ms,
                           meta={**self.meta, "costs_replaced_from_hash": self.calibration_hash})

    def model_dict(self) -> dict[str, Any]:
        """Everything that decides the table (what :attr:`calibration_hash` covers)."""
        return {"format": TABLE_FORMAT, "pair": self.pair, "edge_hardware": self.edge_hardware,
                "cloud_hardware": self.cloud_hardware, "formula": self.formula, "k_min": self.k_min,
                "k_max": self.k_max, "bandwidths_mbps": list(self.bandwidths_mbps),
                "rows": [[list(bp) for bp in row] for row in self.rows],
                "acceptance": asdict(self.acceptance), "costs": asdict(self.costs),
                "rtt_grid_ms": list(self.rtt_grid_ms)}

    @property
    def calibration_hash(self) -> str:
        """SHA-256 (first 16 hex digits) of :meth:`model_dict`."""
        blob = json.dumps(self.model_dict(), sort_keys=True, allow_nan=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the model, its hash and ``meta``."""
        return {**self.model_dict(), "calibration_hash": self.calibration_hash, "meta": self.meta}

    def save(self, path: str | Path) -> Path:
        """Write the table as JSON (atomic)."""
        return atomic_write_json(path, self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "table") -> NasdTable:
        """Inverse of :meth:`to_dict`; refuses another format or a hash that does not match."""
        if data.get("format") != TABLE_FORMAT:
            raise ValueError(f"{source}: NASD table format {data.get('format')!r}, this code reads "
                             f"{TABLE_FORMAT}; rebuild it with `python -m jointbench.specdec.nasd_calibrate`")
        acc, costs = data["acceptance"], data["costs"]
        table = cls(
            pair=str(data["pair"]), edge_hardware=str(data["edge_hardware"]),
            cloud_hardware=str(data["cloud_hardware"]), formula=str(data["formula"]),
            k_min=int(data["k_min"]), k_max=int(data["k_max"]),
            bandwidths_mbps=tuple(_bw_key(b) for b in data["bandwidths_mbps"]),
            rows=tuple(tuple((float(r), int(k)) for r, k in row) for row in data["rows"]),
            acceptance=AcceptanceProfile(tuple(float(x) for x in acc["a"]), int(acc["n_positions"])),
            costs=CycleCosts(float(costs["draft_ms"]), tuple(float(x) for x in costs["verify_ms"]),
                             float(costs["decode_ms"]), tuple(int(x) for x in costs["up_wire_bytes"]),
                             int(costs["down_wire_bytes"])),
            rtt_grid_ms=tuple(float(x) for x in data["rtt_grid_ms"]),  # type: ignore[arg-type]
            meta=dict(data.get("meta", {})))
        if data.get("calibration_hash") != table.calibration_hash:
            raise ValueError(f"{source}: calibration_hash {data.get('calibration_hash')!r} does not match "
                             f"its content ({table.calibration_hash}); tables are not hand-edited, rebuild it "
                             "with `python -m jointbench.specdec.nasd_calibrate`")
        return table

    @classmethod
    def load(cls, path: str | Path, pair: str | None = None, edge_hardware: str | None = None,
             cloud_hardware: str | None = None) -> NasdTable:
        """Read a table; if ``pair`` is given, check it was built for that pair and hardware pair."""
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"NASD table {p} not found; build it with "
                                    "`python -m jointbench.specdec.nasd_calibrate`")
        table = cls.from_dict(json.loads(p.read_text(encoding="utf-8")), source=str(p))
        if pair is not None:
            table.check_for(pair, str(edge_hardware), str(cloud_hardware), source=f"NASD table {p}")
        return table


def build_table(acceptance: AcceptanceProfile, costs: CycleCosts, *, pair: str, edge_hardware: str,
                cloud_hardware: str, formula: str = "corrected", k_min: int = 1, k_max: int | None = None,
                bandwidths_mbps: Sequence[float | None] = (None,),
                rtt_grid_ms: tuple[float, float, float] = DEFAULT_RTT_GRID_MS,
                meta: dict[str, Any] | None = None) -> NasdTable:
    """Maximise the predicted rate over ``K in [k_min, k_max]`` on an RTT grid, per bandwidth.

    Parameters
    ----------
    acceptance : AcceptanceProfile
    costs : CycleCosts
    pair, edge_hardware, cloud_hardware : str
        What the table is tagged with.
    formula : {"seed", "corrected"}
        ``"seed"`` drops ``t_transmit(K)`` from the argmax.
    k_min, k_max : int
        Draft lengths considered (``k_max`` defaults to what both profiles cover).
    bandwidths_mbps : sequence of float or None
        Rows of the table (Mbit/s, both directions); ``None`` = unlimited.
    rtt_grid_ms : (start, stop, step)
        RTT grid (ms); between grid points a lookup uses the point below.
    meta : dict, optional
        Provenance stored with the table.
    """
    if formula not in FORMULAS:
        raise ValueError(f"formula={formula!r}: unknown. Available: {', '.join(FORMULAS)}")
    top = min(acceptance.k_max, costs.k_max)
    k_max = top if k_max is None else int(k_max)
    if not 1 <= k_min <= k_max <= top:
        raise ValueError(f"k_min={k_min}, k_max={k_max}: need 1 <= k_min <= k_max <= {top} "
                         "(the longest draft both the acceptance profile and the costs cover)")
    start, stop, step = (float(x) for x in rtt_grid_ms)
    if not (0.0 <= start < stop and step > 0):
        raise ValueError(f"rtt_grid_ms={rtt_grid_ms!r}: need 0 <= start < stop and step > 0")
    rtts = np.arange(start, stop + step / 2, step)
    keys = [_bw_key(b) for b in bandwidths_mbps]
    if not keys or None in keys[:-1] or len(set(keys)) != len(keys):
        raise ValueError(f"bandwidths_mbps={list(bandwidths_mbps)!r}: distinct values, unlimited (None) last")
    finite = [b for b in keys if b is not None]
    if finite != sorted(finite) or any(b <= 0 for b in finite):
        raise ValueError(f"bandwidths_mbps={list(bandwidths_mbps)!r}: must be ascending and > 0")
    rows = tuple(_breakpoints(rtts, best_k_row(rtts, b, acceptance, costs, formula, k_min, k_max)) for b in keys)
    return NasdTable(pair, edge_hardware, cloud_hardware, formula, k_min, k_max, tuple(keys), rows,
                     acceptance, costs, (start, stop, step), dict(meta or {}))
