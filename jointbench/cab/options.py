"""Faithful vs clean treatment of the quirks of the authors' CAb pipeline.

The authors' code (arXiv 2510.17543, ``CAb.py``/``utils.py``) has a few behaviours that
are either bugs or undocumented choices. :class:`CabOptions` names each one so that
every number the suite produces says which treatment made it (``asdict(options)`` is
stored in every result).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Mode = Literal["faithful", "clean"]
ZeroRowPolicy = Literal["drop", "unsatisfiable"]
HmsFallback = Literal["top1", "full"]
TieBreak = Literal["conservative", "randomized"]
CbdRule = Literal["one_minus_delta", "val_tuned"]

#: Absolute slack (probability units) in ``>= 1 - alpha`` comparisons. The TeleQnA rows
#: are frequencies on a 1/10 grid stored in float32, so 0.1 + 0.7 must count as 0.8.
PROB_TOL = 1e-6


@dataclass(frozen=True)
class CabOptions:
    """Treatment of each quirk of the reference pipeline.

    Attributes
    ----------
    mode : {"faithful", "clean"}
        Label recorded with results; the presets below set the other fields.
    normalize_cloud : bool
        Renormalise cloud rows to sum to 1 before computing the cloud HMS and the
        alignment score C*(x). The authors use the raw rows (unparseable answers drop
        mass), so a row with total mass < 1 - alpha can never be satisfied, while their
        reference labels are sampled from the normalised row (``torch.multinomial``
        normalises). Labels are always sampled from the normalised row here.
    normalize_edge : bool
        Renormalise edge rows before building sets and features (an all-zero edge row,
        no parseable answer, becomes uniform). Off in both presets: the edge's lost mass
        is not a bug but information (an edge model that often fails to answer is less
        confident), and the authors use the raw rows. Turning it on changes the TeleQnA
        results markedly (edge CP sets shrink from 2.18 to 1.96 options on average).
    hms_fallback : {"top1", "full"}
        Set returned by the highest-mass set when no prefix of the sorted row reaches
        1 - alpha (only possible for unnormalised or all-zero rows). The authors' code
        returns the top-1 class (``argmax`` of an all-False mask); "full" returns all K
        classes, which is the set that honours the mass requirement as far as possible.
    lcp_clamp : float or None
        RLCP clamps the perturbed feature to [-c, c] in the authors' code (c = 3). The
        clamp breaks RLCP's validity argument (the kernel used for the weights is no
        longer the sampling density), so clean mode does not clamp.
    pool_size : int or None
        The authors hard-code a pool of the first 1720 rows of TeleQnA 4-option (of
        1723). None uses every usable row.
    zero_cloud_rows : {"drop", "unsatisfiable"}
        All-zero cloud rows (one row of TeleQnA 5-option) have no reference
        distribution. "drop" removes them from the pool and reports the count;
        "unsatisfiable" keeps them with a uniform reference label, a full cloud set and
        C*(x) = 0, so an edge set there is never satisfied.
    tie_break : {"conservative", "randomized"}
        Conformal p-value tie handling: the authors' deterministic version counts every
        tie against the test point; the randomised version of Jin & Candes (2023) splits
        ties with a uniform draw. Both are valid; ties are common here (the edge
        max-probability takes about 30 distinct values).
    cbd_rule : {"one_minus_delta", "val_tuned"}
        Threshold of the confidence-based deferral baseline: the authors' gamma = 1 -
        delta, or the smallest max-probability threshold whose empirical satisfaction
        rate on the selection-calibration split is >= 1 - delta (a stronger baseline
        without a guarantee).
    """

    mode: Mode = "clean"
    normalize_cloud: bool = True
    normalize_edge: bool = False
    hms_fallback: HmsFallback = "full"
    lcp_clamp: float | None = None
    pool_size: int | None = None
    zero_cloud_rows: ZeroRowPolicy = "drop"
    tie_break: TieBreak = "conservative"
    cbd_rule: CbdRule = "one_minus_delta"

    @classmethod
    def faithful(cls, **overrides: Any) -> CabOptions:
        """The authors' behaviour (plus a seeded RNG and correct coverage)."""
        base = cls(
            mode="faithful",
            normalize_cloud=False,
            normalize_edge=False,
            hms_fallback="top1",
            lcp_clamp=3.0,
            pool_size=1720,
        )
        return replace(base, **overrides)

    @classmethod
    def clean(cls, **overrides: Any) -> CabOptions:
        """Normalised cloud rows, full-set HMS fallback, no clamp, every usable row."""
        return replace(cls(), **overrides)

    @classmethod
    def from_mode(cls, mode: Mode | CabOptions, **overrides: Any) -> CabOptions:
        """Resolve a mode name (or pass an options object through, with overrides)."""
        if isinstance(mode, CabOptions):
            return replace(mode, **overrides)
        if mode == "faithful":
            return cls.faithful(**overrides)
        if mode == "clean":
            return cls.clean(**overrides)
        raise ValueError(f"Unknown mode {mode!r}. Available: 'faithful', 'clean'.")

    def as_record(self) -> dict[str, Any]:
        """Plain dict to store next to every number produced with these options."""
        return asdict(self)
