"""C-SQS against top-K on the *same* drafted positions at T = 1.5 (issue 11, diagnostic, no target).

``sqs_bits.py`` judges target 2 on trajectories that every codec samples anew, so its gaps
carry ~2 pp of sampling noise. Here one trajectory per (prompt, seed) is drafted once
(K-SQS K=256 through the loop, ``benchmarks/sqs_csqs_rule.py``'s probe records each drafted
position's 257 largest draft probabilities and the target's probabilities at those ids), and
every codec is evaluated analytically on those positions: its support (top-K, or C-SQS's
threshold with the controller replayed in order and reset per query), the suite's lattice
``q_hat`` (``ell = max(16, 2|S|)``), its bits (support, lattice and token index, plus C-SQS's
gamma size code; no message header) and

    TV(q, q_hat): the draft's own deviation from dense (dropped mass + quantisation),
    TV(p, q_hat): the rejection probability of the position.

Paired exactly: the only noise is which positions were drafted (a bootstrap over prompt x
seed units, shared by every codec). Caveat: the drafted tokens (and so later contexts) follow
K-SQS-256's draws, not each codec's own.

    JOINTBENCH_CACHE=/work/cache/me .venv/bin/python benchmarks/sqs_paired.py [--split judged|heldout]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from jointbench.specdec.codecs.sqs_codecs import CSQSCodec  # noqa: E402
from jointbench.specdec.sqs_frontier import bootstrap_gap, frontier_at  # noqa: E402
from jointbench.specdec.sqs_rule import position_terms  # noqa: E402
from jointbench.specdec.sqs_support import ConformalThreshold  # noqa: E402
from sqs_bits import CSQS_ALPHAS, CSQS_KMAX, FRONTIER_K  # noqa: E402
from sqs_csqs_rule import (HELDOUT_SEEDS, extended_grid, heldout_questions, judged_questions,  # noqa: E402
                           probe_positions)

JUDGED_SEEDS = 6  # as sqs_bits.py's --frontier-seeds default


Sizes = Callable[[np.ndarray], Sequence[int]]  # a query's position rows -> support size per position


def unit_totals(rec: dict[str, Any], sizes_of: Sizes, k_max: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Per unit ``(bits, positions, sum TV(p, q_hat), positions)`` and ``(sum TV(q, q_hat), sum |S|)``."""
    units = np.asarray(rec["unit"])
    out, extra = np.zeros((units.max() + 1, 4)), np.zeros((units.max() + 1, 2))
    for u in np.unique(units):
        rows = np.flatnonzero(units == u)
        for i, n in zip(rows, sizes_of(rows)):
            tv_q, tv_p, bits = position_terms(rec["q"][i], rec["p"][i], int(n), int(rec["vocab"]), k_max)
            out[u] += (bits, 1, tv_p, 1)
            extra[u] += (tv_q, n)
    return out, extra


def csqs_sizes(rec: dict[str, Any], params: dict[str, Any]) -> Sizes:
    """Support sizes of one query's positions with C-SQS's controller replayed (reset per query)."""
    codec = CSQSCodec(**params)  # its defaults (eta, beta1, beta_min) and validation

    def sizes(rows: np.ndarray) -> list[int]:
        p = codec.params
        ctrl = ConformalThreshold(p["alpha"], p["eta"], p["beta1"], p["beta_min"], p["beta_max"])
        out = []
        for i in rows:
            q = rec["q"][i]
            n = int(np.clip((q >= ctrl.beta).sum(), 1, p["k_max"]))
            ctrl.update(max(0.0, 1.0 - float(q[:n].sum())))
            out.append(n)
        return out
    return sizes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("judged", "heldout"), default="judged")
    args = ap.parse_args()
    judged = args.split == "judged"
    rec = probe_positions(judged_questions() if judged else heldout_questions(),
                          JUDGED_SEEDS if judged else HELDOUT_SEEDS)
    print(f"{args.split} prompts {', '.join(rec['ids'])}: {len(rec['q'])} drafted positions, "
          f"{len(set(rec['unit']))} units (probe generated in {rec['seconds']:.0f} s)")
    ksqs, ksqs_tvq = {}, {}
    for k in FRONTIER_K:
        ksqs[f"k-sqs-{k}"], ex = unit_totals(rec, lambda rows, k=k: [k] * len(rows), None)
        ksqs_tvq[k] = 100 * ex[:, 0].sum() / ksqs[f"k-sqs-{k}"][:, 1].sum()
    print("top-K:  " + "; ".join(f"K={k} {ksqs[f'k-sqs-{k}'][:, 0].sum() / ksqs[f'k-sqs-{k}'][:, 1].sum():.0f} bits "
                                 f"TV(p) {100 * ksqs[f'k-sqs-{k}'][:, 2].sum() / ksqs[f'k-sqs-{k}'][:, 3].sum():.1f}% "
                                 f"TV(q) {ksqs_tvq[k]:.1f}%" for k in FRONTIER_K))
    settings = {f"c-sqs-{a}-k{m}": {"alpha": a, "k_max": m} for m in CSQS_KMAX for a in CSQS_ALPHAS}
    settings.update({lb: r.codec_params() for lb, r in extended_grid().items()})
    kbits = np.array([ksqs[f"k-sqs-{k}"][:, 0].sum() / ksqs[f"k-sqs-{k}"][:, 1].sum() for k in FRONTIER_K])
    ktvq = np.array([ksqs_tvq[k] for k in FRONTIER_K])
    print(f"{'codec':<24} {'bits':>6} {'|S|':>6} {'TV(q) %':>8} {'top-K':>6} {'TV(p) %':>8} {'top-K %':>8} "
          f"{'gap pp':>7} {'95% interval':>16}")
    # the rule's settings once more with a free size code: what the support allocation alone is worth
    rows = [(lb, pr, int(pr["k_max"])) for lb, pr in settings.items()]
    rows += [(f"{lb}-nosize", pr, None) for lb, pr in settings.items() if lb.startswith("c-sqs-rule")]
    for label, params, size_cap in rows:
        tot, ex = unit_totals(rec, csqs_sizes(rec, params), size_cap)
        g = bootstrap_gap(ksqs, tot)
        print(f"{label:<24} {g.bits:>6.0f} {ex[:, 1].sum() / tot[:, 1].sum():>6.1f} "
              f"{100 * ex[:, 0].sum() / tot[:, 1].sum():>8.2f} {frontier_at(kbits, ktvq, g.bits):>6.2f} "
              f"{g.rej:>8.2f} {g.frontier:>8.2f} {g.gap:>+7.2f} {f'[{g.lo:+.2f}, {g.hi:+.2f}]':>16}")
    print("TV(q): the draft's deviation from dense (dropped + quantisation), top-K's at the same bits beside it; "
          "TV(p): rejection; gap = TV(p) - top-K frontier at the same bits (paired bootstrap over units); "
          "-nosize: the same supports without the size code's bits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
