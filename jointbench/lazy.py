"""Lazy package exports (PEP 562): a package names its public API without importing heavy modules.

A package's ``__init__`` maps each exported name to the submodule that defines it and installs
:func:`lazy_exports`' ``__getattr__``/``__dir__``; ``from jointbench.models import load_minilm``
still works, but ``import jointbench.models`` alone (or a light submodule of it) no longer
imports torch. Job runs that never load a model stay free of the import's cost.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` serving ``exports`` (name -> submodule, relative name).

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping of str to str
        Exported name -> submodule (``"causal_lm"`` for ``<package>.causal_lm``) that defines it.

    Raises
    ------
    AttributeError
        From ``__getattr__`` for a name the package does not export (as a normal module would).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(importlib.import_module(package).__dict__) | set(exports))

    return __getattr__, __dir__
