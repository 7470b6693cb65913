"""Kill the runner at random moments and check that nothing is lost or silently wrong.

A toy sweep (the runner-test plugins of ``tests/fixtures/toyplugins``, 30 test cases of a
few tens of ms each) runs into ONE workspace again and again; each run is killed with
SIGKILL or SIGTERM (alternating) at a random moment between its start and its expected end.
After each kill:

1. the rank CSVs, if present, must parse (complete header, every row whole, no NaN row)
   and no history may have been set aside as corrupt;
2. ``jointbench rank <workspace>/<job>`` must succeed, and then every finished case folder
   (``<algorithm>/<id>/case.json``) must be ranked exactly once, with no other row;
3. a SIGTERM that arrived after the signal handlers were installed must end the run with
   status 143 and one "interrupted after N of M test cases" line.

A run that ends before its kill moment is checked too but not counted; draws continue until
``--kills`` runs were really killed. Prints one line per run and ``N/N intact`` last; exits 1
if any run left a damaged state or fewer runs than asked could be killed.

    python benchmarks/faults.py [--kills 24] [--seed 0] [--jobs 1]

``--jobs 2`` runs every sweep with two worker processes (``jointbench run --jobs 2``); a killed
run must then also leave no worker behind.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from prochelpers import descendants, process_gone  # noqa: E402 - the tests' process helpers
TOY = REPO / "tests" / "fixtures" / "toyplugins" / "jbtoy_modules.py"
ROWS = [{"id": i, "conf": c, "guess": g, "hard": c < 0.5}
        for i, (c, g) in enumerate([(0.9, "C"), (0.2, "A"), (0.7, "B"), (0.1, "C"), (0.6, "C"), (0.4, "D")])]
ANSWERS = ["C", "C", "B", "D", "C", "A"]
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 11)]
OFFSETS = [0, 1, 2]
DELAY_S = 0.01


def write_job(root: Path) -> str:
    """Write the toy sweep (len(THRESHOLDS) x len(OFFSETS) test cases) under ``root``; return the job file."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    with open(root / "data" / "test.jsonl", "w") as fh:
        for row, ans in zip(ROWS, ANSWERS):
            fh.write(json.dumps({"question": row, "answer": ans}) + "\n")
    (root / "data" / "train.jsonl").write_text("")
    metric = "JBToy Hits (count)"
    testenv = {"testenv": {"hard_example_mining_mode": "inference-then-mining",
                           "dataset": {"train_data": "./data/train.jsonl", "test_data": "./data/test.jsonl"},
                           "metrics": [{"name": metric, "url": str(TOY)}]}}
    modules = [
        {"type": "edgemodel", "name": "JBToySlowEdge", "url": str(TOY),
         "hyperparameters": [{"delay_s": {"values": [DELAY_S]}}, {"offset": {"values": OFFSETS}}]},
        {"type": "cloudmodel", "name": "JBToyCloud", "url": str(TOY)},
        {"type": "hard_example_mining", "name": "JBToyThreshold", "url": str(TOY),
         "hyperparameters": [{"threshold": {"values": THRESHOLDS}}]},
    ]
    alg = {"algorithm": {"paradigm_type": "jointinference", "modules": modules}}
    job = {"benchmarkingjob": {"name": "faults", "workspace": "./ws", "testenv": "./testenv.json",
                               "test_object": {"type": "algorithms",
                                               "algorithms": [{"name": "toy", "url": "./alg.json"}]},
                               "rank": {"sort_by": [{metric: "descend"}],
                                        "selected_dataitem": {"paradigms": ["all"], "modules": ["all"],
                                                              "hyperparameters": ["all"], "metrics": ["all"]},
                                        "save_mode": "selected_and_all"}}}
    # JSON is YAML: no PyYAML needed to write the files.
    (root / "testenv.json").write_text(json.dumps(testenv))
    (root / "alg.json").write_text(json.dumps(alg))
    (root / "job.json").write_text(json.dumps(job))
    return "job.json"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "jointbench", *args]


def _case_ids(job_dir: Path) -> list[str]:
    # hidden names are folders being built (a SIGKILL can leave one); they are not finished cases
    return sorted(p.parent.name for p in job_dir.glob("*/*/case.json") if not p.parent.name.startswith("."))


def _temporaries(job_dir: Path) -> list[Path]:
    return [p for p in job_dir.glob("*/.*.tmp")]


def _ranked_ids(csv: Path) -> list[str]:
    return sorted(os.path.basename(u) for u in pd.read_csv(csv)["url"].astype(str))


