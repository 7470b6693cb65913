"""Parse and validate a benchmarking job, its testenv and algorithm YAMLs before anything runs.

Where real Ianvs silently drops or misreads an entry (contract C7, C9, C13, C14, C25),
this module refuses it with a :class:`ConfigError` naming the file and the key.
"""

from __future__ import annotations

import copy
import itertools
import os
from typing import Any

from jointbench.runner.errors import ConfigError
from jointbench.runner.spec import (
    MODES,
    MODULE_TYPES,
    REQUIRED_MODULE_TYPES,
    JobSpec,
    MetricSpec,
    ModuleSpec,
    RankSpec,
    TestCaseSpec,
    TestEnvSpec,
)
from jointbench.runner.yamlio import load_yaml
from jointbench.runner.validate import check_plain_name

JOB_KEYS = ("name", "workspace", "testenv", "test_object", "rank", "simulation")
TESTENV_KEYS = ("dataset", "metrics", "hard_example_mining_mode", "model_eval",
                "incremental_rounds", "round", "client_number", "use_gpu")
DATASET_KEYS = ("train_data", "train_index", "train_data_info",
                "test_data", "test_index", "test_data_info", "label")
ALGORITHM_KEYS = ("paradigm_type", "modules", "third_party_packages", "initial_model_url",
                  "quantization_type", "llama_quantize_path",
                  "train_data_setting", "test_data_setting")
MODULE_KEYS = ("type", "name", "url", "hyperparameters")
RANK_KEYS = ("sort_by", "visualization", "selected_dataitem", "save_mode")
SAVE_MODES = ("selected_and_all", "selected_only", "selected_and_all_and_picture")


def _require(mapping: dict[str, Any], key: str, file: str, path: str, kind: type | tuple[type, ...]) -> Any:
    if key not in mapping or mapping[key] is None:
        raise ConfigError(file, f"{path}.{key}", "is required but missing")
    value = mapping[key]
    if not isinstance(value, kind):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(file, f"{path}.{key}", f"must be a {want}, got {type(value).__name__} {value!r}")
    return value


def _no_unknown(mapping: dict[str, Any], allowed: tuple[str, ...], file: str, path: str,
                hints: dict[str, str] | None = None) -> None:
    for key in mapping:
        if key not in allowed:
            hint = (hints or {}).get(key, "")
            raise ConfigError(file, f"{path}.{key}",
                              f"unknown key{hint}. Valid keys: {', '.join(allowed)}")


def _existing_file(value: str, file: str, key: str, exts: tuple[str, ...] | None = None) -> str:
    if not os.path.isfile(value):
        raise ConfigError(file, key, f"file '{value}' not found (relative paths are resolved "
                                     f"against the current directory {os.getcwd()})")
    if exts and not value.endswith(exts):
        raise ConfigError(file, key, f"'{value}' must end with one of {', '.join(exts)}")
    return value


def _module_url_ok(url: str) -> bool:
    if os.path.exists(url):
        return True
    # Ianvs also accepts a dotted module name importable from the CWD.
    return not url.endswith(".py") and "/" not in url and url.replace(".", "").replace("_", "").isalnum()


