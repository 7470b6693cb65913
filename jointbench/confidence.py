"""The one confidence-deferral rule: top-1 of a probability row and "serve at the edge iff confident".

Shared by the confidence cascade (:mod:`jointbench.cascade`) and CAb's confidence-based
deferral baseline (:mod:`jointbench.cab.baselines`).

Rules (exact, so that comparisons are reproducible):

* **Prediction** = argmax of the probability row; **ties go to the lowest option
  index** (A before B), the convention of ``numpy.argmax``/``torch.argmax``. About
  14% of the Qwen2-1.5B rows on TeleQnA-4 tie on the maximum. An all-zero row
  predicts A.
* **Deferral**: the edge serves iff ``max_prob >= threshold`` (inclusive), so
  ``threshold = 0`` is edge-only and any ``threshold > 1`` defers everything.
  The comparison happens in the probabilities' own dtype (float32 for the shipped
  data): ``0.7`` in float32 is 0.69999999, so comparing it with a float64 ``0.7``
  would wrongly defer every row whose stored maximum is 0.7.
"""

from __future__ import annotations

import numpy as np


def top1(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-1 option, its probability, and how many options share it.

    Parameters
    ----------
    probs : numpy.ndarray, shape (n, k) or (k,)
        Answer probabilities (rows need not sum to 1).

    Returns
    -------
    index : numpy.ndarray of int64, shape (n,)
        Argmax with ties to the lowest index.
    confidence : numpy.ndarray of float, shape (n,)
        The maximum probability.
    n_tied : numpy.ndarray of int64, shape (n,)
        Number of options equal to the maximum (1 = no tie).
    """
    p = np.atleast_2d(np.asarray(probs))
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    conf = p.max(axis=1)
    return p.argmax(axis=1), conf, (p == conf[:, None]).sum(axis=1)


def defer_to_cloud(confidence: float | np.ndarray, threshold: float | np.ndarray,
                   dtype: np.dtype | type | None = None) -> bool | np.ndarray:
    """True where the sample goes to the cloud: ``confidence < threshold``.

    Parameters
    ----------
    confidence : float or ndarray
        Edge max-probabilities.
    threshold : float or ndarray broadcastable to ``confidence``
        Serve threshold (``+inf`` defers everything).
    dtype : numpy float dtype, optional
        Compare in this dtype (the dtype the probabilities were stored in); default the dtype
        of ``confidence`` when that is a numpy float. Both sides are cast to it.
    """
    c = np.asarray(confidence)
    if dtype is None and np.issubdtype(c.dtype, np.floating):
        dtype = c.dtype
    if dtype is not None:
        c = c.astype(dtype, copy=False)
        t = np.asarray(threshold).astype(dtype)
    else:
        t = threshold
    out = c < t
    return out if np.ndim(out) else bool(out)
