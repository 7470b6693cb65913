"""Plots drawn from Ianvs rank CSVs (never from hard-coded numbers); matplotlib, Agg.

Generic plots (metric bars, quality-vs-cost trade-offs) for any job, plus the plots each method
registers with :func:`register_method_plot` (found by :func:`method_plots`; one signature).
"""

from __future__ import annotations

import functools
import glob
import importlib
import importlib.util
import os
import pkgutil
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from jointbench.workers import fork_map

MAX_GENERIC_ROWS = 60  # above this, only method-specific plots are drawn by default
_QUALITY = re.compile(r"accuracy|agreement|satisfaction|coverage|tokens/s", re.I)


def metric_columns(df: pd.DataFrame) -> list[str]:
    """Metric columns of a rank frame: those between ``algorithm`` and ``paradigm``."""
    cols = list(df.columns)
    if "algorithm" not in cols or "paradigm" not in cols:
        return []
    return cols[cols.index("algorithm") + 1: cols.index("paradigm")]


def hyperparameter_columns(df: pd.DataFrame) -> list[str]:
    """``<moduletype>-<hp>`` columns whose value varies across rows."""
    cols = list(df.columns)
    start = cols.index("paradigm") + 1 if "paradigm" in cols else 0
    stop = cols.index("time") if "time" in cols else len(cols)
    return [c for c in cols[start:stop] if "-" in c and df[c].astype(str).nunique() > 1]


def latest_runs(df: pd.DataFrame) -> pd.DataFrame:
    """Keep, per algorithm and hyperparameter setting, the most recent row (all_rank accumulates runs)."""
    keys = ["algorithm", *[c for c in df.columns if "-" in c and c not in metric_columns(df)]]
    ordered = df.sort_values("time", kind="stable") if "time" in df.columns else df
    return ordered.drop_duplicates(subset=keys, keep="last")


def _labels(df: pd.DataFrame) -> list[str]:
    hps = hyperparameter_columns(df)
    out = []
    for _, row in df.iterrows():
        extra = ", ".join(f"{c.split('-', 1)[1]}={row[c]}" for c in hps if pd.notna(row[c]))
        out.append(f"{row['algorithm']}" + (f" ({extra})" if extra else ""))
    return out


def _pick(metrics: list[str], pattern: re.Pattern[str]) -> str | None:
    for m in metrics:
        if pattern.search(m):
            return m
    return None


def _series(df: pd.DataFrame) -> tuple[list[str], str | None]:
    """Columns that split rows into lines (algorithm + fixed settings) and the swept hyperparameter."""
    hps = hyperparameter_columns(df)
    swept = max(hps, key=lambda c: df[c].astype(str).nunique()) if hps else None
    return ["algorithm", *[c for c in hps if c != swept]], swept


def _cost_metrics(metrics: list[str]) -> list[str]:
    """One cost metric per family (routing, latency, bytes), in column order."""
    chosen: dict[str, str] = {}
    for m in metrics:
        for family, pattern in (("routing", r"deferral|cloud share"), ("latency", r"latency"),
                                ("bytes", r"uplink|downlink|bytes")):
            if family not in chosen and re.search(pattern, m, re.I):
                chosen[family] = m
    return list(chosen.values())


