"""One ``jointinference`` test case with the semantics of Ianvs + sedna 0.6.0.1.

Call order (contract C18): construct modules in YAML order, set ``RESULT_SAVED_URL``,
load the test set and apply ``dataset_processor``, wrap the edge model in a sedna
backend (``BACKEND_TYPE``, ``model_path`` check, ``edge.load``), build the HEM, then
per sample produce ``[is_hard_example, result, edge_result, cloud_result]`` (C20),
and finally ``cleanup()`` modules in YAML order and the HEM.
"""

from __future__ import annotations

import copy
import inspect
import os
import re
from typing import Any, Callable

from tqdm import tqdm

from jointbench.registry import ClassType
from jointbench.runner.datasource import DataSource, load_test_set
from jointbench.runner.errors import RunnerError
from jointbench.runner.loader import get_registered, load_module
from jointbench.runner.plaincopy import plain_deepcopy
from jointbench.runner.spec import TestCaseSpec, TestEnvSpec

YPred = list[Any]
_ORG_REPO = re.compile(r"^[\w.\-]+/[\w.\-]+$")
#: The progress bar's Edge/Cloud counts are updated every this many samples.
POSTFIX_EVERY = 128


def build_modules(case: TestCaseSpec) -> dict[str, Any]:
    """Construct every module of ``case`` in YAML order with ``cls(**hyperparameters)``.

    The HEM is kept as sedna's ``{"method": name, "param": hp}`` description; it is
    instantiated later, after ``edge.load`` (as sedna does).
    """
    instances: dict[str, Any] = {}
    for mtype, spec in case.modules.items():
        hp = copy.deepcopy(spec.hyperparameters)
        if mtype == "hard_example_mining":
            load_module(spec.url)
            instances[mtype] = {"method": spec.name, "param": hp}
            continue
        cls = get_registered(ClassType.GENERAL, spec.name, spec.url)
        try:
            instances[mtype] = cls(**hp)  # type: ignore[operator]
        except TypeError as err:
            raise RunnerError(f"{mtype} '{spec.name}' rejected its hyperparameters {sorted(hp)}: {err}") from err
    return instances


def _load_edge(edge: Any) -> str:
    """Mimic sedna's backend wrap and ``model_path`` check, then call ``edge.load``.

    Returns
    -------
    str
        The backend kind used ("TORCH" or "plain").
    """
    if callable(edge):
        raise RunnerError("the edgemodel defines __call__: sedna's backend would call the instance in load() "
                          "and replace it with the return value (contract C19). Remove __call__.")
    backend = os.environ.get("BACKEND_TYPE")
    if backend is None:
        raise RunnerError("BACKEND_TYPE is not set: real Ianvs would then import tensorflow. Set "
                          "os.environ['BACKEND_TYPE'] (e.g. in the edge model's __init__) to TORCH or "
                          "another value (contract C4).")
    model_path = os.environ.get("model_path") or os.environ.get("MODEL_PATH")
    if model_path is None:
        raise RunnerError("os.environ['model_path'] is not set: sedna fails with \"'NoneType' object has no "
                          "attribute 'lstrip'\". Set it (e.g. in the edge model's __init__) to an existing "
                          "file or directory, or an 'org/repo' name (contract C5).")
    exists = os.path.exists(model_path)
    if not exists and not _ORG_REPO.match(model_path):
        raise RunnerError(f"model_path '{model_path}' does not exist (sedna raises FileExistsError: "
                          f"{model_path} miss)")
    if not hasattr(edge, "load"):
        raise RunnerError("the edgemodel has no load() method; sedna calls it once per test case")
    if backend.upper() == "TORCH":
        edge.load()
        return "TORCH"
    if exists:
        # Real sedna passes a file as given; a directory is first copied to
        # /tmp/model_finetune_.pkl. Here a directory is passed as is.
        edge.load(model_url=model_path)
    return "plain"


def _edge_predict_fn(edge: Any, backend: str, mode: str) -> Callable[[Any], Any]:
    params = inspect.signature(edge.predict).parameters
    takes_mode = "mining_mode" in params or (
        "kwargs" in params and params["kwargs"].kind is inspect.Parameter.VAR_KEYWORD)
    if backend == "TORCH":
        if "data" not in params:
            raise RunnerError("with BACKEND_TYPE=TORCH sedna calls predict(data=...): name the first "
                              "parameter of the edge model's predict 'data' (contract C4c)")
        return lambda x: edge.predict(data=x, mining_mode=mode)
    if takes_mode:
        return lambda x: edge.predict(x, mining_mode=mode)
    return lambda x: edge.predict(x)


def _build_hem(case: TestCaseSpec, desc: dict[str, Any], instances: dict[str, Any]) -> Any:
    spec = case.modules["hard_example_mining"]
    cls = get_registered(ClassType.HEM, spec.name, spec.url)
    param = dict(desc["param"])
    if spec.name == "OracleRouter":
        param["edgemodel"] = instances["edgemodel"]
        param["cloudmodel"] = instances["cloudmodel"]
    try:
        return cls(**param)  # type: ignore[operator]
    except TypeError as err:
        raise RunnerError(f"hard_example_mining '{spec.name}' rejected its hyperparameters "
                          f"{sorted(param)}: {err}") from err


