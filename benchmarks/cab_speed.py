"""Wall time of 200 CAb trials (one alpha, delta; split-CP edge sets) on 2 cores.

Target <= 1 s; the authors' per-trial pipeline takes about 35 s for the same cell.
Data loading is excluded; the first run (cold caches) and the best of 5 are printed for
the default batched-numpy logistic predictor in both modes, then one run with the
authors' XGBoost random forest when xgboost is installed (a per-trial loop).

    PYTHONPATH=. python benchmarks/cab_speed.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 2:
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])

import importlib.util  # noqa: E402
import time  # noqa: E402

from jointbench.cab.data import load_cascade_data  # noqa: E402
from jointbench.cab.experiment import run_trials  # noqa: E402


def _timed(data, **kw):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    res = run_trials(data, 0.2, 0.25, "cab", edge_set="cp", n_trials=200, **kw)
    return time.perf_counter() - start, res


def main() -> None:
    data = load_cascade_data(4)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"TeleQnA 4-option, CAb with split-CP edge sets, alpha=0.2, delta=0.25, "
          f"200 trials, {cores} cores")
    for mode in ("faithful", "clean"):
        times = []
        for rep in range(6):
            elapsed, res = _timed(data, seed=rep, mode=mode)
            times.append(elapsed)
        print(f"  {mode:8s} logistic: first run {times[0]:.3f} s, best of 5 "
              f"{min(times[1:]):.3f} s (target <= 1 s); DR {res['deferral_rate_mean']:.3f}, "
              f"SR {res['sr_mean']:.3f}")
    if importlib.util.find_spec("xgboost") is not None:
        elapsed, res = _timed(data, seed=0, mode="faithful", predictor="xgbrf")
        print(f"  faithful xgbrf (authors' predictor, per-trial loop): {elapsed:.2f} s; "
              f"DR {res['deferral_rate_mean']:.3f}, SR {res['sr_mean']:.3f}")


if __name__ == "__main__":
    main()
