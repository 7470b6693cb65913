"""Datasets shipped with the suite (small, public, offline)."""
