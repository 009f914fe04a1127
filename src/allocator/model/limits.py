"""The largest numbers the engines take exactly; the builder refuses a problem beyond them.

Kept with the model rather than with the solvers, so that the builder checks a problem
against them without importing any solver.
"""

from __future__ import annotations

#: The largest sum CP-SAT accepts for a linear expression (an objective, a row): the terms'
#: largest values, ``|coefficient| × bound``, may add up to ``(2**63 - 1) // 2`` = 2**62 − 1
#: (cp_model_checker.cc, ``PossibleIntegerOverflow``); beyond it the model is invalid.
MAX_LINEAR = (2**63 - 1) // 2

#: The largest claim (万元) the proportional rule takes: its grid of ``2**shift ≥ cmax²``
#: levels keeps ``level × claim`` below 2**63 up to here (build.check_limits refuses more).
MAX_PROPORTIONAL_CLAIM = 1 << 20
#: Claims must total less than this (万元): row sums run in float64, exact below 2**53.
MAX_TOTAL_CLAIM = 1 << 52

__all__ = ["MAX_LINEAR", "MAX_PROPORTIONAL_CLAIM", "MAX_TOTAL_CLAIM"]
