"""The one cache helper: keys from every field, versioned entries, atomic writes."""

from __future__ import annotations

import json
import os

import pytest

from jointbench.cache import JsonCache, atomic_dir, atomic_write_text, cache_dir, cache_key


def test_key_depends_on_every_field_and_not_on_their_order() -> None:
    a = cache_key("trace", 1, pair="p", prompt="x", seed=0)
    assert a == cache_key("trace", 1, seed=0, prompt="x", pair="p")
    assert a != cache_key("trace", 1, pair="p", prompt="x", seed=1)
    assert a != cache_key("trace", 2, pair="p", prompt="x", seed=0)
    assert a != cache_key("calibration", 1, pair="p", prompt="x", seed=0)


def test_store_load_and_version_miss(tmp_path) -> None:
    c1 = JsonCache("demo", 1, root=tmp_path)
    assert c1.load(a=1) is None
    c1.store({"v": [1, 2]}, a=1)
    assert c1.load(a=1) == {"v": [1, 2]}
    assert c1.load(a=2) is None
    # Same fields, new format version: a different key, hence a miss.
    assert JsonCache("demo", 2, root=tmp_path).load(a=1) is None


def test_corrupt_entry_is_a_miss_with_a_warning(tmp_path) -> None:
    c = JsonCache("demo", 1, root=tmp_path)
    path = c.store([1], a=1)
    path.write_text('{"format": 1, "val')
    with pytest.warns(UserWarning, match="unreadable cache entry"):
        assert c.load(a=1) is None


def test_atomic_write_leaves_no_temp_and_replaces(tmp_path) -> None:
    p = tmp_path / "sub" / "f.json"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert sorted(os.listdir(p.parent)) == ["f.json"]


def test_atomic_dir_only_appears_when_the_block_succeeds(tmp_path) -> None:
    target = tmp_path / "model"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "w.bin").write_bytes(b"x")
        raise RuntimeError("conversion failed")
    assert not target.exists() and os.listdir(tmp_path) == []
    with atomic_dir(target) as tmp:
        (tmp / "w.bin").write_bytes(b"x")
    assert (target / "w.bin").read_bytes() == b"x"


def test_cache_dir_honours_env(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("JOINTBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "jointbench"
    assert json.loads(json.dumps(str(cache_dir())))
