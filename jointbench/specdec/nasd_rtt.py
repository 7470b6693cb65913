"""NASD's RTT input: the previous cycle's round trip, its RFC 6298 smoothed value, or a median of three."""

from __future__ import annotations

RTT_MODES: tuple[str, ...] = ("raw", "srtt", "median3")
MEDIAN_WINDOW = 3
SRTT_ALPHA = 1.0 / 8.0
"""RFC 6298 §2: SRTT <- (1 - alpha) SRTT + alpha R, alpha = 1/8."""
RTTVAR_BETA = 1.0 / 4.0
"""RFC 6298 §2: RTTVAR <- (1 - beta) RTTVAR + beta |SRTT - R|, beta = 1/4."""


class RttEstimator:
    """The previous cycle's RTT (``"raw"``), its RFC 6298 smoothed value (``"srtt"``), or the
    median of the last three samples (``"median3"``: ignores one spike, follows a step
    after two cycles, where SRTT needs about ten).

    Parameters
    ----------
    mode : {"raw", "srtt", "median3"}
    alpha, beta : float
        SRTT and RTTVAR gains (RFC 6298 defaults 1/8, 1/4).
    """

    def __init__(self, mode: str = "srtt", alpha: float = SRTT_ALPHA, beta: float = RTTVAR_BETA) -> None:
        if mode not in RTT_MODES:
            raise ValueError(f"rtt_mode={mode!r}: unknown. Available: {', '.join(RTT_MODES)}")
        for key, val in (("alpha", alpha), ("beta", beta)):
            if not 0.0 < float(val) <= 1.0:
                raise ValueError(f"{key}={val!r}: must be in (0, 1]")
        self.mode, self.alpha, self.beta = mode, float(alpha), float(beta)
        self.reset()

    def reset(self) -> None:
        """Forget every sample."""
        self.last: float | None = None
        self.recent: list[float] = []
        self.srtt: float | None = None
        self.rttvar: float | None = None

    def update(self, sample_ms: float) -> None:
        """Take one RTT measurement (ms, >= 0)."""
        r = max(0.0, float(sample_ms))
        self.last = r
        self.recent = (self.recent + [r])[-MEDIAN_WINDOW:]
        if self.srtt is None or self.rttvar is None:
            self.srtt, self.rttvar = r, r / 2.0  # RFC 6298 §2.2, first measurement
        else:
            self.rttvar = (1 - self.beta) * self.rttvar + self.beta * abs(self.srtt - r)
            self.srtt = (1 - self.alpha) * self.srtt + self.alpha * r

    @property
    def value(self) -> float | None:
        """The estimate (ms), ``None`` before the first sample."""
        if self.mode == "median3":
            return sorted(self.recent)[len(self.recent) // 2] if self.recent else None
        return self.last if self.mode == "raw" else self.srtt
