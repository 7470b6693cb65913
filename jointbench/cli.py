"""Command line: ``jointbench run|plot|doctor``."""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _cmd_run(args: argparse.Namespace) -> int:
    from jointbench.runner.errors import ConfigError
    from jointbench.runner.job import run_job

    try:
        outcome = run_job(args.job, progress=not args.no_progress)
    except ConfigError as err:
        print(f"jointbench: invalid job: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if args.plot and outcome.leaderboard is not None:
        from jointbench.plots import plot_workspace

        for path in plot_workspace(outcome.spec.job_dir):
            print(f"[jointbench] plot written: {path}")
    return EXIT_FAILED if outcome.failures else EXIT_OK


def _cmd_plot(args: argparse.Namespace) -> int:
    from jointbench.plots import plot_workspace

    paths = plot_workspace(args.workspace, out_dir=args.out, x_metric=args.x, y_metric=args.y)
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
    plot = sub.add_parser("plot", help="draw PNG plots from the rank CSVs under a workspace")
    plot.add_argument("workspace", help="a workspace or job directory holding rank/all_rank.csv")
    plot.add_argument("--out", default=None, help="output folder (default: <job>/plots)")
    plot.add_argument("--x", default=None, help="metric for the x axis of the trade-off plot")
    plot.add_argument("--y", default=None, help="metric for the y axis of the trade-off plot")
    sub.add_parser("doctor", help="check the installation and print fixes")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 on success, 1 if a test case failed, 2 on an invalid job."""
    args = build_parser().parse_args(argv)
    handlers = {"run": _cmd_run, "plot": _cmd_plot, "doctor": _cmd_doctor}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
