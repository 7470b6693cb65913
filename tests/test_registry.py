"""The fallback registry: sedna's API, but collisions raise and lookups list what exists."""

from __future__ import annotations

import pytest

from jointbench.registry import DuplicateAliasError, Registry, UnknownAliasError


def test_register_and_get_roundtrip():
    @Registry.register("jbtest_space", alias="JBTestThing")
    class Thing:
        pass

    try:
        assert Registry.get_cls("jbtest_space", "JBTestThing") is Thing
        assert Registry.is_exists("jbtest_space", "JBTestThing")
        assert not Registry.is_exists("jbtest_space", "Nope")
    finally:
        Registry.unregister("jbtest_space", "JBTestThing")


def test_duplicate_alias_raises_and_names_both_definitions():
    def first():
        return 1

    def second():
        return 2

    Registry.register_cls(first, "jbtest_dup", alias="Same")
    try:
        with pytest.raises(DuplicateAliasError) as err:
            Registry.register_cls(second, "jbtest_dup", alias="Same")
        assert "Same" in str(err.value) and "first" in str(err.value) and "second" in str(err.value)
        assert Registry.get_cls("jbtest_dup", "Same") is first  # the first registration survives
        Registry.register_cls(first, "jbtest_dup", alias="Same")  # the same object again is fine
    finally:
        Registry.unregister("jbtest_dup", "Same")


def test_unknown_alias_lists_available():
    Registry.register_cls(int, "jbtest_lookup", alias="Alpha")
    Registry.register_cls(float, "jbtest_lookup", alias="Beta")
    try:
        with pytest.raises(UnknownAliasError, match=r"Unknown jbtest_lookup 'Gamma'\. Available: Alpha, Beta"):
            Registry.get_cls("jbtest_lookup", "Gamma")
    finally:
        Registry.unregister("jbtest_lookup", "Alpha")
        Registry.unregister("jbtest_lookup", "Beta")


def test_same_alias_in_different_types_is_allowed():
    Registry.register_cls(int, "jbtest_a", alias="X")
    Registry.register_cls(float, "jbtest_b", alias="X")
    try:
        assert Registry.get_cls("jbtest_a", "X") is int
        assert Registry.get_cls("jbtest_b", "X") is float
    finally:
        Registry.unregister("jbtest_a", "X")
        Registry.unregister("jbtest_b", "X")