def infer_one(x: Any, mode: str, predict: Callable[[Any], Any], cloud: Any, hem: Any) -> YPred:
    """One sample through sedna's ``JointInference.inference`` (contract C20).

    Returns
    -------
    list
        ``[is_hard_example, result, edge_result, cloud_result]``; ``result`` is a deep copy.
    """
    if mode == "self-design":
        res = predict(x)
        if not (isinstance(res, (list, tuple)) and len(res) == 4):
            raise RunnerError("in self-design mode the edge model's predict must return "
                              "[is_hard, result, edge_result, cloud_result]; Ianvs indexes [2] and [3] "
                              f"of it (got {type(res).__name__})")
        return list(res)
    edge_result = cloud_result = None
    if mode == "inference-then-mining":
        edge_result = predict(x)
        res = plain_deepcopy(edge_result)
        is_hard = hem(res)
        if is_hard:
            cloud_result = cloud.inference(x, post_process=None, mining_mode=mode)
            res = plain_deepcopy(cloud_result)
    else:  # mining-then-inference
        is_hard = hem(x)
        if is_hard:
            cloud_result = cloud.inference(x, post_process=None, mining_mode=mode)
            res = plain_deepcopy(cloud_result)
        else:
            edge_result = predict(x)
            res = plain_deepcopy(edge_result)
    return [is_hard, res, edge_result, cloud_result]


def collect_provenance(instances: dict[str, Any]) -> dict[str, Any]:
    """``{module type: module.provenance()}`` for the modules that have the hook (INTERFACES A.3).

    Raises
    ------
    RunnerError
        If a hook raises or returns something other than a dict.
    """
    out: dict[str, Any] = {}
    for mtype, module in instances.items():
        hook = getattr(module, "provenance", None)
        if isinstance(module, dict) or not callable(hook):
            continue
        try:
            value = hook()
        except Exception as err:
            raise RunnerError(f"{mtype}.provenance() failed: {type(err).__name__}: {err}") from err
        if not isinstance(value, dict):
            raise RunnerError(f"{mtype}.provenance() must return a dict, got {type(value).__name__}")
        out[mtype] = value
    return out


def run_test_case(case: TestCaseSpec, env: TestEnvSpec, result_saved_url: str,
                  progress: bool = True, desc: str = "", *, dataset: DataSource | None = None,
                  provenance: dict[str, Any] | None = None) -> list[YPred]:
    """Run ``case`` and return its ``y_pred`` (one 4-slot list per inference sample).

    Parameters
    ----------
    dataset : DataSource, optional
        The test set, already loaded (the job loads it once); a ``dataset_processor``
        may change it, so pass a copy. Default: read ``env.test_file``.
    provenance : dict, optional
        Filled with ``{module type: module.provenance()}`` for every module that has the
        optional ``provenance()`` hook (INTERFACES A.3), after the last sample.
    """
    instances = build_modules(case)
    os.environ["RESULT_SAVED_URL"] = result_saved_url
    os.makedirs(result_saved_url, exist_ok=True)
    if dataset is None:
        dataset = load_test_set(env.test_file, env.test_kind, "inference")
    processor = instances.get("dataset_processor")
    if callable(processor):
        dataset = processor(dataset)
        if not hasattr(dataset, "x"):
            raise RunnerError("dataset_processor must return an object with an iterable .x")
    edge, cloud = instances["edgemodel"], instances["cloudmodel"]
    backend = _load_edge(edge)
    hem = _build_hem(case, instances["hard_example_mining"], instances)
    predict = _edge_predict_fn(edge, backend, env.mode)
    results: list[YPred] = []
    n_edge = n_cloud = 0
    bar = tqdm(dataset.x, total=len(dataset.x), desc=desc or case.algorithm, ncols=100, mininterval=0.5,
               disable=not progress, leave=False)
    try:
        for i, x in enumerate(bar):
            try:
                item = infer_one(x, env.mode, predict, cloud, hem)
            except RunnerError:
                raise
            except Exception as err:
                raise RunnerError(f"sample {i} failed: {type(err).__name__}: {err}") from err
            if item[0]:
                n_cloud += 1
            else:
                n_edge += 1
            if not i % POSTFIX_EVERY:  # formatting the postfix costs more than a cheap sample
                bar.set_postfix({"Edge": n_edge, "Cloud": n_cloud}, refresh=False)
            results.append(item)
        bar.set_postfix({"Edge": n_edge, "Cloud": n_cloud}, refresh=False)
        if provenance is not None:
            provenance.update(collect_provenance({**instances, "hard_example_mining": hem}))
    finally:
        bar.close()
        for module in [*instances.values(), hem]:
            if hasattr(module, "cleanup") and not isinstance(module, dict):
                module.cleanup()
    return results
