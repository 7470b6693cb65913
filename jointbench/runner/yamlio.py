"""YAML loading with errors that name the file."""

from __future__ import annotations

import os
from typing import Any

import yaml

from jointbench.runner.errors import ConfigError
from jointbench.yamlload import safe_load


def load_yaml(path: str, key: str = "(file)") -> dict[str, Any]:
    """Load a YAML mapping from ``path`` (relative to the CWD, as Ianvs does).

    Parameters
    ----------
    path : str
        File to read.
    key : str
        The key that named this file, for the error message.

    Raises
    ------
    ConfigError
        If the file is missing, not YAML, or not a mapping.
    """
    if not os.path.isfile(path):
        raise ConfigError(path, key, f"file not found (relative paths are resolved against the "
                                     f"current directory {os.getcwd()})")
    try:
        with open(path, encoding="utf-8") as fh:
            data = safe_load(fh)
    except yaml.YAMLError as err:
        raise ConfigError(path, key, f"not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(path, key, f"expected a mapping at the top level, got {type(data).__name__}")
    return data
