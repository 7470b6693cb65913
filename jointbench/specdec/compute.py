"""Compute costs of one pair on an edge and a cloud device, for the virtual clock.

A :class:`ComputeModel` answers "how long does this stage take" for every stage a
strategy schedules: edge prefill and draft steps, cloud prefill, decode steps and
verify passes, and draft steps run in the cloud (co-located). The numbers come from
a :class:`~jointbench.specdec.calibrate.Calibration` measured on this machine
(measured once per pair and cached as JSON), transformed per side by a
:class:`~jointbench.netsim.HardwareProfile`: a profile with a cost model for a stage
(``decode_ms_per_token``, ``verify_*``, ``prefill_*``) replaces the measurement, a
profile without one rescales it by ``scale``.

**Context** (opt-in, ``compute_context: true``; :class:`ComputeModel` with ``context=True``): the
placements pass each stage's cache length (prompt + committed tokens) and a measured stage is charged
from the calibration's least-squares fits ``base + slope * context``
(:attr:`~jointbench.specdec.calibrate.Calibration.context_costs`), rescaled by the profile's ``scale``;
a cycle's draft block pays a two-token re-feed for its first step (:mod:`~jointbench.specdec.context_cost`).
A stage the profile models itself (``decode_ms_per_token``, ``verify_*``) keeps the profile's cost, context
or not. With ``context=False`` (the default) the context argument is ignored and every number is the flat
calibration's, exactly as before.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jointbench.cache import atomic_write_json, cache_dir
from jointbench.netsim import HardwareProfile, hardware_profile
from jointbench.specdec.calibrate import LOAD_PER_CORE_WARN, Calibration, calibrate, under_load
from jointbench.specdec.context_cost import CONTEXT_LENS, ContextCosts
from jointbench.specdec.models import LoadedPair

CALIBRATION_KS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16)
CALIBRATION_PROMPT_LENS: tuple[int, ...] = (16, 64, 128, 256)


@dataclass(frozen=True)
class ComputeModel:
    """Per-stage compute times (ms) of one pair on an edge and a cloud device.

    Parameters
    ----------
    calibration : Calibration
        Measured on this machine.
    edge, cloud : HardwareProfile
        Where the draft and the target run (``this-cpu`` keeps the measurement).
    context : bool
        Charge measured stages at the cache length the placement passes, from the calibration's
        context fits (which must be present; see :func:`compute_model`). False: flat, context ignored.
    """

    calibration: Calibration
    edge: HardwareProfile
    cloud: HardwareProfile
    context: bool = False

    def _fits(self, context: int | None) -> ContextCosts | None:
        """The context fits to charge with, or None for the flat calibration."""
        return self.calibration.context_costs if self.context and context is not None else None

    def edge_prefill_ms(self, n: int) -> float:
        """Draft prefill of ``n`` prompt tokens on the edge (ms)."""
        if self.edge.prefill_base_ms is not None and self.edge.prefill_ms_per_token is not None:
            return self.edge.prefill_ms(n)
        return self.edge.scaled_ms(self.calibration.prefill_at("draft", n))

    def draft_ms(self, context: int | None = None) -> float:
        """One draft decoding step on the edge with ``context`` tokens cached (ms); also one edge-only token."""
        if self.edge.decode_ms_per_token is not None:
            return self.edge.decode_ms(1)
        fits = self._fits(context)
        return self.edge.scaled_ms(self.calibration.draft_ms if fits is None else fits.draft.at(context))

    def draft_block_ms(self, steps: int, context: int | None = None) -> float:
        """A cycle's ``steps`` draft steps on the edge, its committed sequence ``context`` tokens long (ms).

        Flat: ``steps * draft_ms()``. With context: the first step re-feeds two tokens
        (:meth:`~jointbench.specdec.context_cost.ContextCosts.draft_block_ms`).
        """
        fits = self._fits(context)
        if fits is None or self.edge.decode_ms_per_token is not None:
            return steps * self.draft_ms()
        return self.edge.scaled_ms(fits.draft_block_ms(steps, context))

    def cloud_draft_ms(self) -> float:
        """One draft step run in the cloud next to the target (co-located, ms)."""
        return self.cloud.scaled_ms(self.calibration.draft_ms)

    def cloud_draft_block_ms(self, steps: int, context: int | None = None) -> float:
        """A cycle's ``steps`` draft steps run in the cloud (co-located; see :meth:`draft_block_ms`, ms)."""
        fits = self._fits(context)
        if fits is None:
            return steps * self.cloud_draft_ms()
        return self.cloud.scaled_ms(fits.draft_block_ms(steps, context))

    def cloud_draft_prefill_ms(self, n: int) -> float:
        """Draft prefill of ``n`` prompt tokens run in the cloud (co-located, ms)."""
        return self.cloud.scaled_ms(self.calibration.prefill_at("draft", n))

    def cloud_prefill_ms(self, n: int) -> float:
        """Target prefill of ``n`` prompt tokens in the cloud (ms)."""
        if self.cloud.prefill_base_ms is not None and self.cloud.prefill_ms_per_token is not None:
            return self.cloud.prefill_ms(n)
        return self.cloud.scaled_ms(self.calibration.prefill_at("target", n))

    def decode_ms(self, context: int | None = None) -> float:
        """One target decoding step in the cloud with ``context`` tokens cached (ms)."""
        if self.cloud.decode_ms_per_token is not None:
            return self.cloud.decode_ms(1)
        fits = self._fits(context)
        return self.cloud.scaled_ms(self.calibration.verify_at(0) if fits is None else fits.verify_fit(0).at(context))

    def verify_ms(self, k: int, context: int | None = None) -> float:
        """One target pass verifying ``k`` drafted tokens (``k + 1`` inputs) with ``context`` cached (ms)."""
        if self.cloud.verify_base_ms is not None and self.cloud.verify_ms_per_token is not None:
            return self.cloud.verify_ms(k)
        fits = self._fits(context)
        return self.cloud.scaled_ms(self.calibration.verify_at(k) if fits is None else fits.verify_fit(k).at(context))

    def summary(self) -> dict[str, Any]:
        """The headline numbers (ms) and the profile names, for records and reports."""
        return {
            "edge_hardware": self.edge.name,
            "cloud_hardware": self.cloud.name,
            "draft_ms": self.draft_ms(),
            "decode_ms": self.decode_ms(),
            "verify_ms": {k: self.verify_ms(k) for k in (1, 3, 5, 10, 15)},
        }


