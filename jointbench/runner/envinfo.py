"""``env.json``: everything that determines a test case's numbers besides its YAML."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
from typing import Any

PACKAGES = ("jointbench", "numpy", "pandas", "scipy", "scikit-learn", "torch", "transformers",
            "matplotlib", "PyYAML", "sedna")


def _version(pkg: str) -> str | None:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=None)
def package_versions() -> dict[str, str | None]:
    """Versions of the packages that shape the numbers (read once per process)."""
    return {p: _version(p) for p in PACKAGES}


@functools.lru_cache(maxsize=8)
def git_state(cwd: str | None = None) -> dict[str, Any]:
    """Return ``{"commit": sha or None, "dirty": bool or None}`` of the repository at ``cwd``.

    Read once per process: a job does not change the checkout it runs from.
    """
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                    capture_output=True, text=True, timeout=5, check=True).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": sha, "dirty": dirty}


def _torch_state() -> dict[str, Any]:
    torch = sys.modules.get("torch")  # never import torch just to describe it
    if torch is None:
        return {"device": "cpu", "torch_threads": None}
    cuda = bool(torch.cuda.is_available())
    return {"device": torch.cuda.get_device_name(0) if cuda else "cpu",
            "torch_threads": int(torch.get_num_threads())}


def seeds_of(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Every hyperparameter whose name mentions a seed, e.g. ``edgemodel-network_seed``."""
    return {k: v for k, v in hyperparameters.items() if "seed" in k.lower()}


def environment(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Describe the machine, software and seeds of one test case.

    Parameters
    ----------
    hyperparameters : dict
        The case's rank-style hyperparameter columns (``<type>-<name>`` to value).
    """
    from jointbench.registry import USING_SEDNA

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        **_torch_state(),
        "packages": dict(package_versions()),
        "registry": "sedna" if USING_SEDNA else "jointbench",
        "git": dict(git_state()),
        "seeds": seeds_of(hyperparameters),
        "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
        "hyperparameters": hyperparameters,
    }
