"""The per-sample record every module returns, and how metrics read it back.

Ianvs passes whatever a module returns through ``y_pred`` untouched (deep-copied),
so the record is a plain ``dict``; :class:`SampleRecord` documents and builds it.
Metrics read records only through :func:`field_values`, never by position.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Literal

Route = Literal["edge", "cloud", "both"]


@dataclass
class SampleRecord:
    """One sample's outcome, as every module of the suite reports it.

    Attributes
    ----------
    sample_id : str
        Stable identifier of the input (e.g. the TeleQnA question id).
    sample_index : int or None
        Row of the input in the test file, so metrics can align ``y_true`` even
        when a ``dataset_processor`` subsampled the test set.
    prediction : Any
        What the system answered (an option letter, a token list, a set, ...).
    correct : bool or None
        Whether ``prediction`` matches the reference, when the module knows it.
    route : {"edge", "cloud", "both"}
        Who produced ``prediction``: the edge alone, the cloud alone, or both
        (the edge ran first and the cloud answered, as in a deferral).
    latency_ms : float or None
        End-to-end latency of the sample in milliseconds (virtual clock).
    edge_compute_ms, cloud_compute_ms, network_ms : float or None
        The split of ``latency_ms`` into edge compute, cloud compute and network time (ms).
    bytes_up, bytes_down : int
        Bytes sent edge to cloud and cloud to edge for this sample (payload + headers).
    retransmissions : int
        Segments retransmitted by the simulated transport for this sample.
    ttft_ms : float or None
        Time to first token (ms), for generative methods.
    tokens_out, cycles, drafted, accepted : int or None
        Generated tokens; speculative-decoding cycles, drafted and accepted tokens.
    exchanges : list of dict
        One entry per network message: ``direction`` ("up"/"down"), ``kind``,
        ``bytes``, and delays ``propagation_ms``, ``serialisation_ms``,
        ``jitter_ms``, ``retransmission_ms``.
    extras : dict
        Method-specific fields (set sizes, confidences, bits per token, ...).
    """

    sample_id: str
    sample_index: int | None = None
    prediction: Any = None
    correct: bool | None = None
    route: Route = "edge"
    latency_ms: float | None = None
    edge_compute_ms: float | None = None
    cloud_compute_ms: float | None = None
    network_ms: float | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    retransmissions: int = 0
    ttft_ms: float | None = None
    tokens_out: int | None = None
    cycles: int | None = None
    drafted: int | None = None
    accepted: int | None = None
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as the plain ``dict`` a module hands to Ianvs."""
        return dataclasses.asdict(self)


RECORD_FIELDS: frozenset[str] = frozenset(f.name for f in dataclasses.fields(SampleRecord))


def as_record(value: Any) -> Mapping[str, Any] | None:
    """Return ``value`` if it is a record-like mapping, else ``None``.

    Parameters
    ----------
    value : Any
        One of the result slots of Ianvs's ``y_pred`` item.
    """
    if type(value) is dict:  # the common case, without the ABC instance check
        return value
    return value if isinstance(value, Mapping) else None