def calibration_path(pair_name: str, root: Path | None = None, context: bool = False) -> Path:
    """JSON file caching the calibration of ``pair_name`` (threads in the name).

    The file name is the cache key (pair, torch threads): it is kept from procedure 1 so
    that a cache measured before keeps giving the same numbers; the file records its
    procedure version (:attr:`Calibration.procedure`). ``context=True``: the calibration with
    context fits, a file of its own (``-context``) so the default one never changes.
    """
    import torch

    suffix = "-context" if context else ""
    return (root or cache_dir()) / "calibration" / f"{pair_name}-t{torch.get_num_threads()}{suffix}.json"


def calibration_from_dict(data: dict[str, Any]) -> Calibration:
    """Inverse of :meth:`Calibration.to_dict` after a JSON round trip (int keys restored).

    Raises
    ------
    ValueError
        Naming the missing or unknown key.
    """
    known = set(Calibration.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"calibration: unknown key(s) {unknown}; expected keys of {sorted(known)}")
    kw = dict(data)
    try:
        for key in ("prefill_target_ms", "prefill_draft_ms", "verify_ms"):
            kw[key] = {int(k): float(v) for k, v in data[key].items()}
        if data.get("context_costs") is not None:
            kw["context_costs"] = ContextCosts.from_dict(data["context_costs"])
        return Calibration(**kw)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"calibration: missing or malformed field ({exc}); expected keys {sorted(known)}") from None


def load_calibration_file(path: str | Path) -> Calibration:
    """Read a saved calibration JSON (the ``calibration_file`` hyperparameter).

    Raises
    ------
    ValueError
        Naming the file when it is missing or not a calibration.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"calibration_file: '{path}' does not exist; pass the path of a calibration JSON "
                         f"(e.g. {calibration_path('<pair>')})")
    try:
        return calibration_from_dict(json.loads(p.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ValueError(f"calibration_file '{path}': {exc}") from None


def warn_if_loaded(cal: Calibration, where: str) -> None:
    """Warn when ``cal`` was measured on a busy machine (:func:`~.calibrate.under_load`)."""
    if under_load(cal):
        warnings.warn(f"calibration {where} was taken with load average {cal.loadavg_1m:.2f} on "
                      f"{cal.cpu_count} cores (> {LOAD_PER_CORE_WARN} per core): its times may be inflated; "
                      "re-measure on an idle machine (delete the file) or pass calibration_file", stacklevel=2)


def cached_calibration(pair: LoadedPair, root: Path | None = None, context: bool = False) -> tuple[Calibration, float]:
    """Load the pair's calibration from the cache, measuring it on a miss.

    ``context=True``: the one with context fits (:data:`~jointbench.specdec.context_cost.CONTEXT_LENS`),
    its own file.

    Returns
    -------
    calibration : Calibration
    measured_s : float
        Wall time spent measuring (s); 0 on a cache hit.
    """
    path = calibration_path(pair.name, root, context)
    if path.is_file():
        return calibration_from_dict(json.loads(path.read_text())), 0.0
    t0 = time.perf_counter()
    cal = calibrate(pair.target, pair.draft, prompt_lens=CALIBRATION_PROMPT_LENS, ks=CALIBRATION_KS,
                    context_lens=CONTEXT_LENS if context else ())
    measured = time.perf_counter() - t0
    atomic_write_json(path, cal.to_dict(), indent=1)
    warn_if_loaded(cal, str(path))
    return cal, measured


def calibration_provenance(cal: Calibration, source: str) -> dict[str, Any]:
    """What a test case's ``env.json`` records about its calibration."""
    return {"source": source, "sha256_16": cal.timing_hash(), "under_load": under_load(cal), **cal.to_dict()}


def compute_model(calibration: Calibration, edge_hardware: str = "this-cpu",
                  cloud_hardware: str = "this-cpu", context: bool = False, source: str = "") -> ComputeModel:
    """A :class:`ComputeModel` from a calibration and two profile names of ``configs/hardware_profiles.yaml``.

    Raises
    ------
    ValueError
        ``context=True`` with a calibration (from ``source``) that has no context fits.
    """
    if context and calibration.context_costs is None:
        raise ValueError(f"compute_context: true needs a calibration with context fits (key 'context_costs'); "
                         f"the calibration {source or '(given)'} has none. Drop calibration_file to use the "
                         f"cached one with fits ({calibration_path('<pair>', context=True).name}), or save one "
                         f"measured with calibrate(..., context_lens={CONTEXT_LENS})")
    return ComputeModel(calibration, hardware_profile(edge_hardware), hardware_profile(cloud_hardware), context)
