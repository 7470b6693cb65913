"""Import plugin files the way Ianvs does, but refuse basename collisions.

Ianvs imports ``url: ./a/b/edge.py`` as the top-level module ``edge`` with
``./a/b`` on ``sys.path`` during the import (contract C15). Two files with the
same basename collide: the second is never imported. Here that is an error.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

from jointbench.registry import ClassFactory
from jointbench.runner.errors import RunnerError

_loaded: dict[str, str] = {}  # module name -> absolute file path that defined it


def load_module(url: str) -> ModuleType:
    """Import the plugin at ``url`` (a file, a package directory, or a dotted name).

    Parameters
    ----------
    url : str
        Path relative to the CWD, as in the YAML.

    Raises
    ------
    RunnerError
        If the import fails, or if another file with the same basename was
        already imported (Ianvs would silently use the first one).
    """
    folder, name = os.path.split(url)
    if os.path.isfile(url):
        name = name.split(".")[0]
    source = os.path.abspath(url) if os.path.exists(url) else url
    previous = _loaded.get(name)
    if previous is not None and previous != source:
        raise RunnerError(f"module basename collision: '{url}' and '{previous}' are both imported as "
                          f"'{name}'. Ianvs imports plugins by basename and would silently use only "
                          f"one of them: rename one file.")
    existing = sys.modules.get(name)
    if existing is not None and previous == source:
        return existing
    sys.path.insert(0, folder)
    try:
        module = importlib.import_module(name)
    except Exception as err:
        raise RunnerError(f"load module(url={url}) failed, error: {type(err).__name__}: {err}") from err
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    mod_file = getattr(module, "__file__", None)
    if os.path.exists(url) and mod_file and os.path.abspath(mod_file) not in (source, os.path.join(source, "__init__.py")):
        raise RunnerError(f"'{url}' was imported as '{name}' but Python found {mod_file} first: "
                          f"a module of that name already exists on sys.path; rename the plugin file.")
    _loaded[name] = source
    return module


def get_registered(type_name: str, alias: str, url: str) -> object:
    """Import ``url`` and return what it registered as ``alias`` in ``type_name``.

    Raises
    ------
    RunnerError
        Naming the alias, the file and the aliases that are available.
    """
    load_module(url)
    try:
        return ClassFactory.get_cls(type_name, alias)
    except ValueError as err:
        registry = getattr(ClassFactory, "__registry__", {})
        available = ", ".join(sorted(registry.get(type_name, {}))) or "(none)"
        raise RunnerError(f"'{url}' does not register a {type_name} named '{alias}'. "
                          f"Available: {available}") from err
