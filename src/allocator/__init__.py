"""allocate: a constraint-optimisation budget allocator for industrial-subsidy policies.

Data flows one way::

    policy model + scenario + enterprise data   (load, validate once)
        -> claims table                          (eligibility and formulas, vectorised)
        -> optimisation model                    (one builder per constraint family)
        -> solution                              (CP-SAT, status, bound)
        -> outputs                               (awards, constraints, report)
"""

__version__ = "0.1.0"

from allocator.core.errors import AllocatorError, InputError, InputProblem

__all__ = ["AllocatorError", "InputError", "InputProblem", "__version__"]
