"""Draft codecs, one per module; each registers itself (see :mod:`~jointbench.specdec.codec`)."""
