"""The suite's one YAML reader: safe loading, through libyaml when PyYAML was built with it.

``yaml.CSafeLoader`` builds the same plain Python values as ``yaml.SafeLoader`` (only standard
tags; no arbitrary objects) several times faster; PyYAML without libyaml falls back to the
pure-Python loader.
"""

from __future__ import annotations

from typing import IO, Any

import yaml

#: The loader class in use (libyaml's when available).
SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream: str | bytes | IO[str]) -> Any:
    """``yaml.safe_load`` through :data:`SAFE_LOADER`; raises ``yaml.YAMLError`` on bad YAML."""
    return yaml.load(stream, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader (C or Python)
