"""Whole runs: one scenario end to end, and sweeps of many variants."""
