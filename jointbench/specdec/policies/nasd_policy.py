"""``nasd``: network-adaptive speculation depth (:mod:`~jointbench.specdec.nasd`) as a loop policy.

The table is chosen by the run's model pair and hardware pair (``configs/nasd/<pair>__<edge>__<cloud>.json``,
``__seed`` for the seed's formula) when the session binds the policy; a table given with
``policy_params.table`` that was built for another pair or hardware pair is refused with an
error naming both. ``costs: run`` (default) keeps the table's acceptance profile (a fact of
the model pair) and rebuilds ``K*`` for the run's compute model (``this-cpu`` is whatever
machine runs the suite); ``costs: table`` uses the table exactly as calibrated.
``acceptance: table`` (default, the seed) takes ``K*`` from the table; ``acceptance: online``
re-maximises the rate each cycle with an acceptance estimate updated from the session's own
cycles (prior: the table's profile, ``prior_strength`` pseudo-cycles; ``discount`` forgets),
see :mod:`~jointbench.specdec.nasd_online`; ``acceptance: shift`` moves the table's profile by one
logit shift fitted per session (prior precision ``shift_strength``), see :mod:`~jointbench.specdec.nasd_shift`.
``draft_stop: true`` ends each draft early by the draft's probabilities of its tokens, with the pair's
confidence map (``configs/nasd/confidence/<pair>.json``), asking for ``stop_k_max`` tokens at most;
see :mod:`~jointbench.specdec.nasd_stop` (greedy drafts: T=0 replays, the live engine, the tcp edge).

``next_k == 0`` asks the loop for one fallback step (``fallback``: ``edge_only``, lossy,
the default as in the seed; or ``cloud_only``, lossless), see :mod:`~jointbench.specdec.loop`.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping

from jointbench.specdec.nasd import Nasd
from jointbench.specdec.nasd_model import FALLBACKS, FORMULAS
from jointbench.specdec.nasd_online import ACCEPTANCE_SOURCES
from jointbench.specdec.nasd_rtt import RTT_MODES
from jointbench.specdec.nasd_stop import ConfidenceMap, DraftStop, confidence_path
from jointbench.specdec.nasd_table import NasdTable
from jointbench.specdec.parts import POLICY, register
from jointbench.specdec.policies.link_adapter import check_params, link_outcome, link_state
from jointbench.specdec.policy import CycleOutcome, DraftState

COST_SOURCES: tuple[str, ...] = ("run", "table")
_CONTROLLER_TYPES: dict[str, Any] = {
    "rtt_mode": str, "fallback": str, "cutoff": bool, "cutoff_margin": float, "hysteresis": float,
    "enter_after": int, "release_after": int, "probe_interval_ms": float, "fallback_tokens": int,
    "initial_rtt_ms": float, "rtt_alpha": float, "probe_backoff": float, "probe_interval_max_ms": (float, type(None)),
    "acceptance": str, "prior_strength": float, "discount": float, "context": bool, "shift_strength": float,
    "shift_local": (float, type(None)), "horizon": bool, "stop_k_max": (int, type(None)), "stream_rtt": bool,
    "answer_end": bool,
}
_CONTROLLER_DEFAULTS = inspect.signature(Nasd.__init__).parameters
NASD_PARAMS: dict[str, tuple[Any, Any]] = {
    "table": ((str, type(None)), None),
    "formula": (str, "corrected"),
    "costs": (str, "run"),
    "draft_stop": (bool, False),
    **{k: (t, _CONTROLLER_DEFAULTS[k].default) for k, t in _CONTROLLER_TYPES.items()},
}
"""Declared ``policy_params`` of ``nasd``: name -> (type(s), default); the controller's defaults are
:class:`~jointbench.specdec.nasd.Nasd`'s own."""
_CONTROLLER_KEYS = tuple(_CONTROLLER_TYPES)
_RUN_TABLES: dict[tuple[str, str], NasdTable] = {}


def _choice(key: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"policy 'nasd': policy_params.{key}={value!r}: unknown. Available: {', '.join(options)}")
    return value


