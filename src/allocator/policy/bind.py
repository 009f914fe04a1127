"""A scenario checked against its policy model: references resolved and the budget settled.

:func:`~allocator.inputs.scenario.load_scenario` checks a scenario file on its own;
:func:`check_against_model` checks what only the model can tell: clause ids, item keys and
parameter addresses, and the budget against the document's fund cap.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import _
from allocator.inputs.scenario import LoadedScenario, Scenario
from allocator.policy.model import PolicyModel
from allocator.policy.params import resolve_params


@dataclass(frozen=True)
class Budget:
    """The fund a run allocates, and where it comes from.

    Attributes
    ----------
    value_wan:
        The fund, whole 万元.
    source:
        ``document`` when the document's fund cap applies, ``scenario`` when the scenario
        sets it.
    clause_id:
        The clause stating the fund cap, or ``"scenario"`` when the document states none.
    document_cap_wan:
        The document's cap, if it states one.
    """

    value_wan: int
    source: Literal["document", "scenario"]
    clause_id: str
    document_cap_wan: int | None


def check_against_model(scenario: LoadedScenario, model: PolicyModel) -> Budget:
    """Check the scenario's references against the model and settle the budget.

    Parameters
    ----------
    scenario:
        The loaded scenario.
    model:
        The policy model the scenario names.

    Returns
    -------
    Budget
        The fund to allocate and its source.

    Raises
    ------
    InputError
        Listing every unknown clause id, item key or parameter address, and any budget problem.
    """
    spec, file = scenario.spec, str(scenario.path)
    award_clauses = [c.id for c in model.clauses if c.kind == "award"]
    item_keys = [f"{c.id}/{i.id}" for c, i in model.items()]
    either = set(award_clauses) | set(item_keys)
    clause_list = _(", ").join(award_clauses)
    item_list = _(", ").join(item_keys)
    problems: list[InputProblem] = []

    def ref(value: str, key: str, *, items_only: bool = False) -> None:
        if items_only and value not in item_keys:
            problems.append(
                InputProblem(
                    file,
                    _("an item key of the model ({items})").format(items=item_list),
                    repr(value),
                    key=key,
                )
            )
        elif not items_only and value not in either:
            problems.append(
                InputProblem(
                    file,
                    _("an award clause id ({clauses}) or item key ({items}) of the model").format(
                        clauses=clause_list, items=item_list
                    ),
                    repr(value),
                    key=key,
                )
            )

    for i, sb in enumerate(spec.sub_budgets):
        for j, c in enumerate(sb.clauses):
            ref(c, f"sub_budgets[{i}].clauses[{j}]")
        if len(set(sb.clauses)) != len(sb.clauses):
            problems.append(
                InputProblem(
                    file,
                    _("each clause once"),
                    _("a repeated entry"),
                    key=f"sub_budgets[{i}].clauses",
                )
            )
    for c in spec.weights.clauses:
        ref(c, f"weights.clauses[{c}]")
    model_groups = sorted({i.exclusive_group for _, i in model.items() if i.exclusive_group})
    for i, g in enumerate(spec.exclusive_groups):
        for j, key in enumerate(g.items):
            ref(key, f"exclusive_groups[{i}].items[{j}]", items_only=True)
        if g.name in model_groups:
            problems.append(
                InputProblem(
                    file,
                    _("a name other than the model's own groups ({groups})").format(
                        groups=_(", ").join(model_groups)
                    ),
                    repr(g.name),
                    key=f"exclusive_groups[{i}].name",
                )
            )
    try:
        resolve_params(model, spec.overrides, file=file)
    except InputError as exc:
        problems.extend(replace(p, key=f"overrides[{p.key}]") for p in exc.problems)

    budget = _settle_budget(spec, model, file, problems)
    if problems:
        raise InputError(problems)
    assert budget is not None  # every path that leaves it unset adds a problem
    return budget


def settle_budget(spec: Scenario, model: PolicyModel, *, file: str = "<scenario>") -> Budget:
    """The fund a scenario allocates under a model (see :func:`check_against_model`).

    Raises
    ------
    InputError
        When the budget is missing and the model states no cap, or exceeds the cap without
        ``allow_budget_above_document_cap``.
    """
    problems: list[InputProblem] = []
    budget = _settle_budget(spec, model, file, problems)
    if budget is None:
        raise InputError(problems)
    return budget


def _settle_budget(
    spec: Scenario, model: PolicyModel, file: str, problems: list[InputProblem]
) -> Budget | None:
    cap = model.rules.fund_cap.value_wan
    cap_clause = model.rules.fund_cap.clause
    where = _("clause {clause}").format(clause=cap_clause) if cap_clause else _("the fund-cap rule")
    if spec.budget_wan is None:
        if cap is None:
            problems.append(
                InputProblem(
                    file,
                    _(
                        "budget_wan: the model states no fund cap ({where} of {title} names "
                        "no amount)"
                    ).format(where=where, title=model.title),
                    _("no budget_wan"),
                    key="budget_wan",
                )
            )
            return None
        return Budget(cap, "document", cap_clause or "fund_cap", cap)
    if cap is not None and spec.budget_wan > cap and not spec.allow_budget_above_document_cap:
        problems.append(
            InputProblem(
                file,
                _(
                    "at most the document's fund cap of {cap}万元 ({where}), unless "
                    "allow_budget_above_document_cap is true"
                ).format(cap=cap, where=where),
                str(spec.budget_wan),
                key="budget_wan",
            )
        )
        return None
    if cap is not None:
        return Budget(spec.budget_wan, "scenario", cap_clause or "fund_cap", cap)
    return Budget(spec.budget_wan, "scenario", "scenario", None)


__all__ = ["Budget", "check_against_model", "settle_budget"]
