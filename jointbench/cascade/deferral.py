"""Confidence-based deferral: the edge answers when its top probability reaches a threshold.

Rules (exact, so that the CAb comparison is reproducible):

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


def defer_to_cloud(confidence: float | np.ndarray, threshold: float) -> bool | np.ndarray:
    """True where the sample goes to the cloud: ``confidence < threshold``.

    The threshold is cast to the dtype of ``confidence`` when that is a numpy float.
    """
    c = np.asarray(confidence)
    t = c.dtype.type(threshold) if np.issubdtype(c.dtype, np.floating) else threshold
    out = c < t
    return out if np.ndim(confidence) else bool(out)


def threshold_curve(edge_probs: np.ndarray, cloud_probs: np.ndarray, answer: np.ndarray,
                    thresholds: np.ndarray, valid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Accuracy and deferral rate of the cascade for each threshold, computed in closed form.

    Parameters
    ----------
    edge_probs, cloud_probs : numpy.ndarray, shape (n, k)
        Edge and cloud answer probabilities.
    answer : numpy.ndarray of int, shape (n,)
        Correct option index.
    thresholds : numpy.ndarray, shape (m,)
        Deferral thresholds.
    valid : numpy.ndarray of bool, shape (n,), optional
        Rows with a usable answer key (others are excluded from accuracy).

    Returns
    -------
    dict
        ``threshold`` (m,), ``accuracy_pct`` (m,) and ``deferral_pct`` (m,), in percent.
    """
    e_idx, e_conf, _ = top1(edge_probs)
    c_idx, _, _ = top1(cloud_probs)
    ok = np.ones(len(answer), bool) if valid is None else np.asarray(valid, bool)
    t = np.asarray(thresholds, dtype=np.float64)
    deferred = np.stack([defer_to_cloud(e_conf, float(x)) for x in t]) if t.size else np.zeros((0, len(answer)), bool)
    pred = np.where(deferred, c_idx[None, :], e_idx[None, :])
    acc = ((pred == answer[None, :]) & ok[None, :]).sum(axis=1) / max(int(ok.sum()), 1)
    return {"threshold": t, "accuracy_pct": 100.0 * acc, "deferral_pct": 100.0 * deferred.mean(axis=1)}
