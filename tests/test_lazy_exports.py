"""Lazy package exports: importing a package costs no torch import, and every exported name resolves."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

LAZY_PACKAGES = ["jointbench.models", "jointbench.specdec"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_importing_the_package_imports_no_torch(package: str) -> None:
    code = f"import sys, {package}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_control_an_eager_import_is_seen() -> None:
    """Control: the probe does see torch when a submodule imports it."""
    code = "import sys, jointbench.models.causal_lm; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_export_resolves_to_its_submodule_object(package: str) -> None:
    pkg = importlib.import_module(package)
    for name, module in pkg._EXPORTS.items():
        assert getattr(pkg, name) is getattr(importlib.import_module(f"{package}.{module}"), name)
    assert sorted(pkg.__all__) == sorted(pkg._EXPORTS) and set(pkg._EXPORTS) <= set(dir(pkg))
    with pytest.raises(AttributeError, match="no attribute 'load_nothing'"):
        pkg.load_nothing  # noqa: B018


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_no_export_shares_a_submodule_name(package: str) -> None:
    """Importing a submodule sets the package attribute of its name, shadowing a lazy export of that name."""
    pkg = importlib.import_module(package)
    submodules = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
    assert not set(pkg._EXPORTS) & submodules
