"""The one "model unavailable" error and the one transformers import guard."""

from __future__ import annotations

from typing import Any


class ModelUnavailable(RuntimeError):
    """A model's files or package are not on this machine (no download is ever attempted).

    The message names the model and the fix (the package to install, or where to put the files).
    """


def require_transformers(model: str = "this model") -> Any:
    """Import transformers, or raise :class:`ModelUnavailable` saying what to install.

    Parameters
    ----------
    model : str
        Named in the error message.
    """
    try:
        import transformers
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ModelUnavailable(f"loading {model} needs transformers==5.23.0 and torch "
                               "(pip install -r requirements.txt)") from err
    return transformers
