"""Embedded runner: executes an Ianvs ``jointinference`` benchmarking job without Ianvs.

Semantics follow ``ianvs-contract.md`` (paths against the CWD, the hyperparameter
grid, the three mining modes, the 4-slot ``y_pred``, Ianvs's rank CSVs); the runner
additionally validates the whole job before the first sample (every module of every grid
point is constructed, the test set checked), holds a lock per job folder, writes every
finished test case's folder and the rank CSVs atomically, survives SIGTERM/SIGHUP and
``kill -9`` (``jointbench rank`` rebuilds the CSVs from the case folders), shows progress
and writes compact per-sample records and ``env.json``.
"""

from jointbench.runner.errors import ConfigError, RunnerError

__all__ = ["ConfigError", "RunnerError"]