def plot_tradeoff(df: pd.DataFrame, path: str, x: str, y: str, title: str) -> str:
    """Scatter ``y`` against ``x``: one line per algorithm and fixed setting, points labelled by the swept value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys, swept = _series(df)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for name, group in df.groupby(keys, sort=False, dropna=False):
        group = group.dropna(subset=[x, y]).sort_values(x)
        if group.empty:
            continue
        parts = name if isinstance(name, tuple) else (name,)
        label = " / ".join(str(p) for p in parts if pd.notna(p))
        ax.plot(group[x], group[y], marker="o", label=label)
        if swept is not None and len(group) > 1:
            for _, row in group.iterrows():
                ax.annotate(f"{row[swept]}", (row[x], row[y]), textcoords="offset points", xytext=(4, 4),
                            fontsize=7)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title + (f"  (labels: {swept.split('-', 1)[1]})" if swept else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_metric_bars(df: pd.DataFrame, path: str, metrics: list[str], title: str) -> str:
    """One horizontal bar chart per metric, a bar per test case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = _labels(df)
    n = len(metrics)
    # One shared y axis: the rows' ticks and labels are made once, not once per panel (most of the
    # drawing time of a wide figure).
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 0.32 * len(df) + 1.6), squeeze=False, sharey=True)
    first = axes[0][0]
    first.set_yticks(range(len(df)))
    first.set_yticklabels(labels, fontsize=7)
    for ax, metric in zip(axes[0], metrics):
        values = pd.to_numeric(df[metric], errors="coerce")
        ax.barh(range(len(df)), values.fillna(0.0))
        if ax is not first:
            ax.tick_params(axis="y", left=False, labelleft=False)
        ax.set_title(metric, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    first.invert_yaxis()  # shared: inverts every panel
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_rank_file(rank_csv: str, out_dir: str | None = None, x_metric: str | None = None,
                   y_metric: str | None = None, jobs: int = 1) -> list[str]:
    """Draw the trade-off and per-metric plots of one ``all_rank.csv``.

    ``jobs`` > 1 draws the figures in that many forked processes (:func:`jointbench.workers.fork_map`);
    the files are the same.

    Returns
    -------
    list of str
        Paths of the PNG files written.
    """
    job_dir = os.path.dirname(os.path.dirname(os.path.abspath(rank_csv)))
    job = os.path.basename(job_dir)
    out_dir = out_dir or os.path.join(job_dir, "plots")
    os.makedirs(out_dir, exist_ok=True)
    df = latest_runs(pd.read_csv(rank_csv, index_col=0))
    metrics = metric_columns(df)
    if not metrics or df.empty:
        return []
    for m in metrics:
        df[m] = pd.to_numeric(df[m], errors="coerce")
    for name, given in (("x", x_metric), ("y", y_metric)):
        if given is not None and given not in metrics:
            raise ValueError(f"--{name} {given!r} is not a metric of {rank_csv}. Metrics: {', '.join(metrics)}")
    figures: list[Callable[[], list[str]]] = [
        functools.partial(fn, df, rank_csv, out_dir, job) for fn in method_plots().values()]
    if len(df) <= MAX_GENERIC_ROWS or x_metric or y_metric:  # else a bar per test case is unreadable
        figures.append(functools.partial(_one, plot_metric_bars, df, os.path.join(out_dir, f"{job}_metrics.png"),
                                         metrics, job))
        y = y_metric or _pick(metrics, _QUALITY)
        xs = [x_metric] if x_metric else _cost_metrics(metrics)
        for x in xs:
            if y and x != y:
                safe = re.sub(r"[^A-Za-z0-9]+", "_", f"{y}_vs_{x}").strip("_").lower()
                figures.append(functools.partial(_one, plot_tradeoff, df, os.path.join(out_dir, f"{job}_{safe}.png"),
                                                 x, y, job))
    if jobs > 1:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401 - imported once here, not in every worker
    return [path for paths in fork_map(figures, jobs) for path in paths]


def _one(fn: Callable[..., str], *args: Any) -> list[str]:
    return [fn(*args)]


MethodPlot = Callable[[pd.DataFrame, str, str, str], list[str]]
"""A method's plots: ``fn(df, rank_csv, out_dir, job) -> paths written``; draws nothing (returns [])
when ``df`` (the latest rows of the rank CSV, metrics numeric) lacks the method's columns."""

_METHOD_PLOTS: dict[str, MethodPlot] = {}
PLOT_MODULE_SUFFIX = "plots"


def register_method_plot(name: str) -> Callable[[MethodPlot], MethodPlot]:
    """Decorator a method's ``*plots`` module uses to register its plot function under ``name``."""

    def wrapper(fn: MethodPlot) -> MethodPlot:
        if name in _METHOD_PLOTS and _METHOD_PLOTS[name] is not fn:
            raise ValueError(f"method plot {name!r} registered twice ({_METHOD_PLOTS[name].__module__}, "
                             f"{fn.__module__})")
        _METHOD_PLOTS[name] = fn
        return fn

    return wrapper


def method_plots() -> dict[str, MethodPlot]:
    """Every registered method plot, after importing each ``jointbench/<package>/*plots.py`` module.

    A method joins by adding a module whose name ends in ``plots`` to its package and decorating
    its plot function with :func:`register_method_plot`; nothing here names a method.
    """
    import jointbench

    for pkg in pkgutil.iter_modules(jointbench.__path__):
        if not pkg.ispkg:
            continue
        spec = importlib.util.find_spec(f"jointbench.{pkg.name}")
        locations = list(spec.submodule_search_locations or []) if spec else []
        for mod in pkgutil.iter_modules(locations):
            if mod.name.endswith(PLOT_MODULE_SUFFIX):
                importlib.import_module(f"jointbench.{pkg.name}.{mod.name}")
    return dict(sorted(_METHOD_PLOTS.items()))


def plot_workspace(path: str, out_dir: str | None = None, x_metric: str | None = None,
                   y_metric: str | None = None, jobs: int = 1) -> list[str]:
    """Plot every ``rank/all_rank.csv`` under ``path`` (a workspace or a job folder), ``jobs`` figures at once."""
    files = sorted(set(glob.glob(os.path.join(path, "rank", "all_rank.csv"))
                       + glob.glob(os.path.join(path, "**", "rank", "all_rank.csv"), recursive=True)))
    written: list[str] = []
    for f in files:
        written += plot_rank_file(f, out_dir, x_metric, y_metric, jobs)
    return written
