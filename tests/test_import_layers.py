"""Dependency direction, checked by walking every import of jointbench/ (each with a control that fails).

* No method package imports another method's package (shared code lives in models/,
  conformal/, netsim/, datasets/, metrics/ and the top-level modules).
* No method package imports the runner (methods must run under real Ianvs).
* The shared packages import no method package.
* ``jointbench/plots.py`` names no method: methods register their plots.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "jointbench"
SHARED = {"models", "conformal", "netsim", "datasets", "metrics", "runner"}


def method_packages() -> set[str]:
    """Subpackages of jointbench/ that are not shared layers."""
    return {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} - SHARED


def imported_modules(source: str, module: str) -> set[str]:
    """Absolute names of every module ``source`` imports (also inside functions)."""
    out: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
    return out


def violations(package: str, source: str, module: str, methods: set[str]) -> list[str]:
    """Imports of ``module`` (in ``package``) that break the layering."""
    bad = []
    for name in sorted(imported_modules(source, module)):
        parts = name.split(".")
        if parts[0] != "jointbench" or len(parts) < 2:
            continue
        target = parts[1]
        if package in methods and target in methods and target != package:
            bad.append(f"{module} imports method package {name}")
        if package in methods and target == "runner":
            bad.append(f"{module} imports the runner ({name})")
        if package in SHARED and target in methods:
            bad.append(f"shared {module} imports method package {name}")
    return bad


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = rel.parts
        package = parts[1] if len(parts) > 2 else ""
        yield package, ".".join(p for p in parts if p != "__init__"), path


def test_method_packages_are_what_the_tree_holds() -> None:
    assert {"cab", "cascade", "specdec"} <= method_packages()


def test_no_method_imports_another_method_or_the_runner_and_shared_imports_no_method() -> None:
    methods = method_packages()
    found = [v for package, module, path in _modules()
             for v in violations(package, path.read_text(encoding="utf-8"), module, methods)]
    assert found == []


@pytest.mark.parametrize("package,source", [
    ("cab", "from jointbench.cascade.deferral import top1"),
    ("cab", "def f():\n    from jointbench.specdec.models import load_pair\n"),
    ("cab", "import jointbench.runner.job"),
    ("cab", "from ..cascade import replay"),
    ("metrics", "from jointbench.cab.options import PROB_TOL"),
])
def test_control_the_walker_catches_each_kind(package: str, source: str) -> None:
    module = f"jointbench.{package}.m"
    assert violations(package, source, module, method_packages())


def test_plots_names_no_method() -> None:
    text = (ROOT / "plots.py").read_text(encoding="utf-8")
    named = [m for m in sorted(method_packages()) if re.search(rf"\b{m}\b", text)]
    assert named == []
    # control: the same check on a file that names one
    assert re.search(r"\bcab\b", "from jointbench.cab.plots import plot_cab_rank")


def test_every_method_plot_is_found_through_the_registry() -> None:
    from jointbench.plots import method_plots

    assert {"cab", "specdec"} <= set(method_plots())
