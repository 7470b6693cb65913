"""Tables 1–2 of the seed from a trade-off run, and the trade-off plot (cost vs accuracy, with stars
at each method's two operating points)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jointbench.patchoffload.costs import PAPER_RATES_MBPS
from jointbench.patchoffload.tradeoff import PROPOSED, SERVER_ONLY, operating_points

__all__ = ["BASELINE_METHODS", "best_baseline_within", "plot_tradeoff", "table1", "table2"]

BASELINE_METHODS = ("random", "topk", "attention_threshold", "attention_sum")
_LAT = [f"latency_ms_{r:g}mbps" for r in PAPER_RATES_MBPS]


def _fmt(row: dict[str, Any] | None) -> str:
    if row is None:
        return f"{'-':>6} {'-':>8} {'':>14}"
    return f"{row['cost']:6.3f} {row['accuracy_pct']:8.2f} ({row['knob']}={row['value']:g})".ljust(34)


def table1(rows: list[dict[str, Any]], gap_pp: float = 1.0) -> str:
    """Seed Table 1: cost and accuracy at best accuracy and within ``gap_pp`` of server-only."""
    pts = operating_points(rows, gap_pp)
    server = pts[SERVER_ONLY]["best"]
    lines = [f"Table 1 — server-only {server['accuracy_pct']:.2f}% at cost 1.000; 'within' = accuracy >= "
             f"{server['accuracy_pct'] - gap_pp:.2f}%",
             f"{'method':<22} {'best: cost':>10} {'acc %':>8}{'':22} {'within: cost':>12} {'acc %':>8}"]
    for m in (*BASELINE_METHODS, PROPOSED):
        if m in pts:
            lines.append(f"{m:<22} {_fmt(pts[m]['best'])} {_fmt(pts[m]['within'])}")
    return "\n".join(lines)


def table2(rows: list[dict[str, Any]], gap_pp: float = 1.0) -> str:
    """Seed Table 2: upload latency (ms) at 1 / 8 / 20 Mbit/s at the operating points of Table 1."""
    pts = operating_points(rows, gap_pp)
    base = best_baseline_within(rows, gap_pp) or "attention_sum"
    lines = [f"Table 2 — mean upload latency per image (ms); baseline shown: {base}",
             f"{'setting':<8} {'method':<22} {'acc %':>7} "
             + " ".join(f"{r:g} Mb/s".rjust(10) for r in PAPER_RATES_MBPS)]
    for setting, key in (("(a)", "best"), ("(b)", "within")):
        for m in (SERVER_ONLY, base, PROPOSED):
            r = pts.get(m, {}).get(key if m != SERVER_ONLY else "best")
            if r is None:
                lines.append(f"{setting:<8} {m:<22} {'-':>7}")
                continue
            lines.append(f"{setting:<8} {m:<22} {r['accuracy_pct']:7.2f} " + " ".join(f"{r[k]:10.2f}" for k in _LAT))
    return "\n".join(lines)


def best_baseline_within(rows: list[dict[str, Any]], gap_pp: float = 1.0) -> str | None:
    """The baseline with the lowest cost within ``gap_pp`` of server-only (None if none qualifies)."""
    pts = operating_points(rows, gap_pp)
    ok = [(pts[m]["within"]["cost"], m) for m in BASELINE_METHODS if m in pts and pts[m]["within"] is not None]
    return min(ok)[1] if ok else None


def plot_tradeoff(rows: list[dict[str, Any]], path: str, title: str = "", gap_pp: float = 1.0) -> str:
    """Communication cost (x) vs top-1 accuracy (y), one curve per method, stars at operating points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = operating_points(rows, gap_pp)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    server = pts[SERVER_ONLY]["best"]
    ax.axhline(server["accuracy_pct"], color="k", lw=0.8, ls="--", label=f"server-only ({server['accuracy_pct']:.1f}%)")
    ax.axhline(server["accuracy_pct"] - gap_pp, color="grey", lw=0.6, ls=":", label=f"server-only − {gap_pp:g} pp")
    for m in (*BASELINE_METHODS, PROPOSED):
        mine = sorted((r for r in rows if r["method"] == m), key=lambda r: r["cost"])
        if not mine:
            continue
        line, = ax.plot([r["cost"] for r in mine], [r["accuracy_pct"] for r in mine], marker=".",
                        lw=2.0 if m == PROPOSED else 1.0, label=m)
        for key in ("best", "within"):
            r = pts[m][key]
            if r is not None:
                ax.plot(r["cost"], r["accuracy_pct"], marker="*", ms=12, color=line.get_color(), mec="k")
    ax.set_xlabel("communication cost (bytes sent / raw image bytes)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(title or "communication–accuracy trade-off")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
