"""Loading a policy model file: read, validate, check.

:func:`load_model` reads the YAML through the one strict front end
(:func:`allocator.inputs.yamlfile.read_yaml`), validates it against the classes of
:mod:`allocator.policy.model` and checks every expression
(:func:`allocator.policy.compile.compile_model`); every problem is reported at once with the
file and the key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allocator.core.errors import InputError, InputProblem
from allocator.core.files import sha256_file
from allocator.core.i18n import _
from allocator.inputs.yamlfile import read_yaml, validate_as
from allocator.policy.compile import compile_model
from allocator.policy.model import PolicyModel


def model_labels() -> dict[str, str]:
    """Lists whose entries are named by their ``id`` beside a key path in a message."""
    return {"clauses": _("clause"), "items": _("item")}


def model_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a model file's bytes, for provenance stamps."""
    return sha256_file(path)


def load_model(path: str | Path) -> PolicyModel:
    """Read, validate and check a policy model file.

    Raises
    ------
    InputError
        With every problem found, each naming the file and the key path
        (``clauses[3].items[0].params.rate.basis``).
    """
    file = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError(
            [InputProblem(file, _("a mapping of keys (title, rules, clauses ...)"), _kind(data))]
        )
    model = validate_as(PolicyModel, data, file, labels=model_labels(), dotted_keys=True)
    compile_model(model, file=file)
    return model


def _kind(value: Any) -> str:
    return _("nothing") if value is None else type(value).__name__


__all__ = ["load_model", "model_labels", "model_sha256"]
