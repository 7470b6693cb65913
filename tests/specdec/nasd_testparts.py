"""Pieces shared by the NASD loop tests (a unique module name, imported by the test files)."""

from __future__ import annotations

from jointbench.netsim import HardwareProfile
from jointbench.specdec.calibrate import Calibration
from jointbench.specdec.compute import ComputeModel
from jointbench.specdec.nasd_model import AcceptanceProfile
from jointbench.specdec.nasd_sim import synthetic_costs
from jointbench.specdec.nasd_table import NasdTable, build_table

PROMPT = [3, 17, 42, 99, 7, 128, 55]
N = 24


def synthetic_table() -> NasdTable:
    """A table for the tiny pair: geometric acceptance 0.7, draft 15 ms/token (edge-only 66.7 tokens/s)."""
    return build_table(AcceptanceProfile.geometric(0.7, 12), synthetic_costs(k_max=12), pair="tiny-random",
                       edge_hardware="this-cpu", cloud_hardware="this-cpu", rtt_grid_ms=(0.0, 1000.0, 1.0))


class NoModels:
    """A loader that fails: proves a replay ran no model."""

    def __call__(self):
        raise AssertionError("the replay called the models")


def small_compute() -> ComputeModel:
    """A flat compute model for the tiny pair's replays."""
    return ComputeModel(Calibration({8: 5.0}, {8: 2.0}, 1.0, {0: 3.0, 8: 4.0}, 0, 1, 1),
                        HardwareProfile("e"), HardwareProfile("c"))
