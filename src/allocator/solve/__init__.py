"""Choosing the award vector: fairness rules over CP-SAT and HiGHS, fixing, diagnosis."""
