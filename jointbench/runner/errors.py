"""Errors raised by the embedded runner."""

from __future__ import annotations


class RunnerError(RuntimeError):
    """A test case failed while running (a module raised, a metric failed, ...)."""


class ConfigError(ValueError):
    """A benchmarking job, testenv or algorithm YAML is invalid.

    Parameters
    ----------
    file : str
        The YAML file (as the user wrote its path) that holds the bad entry.
    key : str
        Dotted path of the bad key inside that file, e.g. ``testenv.dataset.test_data``.
    message : str
        What is wrong and, where possible, how to fix it.
    """

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file = file
        self.key = key
        self.message = message
        super().__init__(f"{file}: {key}: {message}")