def check_csvs(job_dir: Path) -> str | None:
    """Why the rank CSVs on disk are not trustworthy, or None."""
    from jointbench.runner.history import CorruptHistory, _check_csv_text

    rank = job_dir / "rank"
    if list(rank.glob("*.corrupt-*")):
        return "a rank CSV was found damaged and set aside"
    for name in ("all_rank.csv", "selected_rank.csv"):
        f = rank / name
        if not f.exists():
            continue
        try:
            _check_csv_text(f.read_text(encoding="utf-8"))
            df = pd.read_csv(f)
        except (CorruptHistory, ValueError) as err:
            return f"{name} does not parse: {err}"
        if df["url"].isna().any() or df["algorithm"].isna().any():
            return f"{name} has a row without url or algorithm"
    return None


def one_kill(root: Path, job: str, sig: signal.Signals, at_s: float,
             env: dict[str, str], jobs: int = 1) -> tuple[bool, str, int]:
    """Run, kill after ``at_s`` seconds, check; return (intact, description, exit status)."""
    job_dir = root / "ws" / "faults"
    proc = subprocess.Popen(_cli("run", job, "--no-progress", "--no-plot", "--jobs", str(jobs)), cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.perf_counter() + at_s
    workers: set[int] = set()
    while time.perf_counter() < deadline and proc.poll() is None:
        workers |= set(descendants(proc.pid))
        time.sleep(min(0.01, max(0.0, deadline - time.perf_counter())))
    workers |= set(descendants(proc.pid))
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    settle_by = time.perf_counter() + 5.0
    while not all(process_gone(w) for w in workers) and time.perf_counter() < settle_by:
        time.sleep(0.01)
    rc = proc.returncode
    what = f"{sig.name} at {at_s:.2f} s, rc {rc}"
    problem = check_csvs(job_dir)
    left = sorted(w for w in workers if not process_gone(w))
    if left:
        problem = f"worker process(es) {left} outlived the run"
    if problem is None and sig == signal.SIGTERM and rc not in (-signal.SIGTERM, 143, 0):
        problem = f"SIGTERM gave exit status {rc}: {err.strip()[-300:]}"
    if problem is None and rc == 143 and sum(line.startswith("interrupted after") for line in out.splitlines()) != 1:
        problem = "SIGTERM without exactly one 'interrupted after N of M test cases' line"
    if problem is None and "Traceback" in err:
        problem = f"a traceback: {err.strip()[-300:]}"
    cases = _case_ids(job_dir)
    if problem is None and cases:
        r = subprocess.run(_cli("rank", str(job_dir)), cwd=root, env=env, capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            problem = f"jointbench rank failed: {r.stderr.strip()[-300:]}"
        elif _ranked_ids(job_dir / "rank" / "all_rank.csv") != cases:
            problem = "after jointbench rank, the ranked cases differ from the finished case folders"
        elif _temporaries(job_dir):
            problem = f"jointbench rank left half-written temporaries: {_temporaries(job_dir)[:3]}"
        else:
            problem = check_csvs(job_dir)
    return problem is None, f"{what}: {len(cases)} finished cases" + (f"; BROKEN: {problem}" if problem else ""), rc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes per run (jointbench run --jobs)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="jointbench-faults-"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    try:
        job = write_job(root)
        start = time.perf_counter()
        r = subprocess.run(_cli("run", job, "--no-progress", "--no-plot", "--jobs", str(args.jobs)), cwd=root, env=env,
                           capture_output=True, text=True, timeout=300)
        full_s = time.perf_counter() - start
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
            print("0/0 intact (the unkilled reference run failed)")
            return 1
        n_cases = len(THRESHOLDS) * len(OFFSETS)
        print(f"reference run: {n_cases} test cases in {full_s:.1f} s with --jobs {args.jobs}; killing {args.kills} runs "
              f"at random moments in [0, {full_s:.1f}] s, one workspace throughout")
        intact = kills = broken_unkilled = attempts = 0
        while kills < args.kills and attempts < 3 * args.kills:
            attempts += 1
            sig = signal.SIGKILL if kills % 2 == 0 else signal.SIGTERM
            ok, line, rc = one_kill(root, job, sig, rng.uniform(0.0, full_s), env, args.jobs)
            if rc == 0:  # the run ended before the kill: checked, but not counted as a kill
                broken_unkilled += not ok
                print(f"  (run ended before the kill, not counted) {line}")
                continue
            kills += 1
            intact += ok
            print(f"  kill {kills:2d}: {line}")
        if broken_unkilled:
            print(f"{broken_unkilled} run(s) that ended before their kill left a damaged state")
        print(f"{intact}/{kills} intact")
        return 0 if intact == kills == args.kills and not broken_unkilled else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
