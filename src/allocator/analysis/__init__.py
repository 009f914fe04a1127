"""Judging finished runs without a solver: audit, explain, compare."""
