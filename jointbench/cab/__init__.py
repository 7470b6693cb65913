"""CAb: conformal alignment-based edge-cloud cascading (Huang et al., arXiv 2510.17543).

Re-implemented from the paper's description (the authors' code has no licence).

Modules, one job each:

* :mod:`~jointbench.cab.sets` -- highest-mass sets (split CP, RLCP, p-values and BH come from
  the shared :mod:`jointbench.conformal`).
* :mod:`~jointbench.cab.satisfaction` -- cloud-referenced alignment score C*(x).
* :mod:`~jointbench.cab.selection` -- the satisfaction predictor.
* :mod:`~jointbench.cab.baselines` -- confidence-based deferral, edge-only, cloud-only.
* :mod:`~jointbench.cab.metrics` -- DR, SR, NI, coverage, accuracy per trial (arrays).
* :mod:`~jointbench.cab.record_metrics` -- the same per trial from Ianvs records (the metric shims').
* :mod:`~jointbench.cab.trials` -- seeded trials and edge sets, vectorised across trials.
* :mod:`~jointbench.cab.experiment` -- routing rules and metrics over those trials.
* :mod:`~jointbench.cab.ianvs_session`, :mod:`~jointbench.cab.ianvs_records` -- the trials as
  Ianvs samples and their records, for the Ianvs modules.
* :mod:`~jointbench.cab.live` -- regenerate the answer tables from real causal LMs
  (loaded by :mod:`jointbench.models`).
* :mod:`~jointbench.cab.plots` -- CAb plots from Ianvs rank CSVs.
* :mod:`~jointbench.cab.options` -- faithful vs clean treatment of the authors' quirks.
* :mod:`~jointbench.cab.reference` -- cloud reference rows and label sampling.
* :mod:`~jointbench.cab.embeddings` -- cached MiniLM prompt embeddings for LCP.
* :mod:`~jointbench.cab.data` -- the TeleQnA table (``jointbench.datasets.teleqna``) with embeddings.
"""

from __future__ import annotations

from jointbench.cab.data import CascadeData, load_cascade_data
from jointbench.cab.experiment import run_experiment, run_trials
from jointbench.cab.options import CabOptions
from jointbench.cab.sets import hms_mask

__all__ = [
    "CabOptions",
    "CascadeData",
    "hms_mask",
    "load_cascade_data",
    "run_experiment",
    "run_trials",
]
