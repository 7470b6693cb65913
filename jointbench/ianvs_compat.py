"""What a module must do so that real Ianvs + sedna 0.6.0.1 accept it (contract C4, C5).

sedna wraps the edge model in a backend chosen by ``BACKEND_TYPE`` (unset means
TensorFlow) and refuses to start unless ``model_path`` names an existing path or an
``org/repo`` id; with the plain backend it then calls ``edge.load(model_url=path)``.
Both variables are read after the edge model's ``__init__``, so setting them there works.
"""

from __future__ import annotations

import os

PLAIN_BACKEND = "JOINTBENCH"  # any value but TENSORFLOW/KERAS/TORCH/MINDSPORE selects sedna's plain backend


def prepare_edge_environment(model_path: str, backend: str = PLAIN_BACKEND) -> None:
    """Set ``BACKEND_TYPE`` (unless the user set it) and ``model_path`` for sedna.

    Parameters
    ----------
    model_path : str
        An existing file or directory (sedna then calls ``load(model_url=...)``)
        or an ``org/repo`` model id.
    backend : str
        Backend name to use when ``BACKEND_TYPE`` is unset.

    Raises
    ------
    FileNotFoundError
        If ``model_path`` neither exists nor looks like ``org/repo``.
    """
    if not os.path.exists(model_path) and model_path.count("/") != 1:
        raise FileNotFoundError(f"model_path '{model_path}' does not exist")
    os.environ.setdefault("BACKEND_TYPE", backend)
    os.environ["model_path"] = model_path
