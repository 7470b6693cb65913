"""``calibrate(idle_ms=...)``: the calibration mode that times each draft step and verify pass after a wait.

The benchmark ``benchmarks/transport_vs_virtual.py`` compares the two-process run, whose
processes wait for the link between compute bursts, with a virtual clock calibrated the same
way. The default (``idle_ms=0``, every cached calibration of the suite) must not wait at all.
"""

from __future__ import annotations

import pytest

from jointbench.specdec import calibrate as calibrate_mod
from jointbench.specdec.calibrate import calibrate


class SleepLog:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)  # no real wait: the test times nothing


def test_idle_mode_sleeps_before_every_timed_verify_pass_only(tiny_pair, monkeypatch) -> None:
    log = SleepLog()
    monkeypatch.setattr(calibrate_mod.time, "sleep", log)
    ks, repeats = (0, 2), 3
    cal = calibrate(tiny_pair.target, tiny_pair.draft, prompt_lens=(8,), ks=ks, context_len=8, repeats=repeats,
                    idle_ms=25.0)
    assert log.calls == [0.025] * repeats  # verify passes with K >= 1 only (K = 2 here), not decode/draft/prefill
    assert cal.statistic == "q0.2 after 25 ms idle"
    log.calls.clear()
    plain = calibrate(tiny_pair.target, tiny_pair.draft, prompt_lens=(8,), ks=ks, context_len=8, repeats=repeats)
    assert log.calls == [] and plain.statistic == "q0.2"  # control: the default never waits


def test_negative_idle_is_refused(tiny_pair) -> None:
    with pytest.raises(ValueError, match="idle_ms=-1"):
        calibrate(tiny_pair.target, tiny_pair.draft, prompt_lens=(8,), ks=(0,), context_len=8, repeats=1, idle_ms=-1)