def parse_job(job_file: str) -> JobSpec:
    """Read and validate a whole benchmarking job.

    Parameters
    ----------
    job_file : str
        Path of ``benchmarkingjob.yaml`` (relative to the CWD, as Ianvs).

    Returns
    -------
    JobSpec
        The job with its grid expanded into test cases.

    Raises
    ------
    ConfigError
        On the first invalid key, value or missing file, naming file and key.
    """
    raw = load_yaml(job_file)
    if "benchmarkingjob" not in raw:
        raise ConfigError(job_file, "benchmarkingjob", "top-level key 'benchmarkingjob' is missing")
    job = raw["benchmarkingjob"]
    if not isinstance(job, dict):
        raise ConfigError(job_file, "benchmarkingjob", "must be a mapping")
    _no_unknown(job, JOB_KEYS, job_file, "benchmarkingjob",
                {"hard_example_mining_mode": " (Ianvs ignores it here: put it in testenv.yaml)"})
    name = check_plain_name(_require(job, "name", job_file, "benchmarkingjob", str), job_file,
                            "benchmarkingjob.name")
    workspace = _require(job, "workspace", job_file, "benchmarkingjob", str)
    testenv_file = _existing_file(_require(job, "testenv", job_file, "benchmarkingjob", str),
                                  job_file, "benchmarkingjob.testenv")
    testenv = parse_testenv(testenv_file)

    test_object = _require(job, "test_object", job_file, "benchmarkingjob", dict)
    kind = _require(test_object, "type", job_file, "benchmarkingjob.test_object", str)
    if kind != "algorithms":
        raise ConfigError(job_file, "benchmarkingjob.test_object.type", f"must be 'algorithms', got {kind!r}")
    algorithms = _require(test_object, "algorithms", job_file, "benchmarkingjob.test_object", list)
    if not algorithms:
        raise ConfigError(job_file, "benchmarkingjob.test_object.algorithms", "is empty")
    cases: list[TestCaseSpec] = []
    seen_names: set[str] = set()
    for i, entry in enumerate(algorithms):
        path = f"benchmarkingjob.test_object.algorithms[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(job_file, path, "must be a mapping with 'name' and 'url'")
        alg_name = check_plain_name(_require(entry, "name", job_file, path, str), job_file, f"{path}.name")
        if alg_name in seen_names:
            raise ConfigError(job_file, f"{path}.name", f"algorithm name {alg_name!r} is used twice")
        seen_names.add(alg_name)
        alg_file = _existing_file(_require(entry, "url", job_file, path, str), job_file, f"{path}.url")
        for modules, paradigm in parse_algorithm(alg_file):
            cases.append(TestCaseSpec(len(cases), alg_name, alg_file, paradigm, modules))

    rank = parse_rank(_require(job, "rank", job_file, "benchmarkingjob", dict), job_file, testenv)
    return JobSpec(job_file, name, workspace, testenv, cases, rank)


def parse_testenv(file: str) -> TestEnvSpec:
    """Validate ``testenv.yaml``: mining mode, dataset files and metrics."""
    raw = load_yaml(file)
    env = raw.get("testenv")
    if not isinstance(env, dict):
        raise ConfigError(file, "testenv", "top-level key 'testenv' is missing or not a mapping")
    _no_unknown(env, TESTENV_KEYS, file, "testenv")
    mode = env.get("hard_example_mining_mode", "mining-then-inference")
    if mode not in MODES:
        raise ConfigError(file, "testenv.hard_example_mining_mode",
                          f"{mode!r} is not a mode. Choose one of: {', '.join(MODES)}")
    dataset = _require(env, "dataset", file, "testenv", dict)
    _no_unknown(dataset, DATASET_KEYS, file, "testenv.dataset")
    train = [k for k in ("train_index", "train_data", "train_data_info") if dataset.get(k)]
    if not train:
        raise ConfigError(file, "testenv.dataset.train_data",
                          "Ianvs requires one of train_index/train_data/train_data_info "
                          "(it is never read for joint inference; an empty file is fine)")
    _existing_file(str(dataset[train[0]]), file, f"testenv.dataset.{train[0]}")
    # Ianvs's precedence: test_index, then test_data, then test_data_info.
    if dataset.get("test_index"):
        test_file, kind = _existing_file(dataset["test_index"], file, "testenv.dataset.test_index", (".txt",)), "index"
    elif dataset.get("test_data"):
        test_file, kind = _existing_file(dataset["test_data"], file, "testenv.dataset.test_data", (".jsonl",)), "jsonl"
    elif dataset.get("test_data_info"):
        test_file = _existing_file(dataset["test_data_info"], file, "testenv.dataset.test_data_info")
        if os.path.basename(test_file) != "metadata.json":
            raise ConfigError(file, "testenv.dataset.test_data_info", "must be a file named metadata.json")
        kind = "metadata"
    else:
        raise ConfigError(file, "testenv.dataset.test_data", "one of test_data (.jsonl), test_index (.txt) "
                                                             "or test_data_info (metadata.json) is required")
    metrics_raw = _require(env, "metrics", file, "testenv", list)
    if not metrics_raw:
        raise ConfigError(file, "testenv.metrics", "is empty")
    metrics: list[MetricSpec] = []
    for i, m in enumerate(metrics_raw):
        path = f"testenv.metrics[{i}]"
        if not isinstance(m, dict):
            raise ConfigError(file, path, "must be a mapping with 'name' and 'url'")
        name = _require(m, "name", file, path, str)
        url = m.get("url")
        if not url:
            raise ConfigError(file, f"{path}.url", f"metric {name!r} has no url: the embedded runner has "
                                                   "no Ianvs built-in metrics; point url at a metric file")
        _existing_file(url, file, f"{path}.url", (".py",))
        metrics.append(MetricSpec(name, url))
    return TestEnvSpec(file, mode, test_file, kind, metrics, str(dataset.get("label", "") or ""))


