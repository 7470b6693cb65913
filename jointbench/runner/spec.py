"""Typed description of a parsed benchmarking job (what the YAML files say)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODES = ("mining-then-inference", "inference-then-mining", "self-design")
REQUIRED_MODULE_TYPES = ("edgemodel", "cloudmodel", "hard_example_mining")
MODULE_TYPES = (*REQUIRED_MODULE_TYPES, "dataset_processor")
# Ianvs calls these metrics with one argument, the (empty) system_metric_info dict.
SYSTEM_METRICS = ("samples_transfer_ratio", "FWT", "BWT", "task_avg_acc", "MATRIX", "forget_rate")


@dataclass(frozen=True)
class ModuleSpec:
    """One module of one test case: type, registered alias, file, concrete hyperparameters."""

    type: str
    name: str
    url: str
    hyperparameters: dict[str, Any]


@dataclass(frozen=True)
class MetricSpec:
    """A testenv metric: registered alias and the file that registers it."""

    name: str
    url: str


@dataclass
class TestEnvSpec:
    """The parsed ``testenv.yaml``."""

    file: str
    mode: str
    test_file: str
    test_kind: str  # "jsonl" | "metadata" | "index"
    metrics: list[MetricSpec]
    label: str = ""


@dataclass
class RankSpec:
    """The parsed ``rank:`` section."""

    sort_by: list[tuple[str, bool]]  # (metric, ascending)
    selected: dict[str, list[str]]
    save_mode: str = "selected_and_all"
    visualization: dict[str, Any] = field(default_factory=dict)


@dataclass
class TestCaseSpec:
    """One point of the hyperparameter grid: an algorithm with concrete modules.

    ``modules`` keeps the YAML order, which is the order Ianvs constructs them in.
    """

    index: int
    algorithm: str
    algorithm_file: str
    paradigm_type: str
    modules: dict[str, ModuleSpec]

    def hyperparameter_columns(self) -> dict[str, str]:
        """Rank-CSV hyperparameter columns ``<moduletype>-<hp>`` with ``str()`` values, as Ianvs."""
        cols: dict[str, str] = {}
        for module in self.modules.values():
            for key, value in module.hyperparameters.items():
                cols[f"{module.type}-{key}"] = str(value)
        return cols


@dataclass
class JobSpec:
    """The whole validated job."""

    file: str
    name: str
    workspace: str
    testenv: TestEnvSpec
    test_cases: list[TestCaseSpec]
    rank: RankSpec

    @property
    def job_dir(self) -> str:
        """``<workspace>/<job name>``, as Ianvs builds it (relative if the workspace is)."""
        import os

        return os.path.join(self.workspace, self.name)
