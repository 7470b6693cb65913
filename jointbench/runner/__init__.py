"""Embedded runner: executes an Ianvs ``jointinference`` benchmarking job without Ianvs.

Semantics follow ``ianvs-contract.md`` (paths against the CWD, the hyperparameter
grid, the three mining modes, the 4-slot ``y_pred``, Ianvs's rank CSVs); the runner
additionally validates the whole job first, saves every finished test case at once,
shows progress and writes per-sample records and ``env.json``.
"""

from jointbench.runner.errors import ConfigError, RunnerError

__all__ = ["ConfigError", "RunnerError"]
