"""Draft-length policies, one per module; each registers itself (see :mod:`~jointbench.specdec.parts`)."""