def _parse_hyperparameters(raw: Any, file: str, path: str) -> list[dict[str, Any]]:
    """Expand one module's hyperparameters into its list of concrete combinations.

    ``other_hyperparameters`` files are merged (in order) into a base that explicit
    hyperparameters override; the other keys form a cartesian product (Ianvs semantics).
    """
    if raw is None:
        return [{}]
    if not isinstance(raw, list):
        raise ConfigError(file, path, "must be a list of '- name: {values: [...]}' entries")
    base: dict[str, Any] = {}
    names: list[str] = []
    value_lists: list[list[Any]] = []
    for i, entry in enumerate(raw):
        epath = f"{path}[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(file, epath, "each entry must be a single '<name>: {values: [...]}' mapping")
        (hp_name, hp_conf), = entry.items()
        if not isinstance(hp_conf, dict) or "values" not in hp_conf:
            raise ConfigError(file, f"{epath}.{hp_name}", "must be a mapping with a 'values' list")
        values = hp_conf["values"]
        if not isinstance(values, list):
            raise ConfigError(file, f"{epath}.{hp_name}.values",
                              f"must be a list (Ianvs would iterate {values!r} element by element); "
                              f"write values: [{values!r}]")
        if not values:
            raise ConfigError(file, f"{epath}.{hp_name}.values", "is empty: the grid would have no test case")
        if hp_name == "other_hyperparameters":
            for j, other in enumerate(values):
                other_file = _existing_file(str(other), file, f"{epath}.{hp_name}.values[{j}]", (".yaml", ".yml"))
                base.update(load_yaml(other_file, f"{epath}.{hp_name}.values[{j}]"))
        else:
            if hp_name in names:
                raise ConfigError(file, f"{epath}.{hp_name}", "hyperparameter listed twice")
            names.append(hp_name)
            value_lists.append(values)
    combos = []
    for combo in itertools.product(*value_lists):
        hp = copy.deepcopy(base)
        hp.update(dict(zip(names, combo)))
        combos.append(hp)
    return combos


def parse_algorithm(file: str) -> list[tuple[dict[str, ModuleSpec], str]]:
    """Validate an algorithm YAML and expand its module grid.

    Returns
    -------
    list of (modules, paradigm_type)
        One entry per test case, modules in YAML order, in Ianvs's product order.
    """
    raw = load_yaml(file)
    alg = raw.get("algorithm")
    if not isinstance(alg, dict):
        raise ConfigError(file, "algorithm", "top-level key 'algorithm' is missing or not a mapping")
    _no_unknown(alg, ALGORITHM_KEYS, file, "algorithm",
                {"hard_example_mining_mode": " (Ianvs ignores it here: put it in testenv.yaml)"})
    paradigm = _require(alg, "paradigm_type", file, "algorithm", str)
    if paradigm != "jointinference":
        raise ConfigError(file, "algorithm.paradigm_type",
                          f"the embedded runner supports 'jointinference' only, got {paradigm!r}")
    modules_raw = _require(alg, "modules", file, "algorithm", list)
    per_module: list[list[ModuleSpec]] = []
    seen: set[str] = set()
    for i, m in enumerate(modules_raw):
        path = f"algorithm.modules[{i}]"
        if not isinstance(m, dict):
            raise ConfigError(file, path, "must be a mapping with type, name, url, hyperparameters")
        _no_unknown(m, MODULE_KEYS, file, path)
        mtype = _require(m, "type", file, path, str)
        if mtype not in MODULE_TYPES:
            raise ConfigError(file, f"{path}.type", f"{mtype!r} is not a jointinference module type. "
                                                    f"Choose one of: {', '.join(MODULE_TYPES)}")
        if mtype in seen:
            raise ConfigError(file, f"{path}.type", f"a second '{mtype}' module: Ianvs would silently keep "
                                                    "only the last one yet multiply the test cases")
        seen.add(mtype)
        name = _require(m, "name", file, path, str)
        url = _require(m, "url", file, path, str)
        if not _module_url_ok(url):
            raise ConfigError(file, f"{path}.url", f"module file '{url}' not found (relative paths are "
                                                   f"resolved against the current directory {os.getcwd()})")
        combos = _parse_hyperparameters(m.get("hyperparameters"), file, f"{path}.hyperparameters")
        per_module.append([ModuleSpec(mtype, name, url, hp) for hp in combos])
    missing = [t for t in REQUIRED_MODULE_TYPES if t not in seen]
    if missing:
        raise ConfigError(file, "algorithm.modules", f"missing module type(s) {', '.join(missing)}: Ianvs "
                                                     "requires edgemodel, cloudmodel and hard_example_mining "
                                                     "in every jointinference algorithm, whatever the mode")
    return [({spec.type: spec for spec in combo}, paradigm) for combo in itertools.product(*per_module)]


