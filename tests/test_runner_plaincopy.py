"""The runner's fast deep copies equal ``copy.deepcopy`` and share nothing with the original."""

from __future__ import annotations

import copy

import numpy as np

from jointbench.runner.plaincopy import copy_inputs, plain_deepcopy

RECORD = {"sample_id": "q1", "sample_index": 3, "prediction": "B", "correct": True, "latency_ms": 1.5,
          "exchanges": [{"direction": "up", "bytes": 10, "bandwidth_mbps": None}],
          "extras": {"edge_set": [0, 2], "pair": (1, [2]), "arr": np.arange(3), "f": np.float32(0.5)}}


def _leaves_shared(a, b) -> bool:
    """True if some container of ``a`` is the very object at the same place in ``b``."""
    if isinstance(a, (dict, list, tuple, np.ndarray)) and a is b and not (isinstance(a, tuple) and not a):
        return True
    if isinstance(a, dict):
        return any(_leaves_shared(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return any(_leaves_shared(x, y) for x, y in zip(a, b))
    return False


def test_plain_deepcopy_equals_deepcopy_and_shares_nothing() -> None:
    got = plain_deepcopy(RECORD)
    want = copy.deepcopy(RECORD)
    assert list(got) == list(want) and got["exchanges"] == want["exchanges"]
    assert np.array_equal(got["extras"]["arr"], want["extras"]["arr"])
    assert type(got["extras"]["pair"]) is tuple and type(got["extras"]["f"]) is np.float32
    assert not _leaves_shared(got, RECORD)
    assert _leaves_shared(dict(RECORD), RECORD)  # control: a shallow copy shares its lists


def test_copy_inputs_copies_an_object_array_element_by_element() -> None:
    x = np.empty(2, dtype=object)
    x[:] = [{"row": 1, "tags": ["a"]}, {"row": 2, "tags": []}]
    got = copy_inputs(x)
    assert got.dtype == object and got.shape == x.shape and list(got) == list(x)
    got[0]["tags"].append("b")
    assert x[0]["tags"] == ["a"]
    texts = np.array(["q1", "q2"])
    assert copy_inputs(texts) is not texts and np.array_equal(copy_inputs(texts), texts)
    nested = np.empty(2, dtype=object)
    nested[0], nested[1] = [1, 2], [3]  # list elements stay lists (no broadcasting into 2-D)
    assert [type(v) for v in copy_inputs(nested)] == [list, list]
