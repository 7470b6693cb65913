"""Command line: ``jointbench run|rank|plot|doctor``.

Exit status: 0 success; 1 a test case failed (or the run stopped on a repeated error or
an unwritable workspace); 2 nothing ran (invalid job, or another run holds the job
folder); 128 + signal number when interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _cmd_run(args: argparse.Namespace) -> int:
    from jointbench.runner.errors import ConfigError, RunnerError
    from jointbench.runner.job import run_job
    from jointbench.runner.lock import WorkspaceBusy
    from jointbench.runner.signals import exit_status

    try:
        extra = {} if args.max_repeated_failures is None else {"max_repeated_failures": args.max_repeated_failures}
        outcome = run_job(args.job, progress=not args.no_progress, full_records=args.full_records or None,
                          wait_s=args.wait, jobs=args.jobs, **extra)
    except ConfigError as err:
        print(f"jointbench: invalid job: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except WorkspaceBusy as err:
        print(f"jointbench: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except RunnerError as err:
        print(f"jointbench: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as err:  # the run printed "interrupted after N of M test cases; ..."
        return exit_status(err)
    if args.plot and outcome.leaderboard is not None:
        from jointbench.plots import plot_workspace

        for path in plot_workspace(outcome.spec.job_dir, jobs=args.jobs):
            print(f"[jointbench] plot written: {path}")
    return EXIT_FAILED if outcome.failures else EXIT_OK


def _cmd_rank(args: argparse.Namespace) -> int:
    from jointbench.runner.errors import RunnerError
    from jointbench.runner.rank import rebuild_rank

    try:
        writer = rebuild_rank(args.job_dir, out=sys.stdout)
    except RunnerError as err:
        print(f"jointbench: {err}", file=sys.stderr)
        return EXIT_FAILED
    print(f"[jointbench] rank rebuilt: {writer.all_file} ({writer.n_added_back} case(s) added from their folders)")
    return EXIT_OK


def _cmd_plot(args: argparse.Namespace) -> int:
    from jointbench.plots import plot_workspace

    paths = plot_workspace(args.workspace, out_dir=args.out, x_metric=args.x, y_metric=args.y, jobs=args.jobs)
    if not paths:
        print(f"jointbench: no rank/all_rank.csv found under {args.workspace}", file=sys.stderr)
        return EXIT_FAILED
    for path in paths:
        print(path)
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace) -> int:
    from jointbench.doctor import run_doctor

    return EXIT_OK if run_doctor() else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jointbench`` command."""
    parser = argparse.ArgumentParser(prog="jointbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an Ianvs benchmarkingjob.yaml with the embedded runner")
    run.add_argument("job", help="path of benchmarkingjob.yaml (relative to the current directory)")
    run.add_argument("--no-progress", action="store_true", help="hide the per-test-case progress bars")
    run.add_argument("--no-plot", dest="plot", action="store_false", help="do not draw plots after the run")
    run.add_argument("--full-records", action="store_true",
                     help="write every sample's four Ianvs slots in full to records.jsonl (default: compact; "
                          "also JOINTBENCH_FULL_RECORDS=1)")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="wait this long for another run using the same job folder (default: refuse at once)")
    run.add_argument("--max-repeated-failures", type=int, default=None, metavar="N",
                     help="stop when the same error ends N test cases in a row (default 3)")
    run.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                     help="run N test cases at once in forked worker processes (default 1, as Ianvs; results "
                          "and rank do not depend on N; jobs that time real work want 1)")
    rank = sub.add_parser("rank", help="rebuild a job's rank CSVs from its finished test case folders")
    rank.add_argument("job_dir", help="the job folder <workspace>/<job name>")
    plot = sub.add_parser("plot", help="draw PNG plots from the rank CSVs under a workspace")
    plot.add_argument("workspace", help="a workspace or job directory holding rank/all_rank.csv")
    plot.add_argument("--out", default=None, help="output folder (default: <job>/plots)")
    plot.add_argument("--x", default=None, help="metric for the x axis of the trade-off plot")
    plot.add_argument("--y", default=None, help="metric for the y axis of the trade-off plot")
    plot.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                      help="draw N figures at once in forked processes (default 1)")
    sub.add_parser("doctor", help="check the installation and print fixes")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status described in the module docstring."""
    args = build_parser().parse_args(argv)
    handlers = {"run": _cmd_run, "rank": _cmd_rank, "plot": _cmd_plot, "doctor": _cmd_doctor}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
