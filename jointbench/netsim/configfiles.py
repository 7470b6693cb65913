"""Locate and read the suite's versioned YAML preset files (``configs/*.yaml``)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from jointbench.yamlload import safe_load

CONFIG_DIR_ENV = "JOINTBENCH_CONFIG_DIR"
SUPPORTED_VERSIONS: frozenset[int] = frozenset({1})


#: Where a wheel built from the repository carries a copy of ``configs/`` (see ``setup.py``).
PACKAGED_CONFIGS = Path(__file__).resolve().parents[1] / "_configs"


def config_dir() -> Path:
    """Return the directory holding the suite's preset files.

    Returns
    -------
    pathlib.Path
        ``$JOINTBENCH_CONFIG_DIR`` when that variable is set and non-empty; else
        ``<repo root>/configs`` (the parent of the ``jointbench`` package directory) when it
        exists, as in a checkout or an editable install; else the copy a plain
        ``pip install .`` puts inside the package (``jointbench/_configs``), built from the
        repository's ``configs/`` at install time.
    """
    env = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[2] / "configs"
    if repo.is_dir() or not PACKAGED_CONFIGS.is_dir():
        return repo
    return PACKAGED_CONFIGS


#: Parsed presets by (resolved path, mtime ns, size): every test case's modules look their
#: profiles up again, and parsing the file dominated that. An edited file is read anew.
_PARSED: dict[tuple[str, int, int], dict[str, dict[str, Any]]] = {}


def read_profiles_file(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read a versioned presets file and return its ``profiles`` mapping (a fresh copy per call).

    The file must be a YAML mapping with an integer ``version`` (one of
    :data:`SUPPORTED_VERSIONS`) and a ``profiles`` mapping of name to mapping.

    Parameters
    ----------
    path : path-like
        The YAML file.

    Returns
    -------
    dict
        ``{profile name: {key: value}}``, in file order.

    Raises
    ------
    FileNotFoundError
        If the file does not exist; the message names it and the env variable.
    ValueError
        If the file is not valid YAML or lacks the expected layout; the message
        names the file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"{p}: preset file not found (set {CONFIG_DIR_ENV} to the folder that holds it)"
        )
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _PARSED:
        _PARSED[key] = _parse_profiles(p)
    return copy.deepcopy(_PARSED[key])


def _parse_profiles(p: Path) -> dict[str, dict[str, Any]]:
    try:
        data = safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a mapping with 'version' and 'profiles' at the top")
    version = data.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"{p}: 'version' is {version!r}; supported: {sorted(SUPPORTED_VERSIONS)}")
    profiles = data.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        raise ValueError(f"{p}: 'profiles' must be a non-empty mapping of name -> settings")
    out: dict[str, dict[str, Any]] = {}
    for name, body in profiles.items():
        if not isinstance(body, dict):
            raise ValueError(f"{p}: profile {name!r} must be a mapping, got {type(body).__name__}")
        out[str(name)] = dict(body)
    return out
