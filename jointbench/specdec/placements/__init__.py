"""Placements, registered by their modules (see :mod:`~jointbench.specdec.placement`)."""
