"""Commands on policy models: policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from allocator.commands.options import json_option
from allocator.core.i18n import N_, _

if TYPE_CHECKING:
    from rich.table import Table

    from allocator.policy.model import Param, PolicyModel

# Piped output has no terminal width; rich would squeeze the tables into 80 characters.
_PIPE_WIDTH = 200


@click.command("policy")
@click.argument("model_path", metavar="MODEL.yaml", type=click.Path(path_type=Path))
@click.option(
    "--check",
    "check",
    is_flag=True,
    help=N_(
        "Hold the model against its source text instead: every quote verbatim, every "
        "document number in its quote, every assumption with a rationale (exit 2 on a failure)."
    ),
)
@json_option
def policy(model_path: Path, as_json: bool, check: bool) -> None:
    """Show a policy model's clauses, award items and parameters.

    Loading checks the whole model, every expression included; a bad model exits with
    code 2 and one message listing every problem. With --check, the model is held against
    the source text its ``source`` names (docs/models.md).
    """
    if check:
        # Imported here so that the other commands do not load the checker.
        from allocator.core.errors import InputError
        from allocator.policy.check import check_file

        report = check_file(model_path)
        if as_json:
            click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        else:
            click.echo("\n".join(report.lines()))
        if report.problems:
            raise InputError(report.problems)
        return

    from rich.console import Console

    from allocator.policy.load import load_model

    model = load_model(model_path)
    summary = describe(model, model_path)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=_PIPE_WIDTH)
    console.print(_clause_table(model))
    console.print(_item_table(model))
    counts = summary["counts"]
    console.print(
        _(
            "{clauses} clauses ({award} award, {measure} measure, {rule} rule), {items} award "
            "items, {params} parameters ({document} from the document, {assumed} assumed)."
        ).format(**counts)
    )


def _param_json(param: Param) -> dict[str, Any]:
    return {
        "value": param.value,
        "unit": param.unit,
        "basis": param.basis.value,
        "quote": param.quote,
        "rationale": param.rationale,
        "description": param.description,
    }


def describe(model: PolicyModel, path: Path) -> dict[str, Any]:
    """The model as a JSON-ready dict: its identity, counts, rules and clauses."""
    from allocator.policy.load import model_sha256
    from allocator.policy.model import Basis, address

    params = [p for _, item in model.items() for p in item.params.values()]
    kinds = [c.kind for c in model.clauses]
    clauses = []
    for clause in model.clauses:
        items = []
        for item in clause.items:
            items.append(
                {
                    "id": item.id,
                    "address": address(clause.id, item.id),
                    "title": item.title,
                    "recipient": item.recipient,
                    "formula": item.formula.type,
                    "exclusive_group": item.exclusive_group,
                    "all_or_nothing": item.all_or_nothing,
                    "requires_application": item.requires_application,
                    "provincial_type": item.provincial_type,
                    "conditions": [c.model_dump() for c in item.conditions],
                    "params": {name: _param_json(p) for name, p in item.params.items()},
                }
            )
        clauses.append(
            {
                "id": clause.id,
                "label": clause.label,
                "heading": clause.heading,
                "kind": clause.kind,
                "title": clause.title,
                "items": items,
            }
        )
    return {
        "model": {
            "file": str(path),
            "sha256": model_sha256(path),
            "title": model.title,
            "document_number": model.document_number,
            "status": model.status,
            "valid_from": model.valid_from.isoformat(),
            "valid_until": model.valid_until.isoformat(),
        },
        "counts": {
            "clauses": len(model.clauses),
            "award": kinds.count("award"),
            "measure": kinds.count("measure"),
            "rule": kinds.count("rule"),
            "items": len(model.items()),
            "params": len(params),
            "document": sum(p.basis is Basis.DOCUMENT for p in params),
            "assumed": sum(p.basis is Basis.ASSUMED for p in params),
        },
        "rules": model.rules.model_dump(mode="json"),
        "clauses": clauses,
    }


def _kind(kind: str) -> str:
    """A clause's kind in the reader's words."""
    words = {"award": _("award"), "measure": _("measure"), "rule": _("rule")}
    return words.get(kind, kind)


def _recipient(recipient: str) -> str:
    """An item's recipient in the reader's words."""
    words = {
        "enterprise": _("enterprise"),
        "project": _("project"),
        "district": _("district"),
        "park": _("park"),
    }
    return words.get(recipient, recipient)


def _clause_table(model: PolicyModel) -> Table:
    from rich.table import Table

    table = Table(title=model.title, title_justify="left")
    table.add_column(_("id"), no_wrap=True)
    table.add_column(_("label"), no_wrap=True)
    table.add_column(_("kind"))
    table.add_column(_("title"))
    table.add_column(_("items"), justify="right")
    for clause in model.clauses:
        table.add_row(
            clause.id,
            clause.label,
            _kind(clause.kind),
            clause.title,
            str(len(clause.items)) if clause.items else "",
        )
    return table


def _formula(kind: str) -> str:
    """A formula type in the reader's words (in English, the name the model file uses)."""
    words = {
        "fixed": _("fixed"),
        "rate": _("rate"),
        "steps": _("steps"),
        "scale_growth": _("scale_growth"),
        "per_unit_above": _("per_unit_above"),
        "per_item": _("per_item"),
    }
    return words.get(kind, kind)


def _unit(unit: str) -> str:
    """A parameter's unit as the model writes it; the English ones in the reader's words."""
    words = {"ratio": _("ratio"), "per_unit": _("per_unit"), "date YYYYMMDD": _("date YYYYMMDD")}
    return words.get(unit, unit)


def _value(param: Param) -> str:
    unit = f" {_unit(param.unit)}" if param.unit and not isinstance(param.value, list) else ""
    return f"{json.dumps(param.value)}{unit}"


def _item_table(model: PolicyModel) -> Table:
    from rich.table import Table

    from allocator.policy.model import Basis, address

    table = Table(title=_("Award items"), title_justify="left")
    table.add_column(_("address"), no_wrap=True)
    table.add_column(_("recipient"))
    table.add_column(_("formula"))
    table.add_column(_("from the document"))
    table.add_column(_("assumed"))
    table.add_column(_("exclusive group"))
    table.add_column(_("all or nothing"))
    table.add_column(_("no application needed (免审即享)"))
    yes = _("yes")
    for clause, item in model.items():
        doc = [f"{n} = {_value(p)}" for n, p in item.params.items() if p.basis is Basis.DOCUMENT]
        assumed = [f"{n} = {_value(p)}" for n, p in item.params.items() if p.basis is Basis.ASSUMED]
        table.add_row(
            address(clause.id, item.id),
            _recipient(item.recipient),
            _formula(item.formula.type),
            "\n".join(doc),
            "\n".join(assumed),
            item.exclusive_group or "",
            yes if item.all_or_nothing else "",
            yes if not item.requires_application else "",
        )
    return table


COMMANDS: list[click.Command] = [policy]
