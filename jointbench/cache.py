"""The one disk-cache helper and the one atomic-write helper of the suite.

Every cache on disk (converted models, calibrations, recorded traces, sampled generations,
embeddings, trained weights, …) goes through :class:`JsonCache` or at least through
:func:`cache_key` + the ``atomic_write_*`` functions, so that

- the key is a hash of *everything that decides the content* (passed explicitly as fields),
- each entry carries a format version, and an entry of another version or an unreadable entry is a
  miss (never an exception, never silently merged), and
- a write is atomic (temp file in the same folder + :func:`os.replace`): a reader sees the old file or
  the new one, never a truncated one, even after ``kill -9``.

The root folder is ``$JOINTBENCH_CACHE`` if set, else ``$XDG_CACHE_HOME/jointbench``, else
``~/.cache/jointbench``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "JsonCache",
    "atomic_dir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_npz",
    "atomic_write_text",
    "cache_dir",
    "cache_key",
]


def cache_dir() -> Path:
    """Root folder of every cache of the suite (created on first use by the writers).

    Returns
    -------
    Path
        ``$JOINTBENCH_CACHE``, else ``$XDG_CACHE_HOME/jointbench``, else ``~/.cache/jointbench``.
    """
    if os.environ.get("JOINTBENCH_CACHE"):
        return Path(os.environ["JOINTBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jointbench"


def cache_key(kind: str, fmt: int, **fields: Any) -> str:
    """A stable hex key from everything that decides a cache entry's content.

    Parameters
    ----------
    kind : str
        What is cached (``"calibration"``, ``"trace"``, …); part of the key.
    fmt : int
        Format version of the entry; bump it when the content's layout or meaning changes.
    **fields
        Every input that decides the content (model pair, prompt, seed, network, …). Values must be
        JSON-serialisable; keys are sorted, so the order of the fields does not matter.

    Returns
    -------
    str
        24 hex characters of a SHA-256 over the canonical JSON of ``(kind, fmt, fields)``.
    """
    blob = json.dumps([kind, int(fmt), fields], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    Parameters
    ----------
    path : str or PathLike
        Destination; its parent folder is created.
    data : bytes
        Content.

    Returns
    -------
    Path
        ``path``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = None) -> Path:
    """:func:`atomic_write_bytes` for a JSON document."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False))


def atomic_write_npz(path: str | os.PathLike[str], **arrays: Any) -> Path:
    """:func:`atomic_write_bytes` for a compressed numpy ``.npz`` of ``arrays``."""
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder under a temporary name and move it into place only if the block succeeds.

    Parameters
    ----------
    target : str or PathLike
        Final folder. If another process created it meanwhile, its copy is kept and ours dropped.

    Yields
    ------
    Path
        The temporary folder to fill.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        try:
            os.replace(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


class JsonCache:
    """A folder of JSON entries keyed by :func:`cache_key`, each stamped with its format version.

    Parameters
    ----------
    kind : str
        Sub-folder of :func:`cache_dir` and part of every key.
    fmt : int
        Format version; entries written with another version are misses.
    root : Path, optional
        Override of the cache root (tests); default :func:`cache_dir` at call time.
    """

    def __init__(self, kind: str, fmt: int, root: Path | None = None) -> None:
        self.kind = kind
        self.fmt = int(fmt)
        self._root = root

    def path(self, **fields: Any) -> Path:
        """Path of the entry decided by ``fields``."""
        root = self._root if self._root is not None else cache_dir()
        return root / self.kind / f"{cache_key(self.kind, self.fmt, **fields)}.json"

    def load(self, **fields: Any) -> Any | None:
        """The cached value for ``fields``, or ``None`` on a miss, a version change or a bad file."""
        path = self.path(**fields)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            warnings.warn(f"ignoring unreadable cache entry {path}: {exc}", stacklevel=2)
            return None
        if not isinstance(doc, dict) or doc.get("format") != self.fmt or "value" not in doc:
            return None
        return doc["value"]

    def store(self, value: Any, **fields: Any) -> Path:
        """Write ``value`` (JSON-serialisable) for ``fields`` atomically; returns its path."""
        doc = {"format": self.fmt, "kind": self.kind, "fields": fields, "value": value}
        return atomic_write_text(self.path(**fields), json.dumps(doc, default=str))
