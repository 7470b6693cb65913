"""Build hook: a wheel carries a copy of the repository's ``configs/`` as ``jointbench/_configs``.

``configs/`` at the repository root stays the one source (nothing is committed twice);
the copy is made only when a wheel or a plain ``pip install .`` builds the package, so
``jointbench.netsim.configfiles.config_dir`` finds the presets outside a checkout too.
Everything else is declared in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONFIGS = Path(__file__).resolve().parent / "configs"


class BuildPyWithConfigs(build_py):
    """``build_py`` that also copies ``configs/*.yaml`` into ``<build>/jointbench/_configs``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads configs/ in place
        target = Path(self.build_lib) / "jointbench" / "_configs"
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted(CONFIGS.glob("*.yaml")):
            shutil.copy2(f, target / f.name)


setup(cmdclass={"build_py": BuildPyWithConfigs})
