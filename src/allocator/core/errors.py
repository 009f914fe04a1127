"""The one exception hierarchy of the project.

Every error a user can cause by handing over a bad file derives from :class:`InputError`; the
command line maps it to exit code 2 and prints its message without a traceback. A message
always says where (file, row, column or key), what was expected and what was found, and a
loader collects every problem in a file before raising, so a clerk fixes them all in one go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from allocator.core.i18n import _, ngettext


class AllocatorError(Exception):
    """Base class of every error raised on purpose by allocate."""

    exit_code = 1


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with an input, located as precisely as the input allows.

    ``row`` is the 1-based row number as a spreadsheet shows it (the header is row 1 for CSV;
    the first data row of the shipped template is row 3 because it has two header rows).
    """

    file: str
    expected: str
    found: str = ""
    row: int | None = None
    column: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(_("row {row}").format(row=self.row))
        if self.column is not None:
            where.append(_("column {column}").format(column=repr(self.column)))
        if self.key is not None:
            where.append(_("key {key}").format(key=repr(self.key)))
        place = _(", ").join(where)
        if self.found:
            return _("{place}: expected {expected} (found {found})").format(
                place=place, expected=self.expected, found=self.found
            )
        return _("{place}: expected {expected}").format(place=place, expected=self.expected)


class InputError(AllocatorError):
    """A file the user handed over is not acceptable; nothing has been written.

    Carries every :class:`InputProblem` found, so the message lists them all.
    """

    exit_code = 2

    def __init__(self, problems: Iterable[InputProblem] | str, *, file: str = "") -> None:
        if isinstance(problems, str):
            problems = [InputProblem(file=file or "<input>", expected=problems)]
        self.problems: list[InputProblem] = list(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        count = len(self.problems)
        lines = [ngettext("{n} problem:", "{n} problems:", count).format(n=count)]
        lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)


class InfeasibleError(AllocatorError):
    """The scenario's constraints cannot all be met (exit code 3)."""

    exit_code = 3


class NoSolutionError(AllocatorError):
    """The solver found no feasible allocation within its time limit (exit code 4)."""

    exit_code = 4


class RunInterruptedError(AllocatorError):
    """Ctrl-C stopped a run before its output folder was in place (exit code 130, as a shell
    reports a process SIGINT ended); nothing has been written."""

    exit_code = 130