def parse_rank(rank: dict[str, Any], file: str, testenv: TestEnvSpec) -> RankSpec:
    """Validate the ``rank`` section against the testenv's metric names."""
    _no_unknown(rank, RANK_KEYS, file, "benchmarkingjob.rank")
    metric_names = [m.name for m in testenv.metrics]
    sort_raw = rank.get("sort_by", [])
    if not isinstance(sort_raw, list):
        raise ConfigError(file, "benchmarkingjob.rank.sort_by", "must be a list of '- <metric>: ascend|descend'")
    sort_by: list[tuple[str, bool]] = []
    for i, entry in enumerate(sort_raw):
        path = f"benchmarkingjob.rank.sort_by[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(file, path, "must be a single '<metric>: ascend|descend' mapping")
        (metric, direction), = entry.items()
        if metric not in metric_names:
            raise ConfigError(file, path, f"metric {metric!r} is not in {testenv.file} (Ianvs would silently "
                                          f"skip it). Metrics: {', '.join(metric_names)}")
        if direction not in ("ascend", "descend"):
            raise ConfigError(file, f"{path}.{metric}", f"must be 'ascend' or 'descend', got {direction!r}")
        sort_by.append((metric, direction == "ascend"))
    selected = rank.get("selected_dataitem")
    sel: dict[str, list[str]] = {k: ["all"] for k in ("paradigms", "modules", "hyperparameters", "metrics")}
    if selected is not None:
        if not isinstance(selected, dict):
            raise ConfigError(file, "benchmarkingjob.rank.selected_dataitem", "must be a mapping")
        for key in sel:
            if key not in selected:
                raise ConfigError(file, f"benchmarkingjob.rank.selected_dataitem.{key}",
                                  "is required when selected_dataitem is given (Ianvs's rank stage "
                                  "crashes without it); use [\"all\"]")
            if not isinstance(selected[key], list):
                raise ConfigError(file, f"benchmarkingjob.rank.selected_dataitem.{key}", "must be a list")
            sel[key] = [str(v) for v in selected[key]]
        for metric in sel["metrics"]:
            if metric != "all" and metric not in metric_names:
                raise ConfigError(file, "benchmarkingjob.rank.selected_dataitem.metrics",
                                  f"metric {metric!r} is not in {testenv.file}")
    save_mode = rank.get("save_mode", "selected_and_all")
    if save_mode not in SAVE_MODES:
        raise ConfigError(file, "benchmarkingjob.rank.save_mode",
                          f"{save_mode!r} is not one of {', '.join(SAVE_MODES)}")
    vis = rank.get("visualization") or {}
    if not isinstance(vis, dict):
        raise ConfigError(file, "benchmarkingjob.rank.visualization", "must be a mapping")
    return RankSpec(sort_by, sel, save_mode, vis)
