"""The registries of speculative decoding's interchangeable parts: placements, policies, codecs.

Each part is a class registered in the suite's registry (:class:`jointbench.registry.Registry`,
with its "Unknown X. Available: …" errors) under one namespace per kind. Policies live one
per file in :mod:`jointbench.specdec.policies`, codecs in :mod:`jointbench.specdec.codecs`;
every module of those packages is imported on the first lookup, so adding a part is one
file (plus a YAML entry and a test), with no edit to the loop, the session or the metrics.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, TypeVar

from jointbench.registry import Registry

T = TypeVar("T")

PLACEMENT = "specdec placement"
POLICY = "specdec policy"
CODEC = "specdec codec"
_PACKAGES = {POLICY: "jointbench.specdec.policies", CODEC: "jointbench.specdec.codecs",
             PLACEMENT: "jointbench.specdec.placements"}
_DISCOVERED: set[str] = set()


def register(kind: str, alias: str) -> Callable[[T], T]:
    """Class decorator registering a part of ``kind`` (:data:`POLICY`, …) under ``alias``."""
    return Registry.register(kind, alias=alias)


def _discover(kind: str) -> None:
    """Import every module of the kind's package once (their decorators register them)."""
    if kind in _DISCOVERED:
        return
    package = importlib.import_module(_PACKAGES[kind])
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    _DISCOVERED.add(kind)


def lookup(kind: str, name: str) -> Any:
    """The class registered as ``name`` in ``kind``.

    Raises
    ------
    jointbench.registry.UnknownAliasError
        ``Unknown specdec policy 'x'. Available: fixed, heuristic``.
    """
    _discover(kind)
    return Registry.get_cls(kind, str(name))


def available(kind: str) -> list[str]:
    """Sorted names registered in ``kind``."""
    _discover(kind)
    return sorted(Registry.__registry__.get(kind, {}))
