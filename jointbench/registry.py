"""Class registry with the API of KubeEdge sedna's ``ClassFactory``.

When KubeEdge's sedna is installed (as it is under real Ianvs) its registry is
re-exported, so modules registered here are the ones Ianvs finds. Otherwise the
suite's own :class:`Registry` stands in, with two differences that protect users:
a duplicate alias raises instead of silently overwriting, and a failed lookup
lists what is available.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def kubeedge_sedna_available() -> bool:
    """Return True when ``sedna`` is KubeEdge's sedna, not the unrelated PyPI package.

    PyPI's ``sedna`` is a unit-conversion library without ``sedna.common.class_factory``.
    """
    try:
        importlib.import_module("sedna.common.class_factory")
    except ImportError:
        return False
    return True


class _ClassType:
    """Registry namespaces, with the same values as sedna's ``ClassType``."""

    GENERAL = "general"
    HEM = "hard_example_mining"
    CALLBACK = "post_process_callback"


class DuplicateAliasError(ValueError):
    """Raised when an alias is registered twice in one namespace."""


class UnknownAliasError(ValueError):
    """Raised when a lookup names an alias that nobody registered."""


class _Registry:
    """Process-global registry of classes and functions by (type, alias).

    Mirrors sedna's ``ClassFactory`` classmethod API (``register``,
    ``register_cls``, ``is_exists``, ``get_cls``).
    """

    __registry__: dict[str, dict[str, Any]] = {}

    @classmethod
    def register(cls, type_name: str = _ClassType.GENERAL, alias: str | None = None) -> Callable[[T], T]:
        """Decorator registering a class or function under ``alias`` (default: its name)."""

        def wrapper(obj: T) -> T:
            return cls.register_cls(obj, type_name, alias)

        return wrapper

    @classmethod
    def register_cls(cls, obj: T, type_name: str = _ClassType.GENERAL, alias: str | None = None) -> T:
        """Register ``obj`` under ``alias``.

        Raises
        ------
        DuplicateAliasError
            If another object already holds ``alias`` in ``type_name``. Re-registering
            the very same object (a module imported twice) is allowed.
        """
        name = alias if alias is not None else getattr(obj, "__name__", repr(obj))
        space = cls.__registry__.setdefault(type_name, {})
        old = space.get(name)
        if old is not None and not _same_definition(old, obj):
            raise DuplicateAliasError(
                f"Duplicate {type_name} alias '{name}': already registered by "
                f"{_where(old)}, now again by {_where(obj)}. Aliases must be unique "
                f"(Ianvs would silently keep only one of them)."
            )
        space[name] = obj
        return obj

    @classmethod
    def is_exists(cls, type_name: str, cls_name: str | None = None) -> bool:
        """Return whether ``type_name`` (and ``cls_name`` inside it) is registered."""
        if cls_name is None:
            return type_name in cls.__registry__
        return cls_name in cls.__registry__.get(type_name, {})

    @classmethod
    def get_cls(cls, type_name: str, t_cls_name: str | None = None) -> Any:
        """Return the object registered as ``t_cls_name`` in ``type_name``.

        Raises
        ------
        UnknownAliasError
            Naming the alias and listing the available ones.
        """
        space = cls.__registry__.get(type_name, {})
        if t_cls_name is None or t_cls_name not in space:
            available = ", ".join(sorted(space)) or "(none)"
            raise UnknownAliasError(f"Unknown {type_name} '{t_cls_name}'. Available: {available}")
        return space[t_cls_name]

    @classmethod
    def unregister(cls, type_name: str, alias: str) -> None:
        """Remove one alias (used by tests and by the runner between jobs)."""
        cls.__registry__.get(type_name, {}).pop(alias, None)


def _same_definition(a: Any, b: Any) -> bool:
    """True if ``a`` and ``b`` are the same object or the same definition re-imported."""
    if a is b:
        return True
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None),
        getattr(b, "__qualname__", None),
    ) and getattr(a, "__qualname__", None) is not None


def _where(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


Registry = _Registry

if kubeedge_sedna_available():  # pragma: no cover - exercised only where Ianvs is installed
    from sedna.common.class_factory import ClassFactory, ClassType  # type: ignore[import-not-found]

    USING_SEDNA = True
else:
    ClassFactory = _Registry  # type: ignore[assignment,misc]
    ClassType = _ClassType  # type: ignore[assignment,misc]
    USING_SEDNA = False

__all__ = [
    "ClassFactory",
    "ClassType",
    "DuplicateAliasError",
    "Registry",
    "USING_SEDNA",
    "UnknownAliasError",
    "kubeedge_sedna_available",
]