@register(POLICY, "nasd")
class NasdPolicy:
    """The NASD controller behind the loop's policy interface.

    Parameters
    ----------
    params : mapping
        Checked ``policy_params`` (:data:`NASD_PARAMS`).
    k_max : int, optional
        Upper bound on the ``K`` returned.
    transient : bool
        Forget the link estimate and the cutoff at every query (default: carried over, same link).
    table : NasdTable, optional
        Use this table now instead of binding one by pair (tests, tools).
    confidence_map : ConfidenceMap, optional
        With ``draft_stop``: use this map instead of the pair's file (tests, tools).
    """

    reads_link = True

    def __init__(self, params: Mapping[str, Any] | None = None, k_max: int | None = None, transient: bool = False,
                 table: NasdTable | None = None, confidence_map: ConfidenceMap | None = None) -> None:
        p = check_params("nasd", dict(params or {}), NASD_PARAMS)
        _choice("formula", p["formula"], FORMULAS)
        _choice("costs", p["costs"], COST_SOURCES)
        _choice("rtt_mode", p["rtt_mode"], RTT_MODES)
        _choice("fallback", p["fallback"], FALLBACKS)
        _choice("acceptance", p["acceptance"], ACCEPTANCE_SOURCES)
        self.params = p
        self.k_max = k_max
        self.transient = bool(transient)
        self.fallback: str | None = p["fallback"] if p["cutoff"] else None
        """The loop runs a fallback step of this kind when :meth:`next_k` returns 0."""
        self.fallback_tokens = int(p["fallback_tokens"])
        self.table: NasdTable | None = None
        self.ctrl: Nasd | None = None
        self._compute: Callable[[], Any] | None = None
        self.cmap: ConfidenceMap | None = confidence_map if p["draft_stop"] else None
        self.query_kind: str | None = None
        if table is not None:
            self._use(table)

    @classmethod
    def build(cls, k: int, k_max: int | None, transient: bool, params: Mapping[str, Any]) -> NasdPolicy:
        """From the session's hyperparameters (``k`` unused: the table decides ``K``)."""
        return cls(params, k_max, transient)

    def _use(self, table: NasdTable) -> None:
        self.table = table
        if self.params["draft_stop"] and self.cmap is None:
            self.cmap = ConfidenceMap.load(confidence_path(table.pair), table.pair)
        self.ctrl = Nasd(table, **{k: self.params[k] for k in _CONTROLLER_KEYS}, stop=self.cmap)
        self.ctrl.query_kind = self.query_kind

    def set_query_kind(self, kind: str | None) -> None:
        """The prompt kind of the next query (``"teleqna"``, ``"gsm8k"``, None: unknown); the answer end
        (``answer_end``) reads that kind's length survival. The session calls this before each query."""
        self.query_kind = kind
        if self.ctrl is not None:
            self.ctrl.query_kind = kind

    def bind(self, pair: str, edge_hardware: str, cloud_hardware: str, compute: Callable[[], Any]) -> None:
        """Load and check the table for the run's pair and hardware pair (the session calls this).

        Raises
        ------
        jointbench.specdec.nasd_table.TablePairMismatchError
            The table was built for another pair or hardware pair (the message names both).
        FileNotFoundError
            No table for this pair and hardware pair (the message names the command that builds it).
        """
        from jointbench.specdec.nasd_calibrate import table_path

        path = self.params["table"] or table_path(pair, edge_hardware, cloud_hardware, self.params["formula"])
        self._use(NasdTable.load(path, pair, edge_hardware, cloud_hardware))
        self._compute = compute if self.params["costs"] == "run" else None

    def _ready(self) -> Nasd:
        if self.ctrl is None:
            raise RuntimeError("policy 'nasd' has no table: the session binds it to the run's pair and hardware "
                               "pair (NasdPolicy.bind), or pass table=")
        if self._compute is not None:
            from jointbench.specdec.nasd_calibrate import costs_from_compute

            assert self.table is not None
            costs = costs_from_compute(self._compute(), self.table.k_max,
                                       int(self.table.meta.get("dist_bytes_per_token", 0)))
            key = (self.table.calibration_hash, repr(costs))
            if key not in _RUN_TABLES:
                _RUN_TABLES[key] = self.table.with_costs(costs)
            self._compute = None
            self._use(_RUN_TABLES[key])
        assert self.ctrl is not None
        return self.ctrl

    @property
    def needs_confidence(self) -> bool:
        """True when the traces must hold the draft's probabilities (``draft_stop``)."""
        return bool(self.params["draft_stop"])

    @property
    def draft_stop(self) -> DraftStop | None:
        """The stop rule of the cycle :meth:`next_k` just asked for (the loop applies it)."""
        return self.ctrl.draft_stop if self.ctrl is not None else None

    def label(self) -> str:
        """Short label for tables and plots."""
        p = self.params
        tail = "" if not p["cutoff"] else ("+edge" if p["fallback"] == "edge_only" else "+cloud")
        seed = "-seedformula" if p["formula"] == "seed" else ""
        online = "" if p["acceptance"] == "table" else f"-{p['acceptance']}"
        stop = ("-stop" if p["draft_stop"] else "") + ("-end" if p["answer_end"] else "")
        margin = f"-margin{p['cutoff_margin']:g}" if p["cutoff"] and p["cutoff_margin"] != 1.0 else ""
        return f"NASD-{p['rtt_mode']}{seed}{online}{stop}{margin}{tail}"

    def reset(self) -> None:
        """New query: the link estimate and cutoff mode carry over unless ``transient``."""
        if self.ctrl is None:
            return
        if self.transient:
            self.ctrl.reset_link()
        else:
            self.ctrl.reset()

    def next_k(self, state: DraftState) -> int:
        """The table's ``K`` at the RTT estimate, or 0 for a fallback step (cutoff)."""
        k = self._ready().next_k(link_state(state))
        return min(k, self.k_max) if self.k_max is not None else k

    def update(self, outcome: CycleOutcome) -> None:
        """Feed the cycle's RTT sample and log it."""
        self._ready().update(link_outcome(outcome))

    def query_log(self) -> list[dict[str, Any]]:
        """The controller's per-cycle log of this query (K, RTT seen/estimated, cutoff, probe, overhead share)."""
        return [c.to_dict() for c in self.ctrl.log] if self.ctrl is not None else []

    def __repr__(self) -> str:
        diff = {k: v for k, v in self.params.items() if v != NASD_PARAMS[k][1]}
        return f"NasdPolicy({diff})"
