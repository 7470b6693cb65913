"""Communication cost and transmission latency of patch offloading (seed §4, Table 2).

- Communication cost = Σ bytes sent / Σ raw image bytes over the test set. An accepted image sends 0;
  an offloaded one sends its kept patches (``patch² · channels`` bytes each, uint8, no compression)
  plus ``index_bytes`` per patch for the indices (0 by default, as in the seed and Im et al.'s code).
- Transmission latency of an image's upload: priced by the suite's simulator
  (:class:`jointbench.netsim.Link`). ``serialisation_link(rate)`` is the seed's model — only
  serialisation at the upload rate, no RTT, no headers — under which the mean latency is exactly
  ``cost × raw_bytes × 8 / rate``. The seed prices a full 224×224×3 image as "147 KB" = 147,000 B,
  which gives its 1176 / 147 / 58.8 ms at 1 / 8 / 20 Mbit/s.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from jointbench.netsim import Link, LinkConfig

__all__ = ["PAPER_IMAGE_BYTES", "PAPER_RATES_MBPS", "bytes_sent", "communication_cost", "latency_ms_closed_form",
           "mean_upload_latency_ms", "serialisation_link"]

PAPER_IMAGE_BYTES = 147_000          # the seed's "147 KB" full image (224·224·3 = 150,528 B rounded as 147 K)
PAPER_RATES_MBPS = (1.0, 8.0, 20.0)  # upload rates of the seed's Table 2 (Mbit/s)


def bytes_sent(patches_sent: np.ndarray, patch_bytes: int, index_bytes: int = 0) -> np.ndarray:
    """Bytes each image uploads: ``patches · (patch_bytes + index_bytes)`` (0 patches = accepted)."""
    n = np.asarray(patches_sent, dtype=np.int64)
    if np.any(n < 0):
        raise ValueError("patches_sent must be >= 0")
    return n * (int(patch_bytes) + int(index_bytes))


def communication_cost(sent_bytes: np.ndarray, raw_image_bytes: int) -> float:
    """Σ bytes sent / (N · raw image bytes), in [0, 1] without index overhead (nan for N = 0)."""
    b = np.asarray(sent_bytes, dtype=np.float64)
    return float(b.sum() / (b.size * raw_image_bytes)) if b.size else float("nan")


def serialisation_link(rate_mbps: float) -> Link:
    """A link that only serialises at ``rate_mbps`` (no RTT, jitter, loss, headers or framing)."""
    return Link(LinkConfig(rtt_ms=0.0, uplink_bandwidth_mbps=float(rate_mbps), header_bytes=0, framing_bytes=0))


def mean_upload_latency_ms(sent_bytes: Iterable[int], link: Link) -> float:
    """Mean over images of the simulated upload delay (ms); an image sending 0 bytes costs 0 ms."""
    delays = [link.expected_delay_ms("up", int(b)) if int(b) > 0 else 0.0 for b in sent_bytes]
    return float(np.mean(delays)) if delays else float("nan")


def latency_ms_closed_form(cost: float, raw_image_bytes: int, rate_mbps: float) -> float:
    """``cost × raw bytes × 8 / rate`` in ms (the seed's formula; kbit / Mbit/s = ms)."""
    return float(cost) * raw_image_bytes * 8.0 / (float(rate_mbps) * 1000.0)
