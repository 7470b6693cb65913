"""Conformal core (numpy only): scores, quantile, split predictor, conformal risk control.

TEMPORARY MINIMAL IMPLEMENTATION written on branch i12 (CRC+APS patch offload) so that its
tests run before branch i15 lands the real ``jointbench/conformal/``. It implements exactly the
API of INTERFACES.md §C that i12 uses (``scores.py``, ``quantile.py``, ``split.py``, ``crc.py``);
the lead replaces this folder with i15's at merge.
"""

from jointbench.conformal.crc import crc_threshold
from jointbench.conformal.quantile import conformal_quantile
from jointbench.conformal.scores import APS, NegLogProb
from jointbench.conformal.split import SplitConformal

__all__ = ["APS", "NegLogProb", "SplitConformal", "conformal_quantile", "crc_threshold"]
