"""Checks that run before the first sample (INTERFACES A.1, A.2).

Every module of every grid point is constructed once with its hyperparameters (each
distinct configuration once), so a misspelt key, a value of the wrong type or out of
range, an unknown preset or a missing model file fails the job at once, naming the
YAML file, the module, the test case and the module's own message. Then each module's
optional ``check_dataset(x, y)`` sees the test set, which is loaded once and must be
non-empty. The workspace must be writable and the job and algorithm names plain.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import uuid
from typing import Any

from jointbench.registry import ClassType
from jointbench.runner.datasource import DataSource, load_test_set
from jointbench.runner.errors import ConfigError, RunnerError
from jointbench.runner.loader import get_registered
from jointbench.runner.spec import JobSpec, TestCaseSpec


def check_plain_name(value: str, file: str, key: str) -> str:
    """Refuse a job or algorithm name that is not a plain folder name.

    The name becomes a folder under the workspace, so ``..``, path separators, control
    characters and empty names would write results elsewhere or nowhere.
    """
    bad = ""
    if not value.strip():
        bad = "is empty"
    elif "/" in value or "\\" in value or (os.altsep and os.altsep in value):
        bad = "contains a path separator"
    elif ".." in value or value.strip() == ".":
        bad = "contains '..' or is '.'"
    elif any(ord(c) < 32 for c in value):
        bad = "contains a control character"
    elif value != value.strip():
        bad = "starts or ends with a space"
    if bad:
        raise ConfigError(file, key, f"{value!r} {bad}; it names a folder under the workspace, so use a plain "
                                     f"name such as 'cab-delta' (letters, digits, '-', '_', '.', '@')")
    return value


def check_workspace(spec: JobSpec) -> None:
    """Create ``<workspace>/<job>`` and write and delete a probe file in it.

    Raises
    ------
    ConfigError
        Naming ``benchmarkingjob.workspace``, the OS error and the fix.
    """
    probe = os.path.join(spec.job_dir, f".write-probe-{uuid.uuid4().hex}")
    try:
        os.makedirs(spec.job_dir, exist_ok=True)
        with open(probe, "wb") as fh:
            fh.write(b"0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(spec.file, "benchmarkingjob.workspace",
                          f"cannot write to {spec.job_dir} ({err.strerror or err}): make it writable, free "
                          f"disk space, or point workspace at another folder") from err


def load_checked_test_set(spec: JobSpec) -> DataSource:
    """Load the test set once and check it is usable.

    Raises
    ------
    ConfigError
        If a row is unreadable or lacks ``question``/``answer``, or the set is empty.
    """
    env = spec.testenv
    key = {"jsonl": "testenv.dataset.test_data", "index": "testenv.dataset.test_index",
           "metadata": "testenv.dataset.test_data_info"}[env.test_kind]
    try:
        dataset = load_test_set(env.test_file, env.test_kind, "inference")
    except (RunnerError, OSError, ValueError, KeyError) as err:
        raise ConfigError(env.file, key, f"{env.test_file}: {err}") from err
    if len(dataset.x) == 0:
        raise ConfigError(env.file, key, f"the test set {env.test_file} has no samples: every metric would be "
                                         f"NaN. Point it at a non-empty file")
    return dataset


def _valid_parameters(cls: Any) -> str:
    try:
        params = [p for p in inspect.signature(cls).parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        return ""
    return f" (its parameters: {', '.join(p.name for p in params) or 'none'})"


def _fail(case: TestCaseSpec, n_cases: int, index: int, mtype: str, name: str, hp: dict[str, Any],
          what: str, err: BaseException, cls: Any = None) -> ConfigError:
    shown = ", ".join(f"{k}={v!r}" for k, v in hp.items()) or "no hyperparameters"
    hint = _valid_parameters(cls) if isinstance(err, TypeError) and cls is not None else ""
    return ConfigError(case.algorithm_file, f"algorithm.modules[{index}].hyperparameters",
                       f"{mtype} '{name}' {what} at grid point {case.index + 1} of {n_cases} "
                       f"(algorithm '{case.algorithm}', {shown}): {type(err).__name__}: {err}{hint}")


def validate_modules(spec: JobSpec, dataset: DataSource) -> int:
    """Construct every distinct module configuration of the job and let it check the test set.

    Parameters
    ----------
    spec : JobSpec
        The parsed job.
    dataset : DataSource
        The test set as loaded (before any ``dataset_processor``).

    Returns
    -------
    int
        Number of distinct module configurations constructed.

    Raises
    ------
    ConfigError
        On the first constructor or ``check_dataset`` that raises, naming the algorithm
        file, the module, the grid point and the module's message.
    """
    seen: set[tuple[str, ...]] = set()
    n = len(spec.test_cases)
    for case in spec.test_cases:
        built: dict[str, Any] = {}
        oracle = case.modules["hard_example_mining"].name == "OracleRouter"  # gets edge and cloud injected
        for index, (mtype, module) in enumerate(case.modules.items()):
            hp = copy.deepcopy(module.hyperparameters)
            key = (mtype, module.name, module.url, json.dumps(hp, sort_keys=True, default=repr))
            space = ClassType.HEM if mtype == "hard_example_mining" else ClassType.GENERAL
            cls = get_registered(space, module.name, module.url)
            if key in seen and not oracle:
                continue
            seen.add(key)
            if oracle and mtype == "hard_example_mining":
                hp.update(edgemodel=built.get("edgemodel"), cloudmodel=built.get("cloudmodel"))
            try:
                instance = cls(**hp)  # type: ignore[operator]
            except (Exception, SystemExit) as err:
                raise _fail(case, n, index, mtype, module.name, module.hyperparameters,
                            "rejected its hyperparameters", err, cls) from err
            built[mtype] = instance
            check = getattr(instance, "check_dataset", None)
            if callable(check):
                try:
                    check(copy.deepcopy(dataset.x), copy.deepcopy(dataset.y))
                except (Exception, SystemExit) as err:
                    raise _fail(case, n, index, mtype, module.name, module.hyperparameters,
                                f"does not fit the test set {spec.testenv.test_file}", err) from err
    return len(seen)
