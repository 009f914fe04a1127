"""The ``allocate`` command line: parse, call the library, render.

``allocate SCENARIO.yaml`` is short for ``allocate run SCENARIO.yaml``; any other file named
first (a data workbook, say) goes to ``run`` too, which says what the file is and what to run
instead of "No such command". Every error a user can
cause is an :class:`~allocator.core.errors.AllocatorError`; the group turns it into one message on
stderr and the error's exit code (2 for bad input, 130 for Ctrl-C), never a traceback.

Commands live in :mod:`allocator.commands`, one module per area; each module exposes
``COMMANDS``, and :data:`COMMAND_MODULES` lists the modules in the order ``--help`` shows them.
The command modules import the library inside their functions, so that ``--help``, ``history``,
``policy`` and a refused input answer without loading pandas, numpy or a solver.
"""

from __future__ import annotations

import ast
import contextlib
import gettext
import importlib
import importlib.util
import inspect
import io
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import PurePath
from typing import Any

import click

from allocator import __version__
from allocator.core.errors import AllocatorError
from allocator.core.i18n import (
    DOMAIN,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    N_plural,
    _,
    language,
    set_language,
)

COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "data",
    "policy",
    "ledger",
    "analyst",
    "sensitivity",
    "audit",
    "serve",
)

#: Command modules whose own top-level imports load pandas or a solver: imported only when
#: their command runs, and listed by ``--help`` from their source text (:func:`_short_help`).
DEFERRED: dict[str, str] = {"sensitivity": "sensitivity"}  # command name -> module


class _AllocateGroup(click.Group):
    """A group whose first argument may be a scenario file, and that maps errors to exit codes."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        _tolerant_console()
        given = list(sys.argv[1:] if args is None else args)
        _choose_language(given)
        _speak_help(self)
        return super().main(given, *rest, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        k = self._first_argument(args)
        if k is not None and args[k] not in self.list_commands(ctx) and _names_a_file(args[k]):
            args = [*args[:k], "run", *args[k:]]
        elif k is not None and args[k : k + 2] == ["policy", "check"]:
            # `allocate policy check MODEL` reads as the check it names: policy --check MODEL.
            args = [*args[: k + 1], "--check", *args[k + 2 :]]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *DEFERRED})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in DEFERRED:
            module = importlib.import_module(f"allocator.commands.{DEFERRED[cmd_name]}")
            for command in module.COMMANDS:
                _speak_help(command)
                self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of --help, without importing the deferred modules."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                rows.append((name, _short_help(DEFERRED[name], name, limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section(N_("Commands")):
            formatter.write_dl(rows)

    def _first_argument(self, args: list[str]) -> int | None:
        """Where the command (or the file standing for ``run FILE``) is, past the group's
        own options (``allocate --lang en data.xlsx``)."""
        valued = {
            name
            for param in self.params
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }
        k = 0
        while k < len(args):
            if args[k] == "--":
                return k + 1 if k + 1 < len(args) else None
            if args[k] in valued:
                k += 2
            elif args[k].startswith("-"):
                k += 1
            else:
                return k
        return None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AllocatorError as exc:
            click.echo(f"allocate: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            # Ctrl-C outside a run (a run raises RunInterruptedError, having written nothing):
            # 130, as a shell reports a process SIGINT ended, and no traceback.
            click.echo(_("allocate: interrupted"), err=True)
            ctx.exit(130)


def _tolerant_console() -> None:
    """Print what a console's encoding cannot show as an escape instead of failing.

    A Windows console or pipe in code page 936 (GBK) has no ✓ and no rarer characters of firm
    names; Python's default there is to raise UnicodeEncodeError mid-output. ``\\u2713`` keeps
    the information (and stays valid in --json output).
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


def _short_help(module: str, name: str, limit: int) -> str:
    """The first sentence of command ``name``'s docstring, read from its module's source."""
    spec = importlib.util.find_spec(f"allocator.commands.{module}")
    if spec is None or spec.origin is None:
        return ""
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and getattr(decorator.func, "attr", None) == "command"
                and decorator.args
                and isinstance(decorator.args[0], ast.Constant)
                and decorator.args[0].value == name
            ):
                # click's own rule for the short help, on a stand-in holding the docstring.
                doc = ast.get_docstring(node)
                stand_in = click.Command(name, help=_(doc) if doc else "")
                return stand_in.get_short_help_str(limit)
    return ""


def _choose_language(args: list[str]) -> None:
    """Set the language from ``--lang`` (wherever it stands) or $ALLOCATE_LANG before click
    parses anything, so that ``--help`` and click's own refusals speak it too. A bad value is
    left for the option, or the group, to refuse with its message."""
    lang = None
    for k, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and k + 1 < len(args):
            lang = args[k + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    with contextlib.suppress(ValueError):
        set_language(lang if lang in LANGUAGES else None)
    _click_speaks(language())


def _click_speaks(lang: str) -> None:
    """Let click word its own refusals ("No such command", "Missing argument") in ``lang``.

    Click takes those texts from Python's gettext: the program's text domain, in the
    language the environment names. Binding the domain to this catalogue and naming the
    language in ``$LANGUAGE`` (this process and its children only) is the standard way to
    give them; their ids are listed in :data:`_CLICK_MESSAGES`.
    """
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = lang


# Click's own refusals; their ids are click's (8.x), their Chinese in the catalogue.
_CLICK_MESSAGES = (
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("No such command {name!r}."),
    N_("No such option {name!r}."),
    N_("Missing command."),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Option {name!r} does not take a value."),
    N_("Argument {name!r} takes {nargs} values."),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("Could not open file {filename!r}: {message}"),
    N_("Aborted!"),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_plural("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
    N_plural("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    N_plural("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
    N_plural(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."
    ),
)


# Click's own texts on a help page; their ids are click's, their Chinese in the catalogue.
_CLICK_TEXTS = (
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("Usage:"),
    N_("Options"),
    N_("Arguments"),
)
#: The English id of every help text shown, by the object that shows it and the field: a
#: text is translated from its id each time, so one process may show help in both languages.
_HELP_IDS: dict[tuple[int, str], tuple[object, str]] = {}


def _speak_help(command: click.Command) -> None:
    """Put ``command``'s help, its options' and its subcommands' in the reader's language.

    The texts are English ids (``help=N_(...)`` and the commands' docstrings, which
    tools/messages.py extracts too); this is when the language is known.
    """
    command.help = _translated(command, "help", command.help)
    command.short_help = _translated(command, "short_help", command.short_help)
    command.context_class = _ReaderContext
    for param in command.params:
        if isinstance(param, click.Option):
            param.help = _translated(param, "help", param.help)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _speak_help(sub)


def _translated(owner: object, field: str, text: str | None) -> str | None:
    if not text:
        return text
    kept = _HELP_IDS.get((id(owner), field))
    if kept is None or kept[0] is not owner:
        # Docstrings keep their source indentation; the id is the cleaned text.
        kept = (owner, inspect.cleandoc(text))
        _HELP_IDS[(id(owner), field)] = kept
    return _(kept[1])


class _ReaderFormatter(click.HelpFormatter):
    """Click's help layout with its headings in the reader's language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None:
            prefix = _("Usage:") + " "
        super().write_usage(prog, args, prefix)

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        # Click adds its --help option when the page is drawn, its text an English id.
        spoken = [(term, _(text) if text else text) for term, text in rows]
        super().write_dl(spoken, col_max, col_spacing)

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        with super().section(_(name)):
            yield


class _ReaderContext(click.Context):
    formatter_class = _ReaderFormatter


def _names_a_file(arg: str) -> bool:
    """Whether a first argument that is no command reads as a file name (``x.yaml``, ``a/b``)."""
    return not arg.startswith("-") and (bool(PurePath(arg).suffix) or len(PurePath(arg).parts) > 1)


@click.group(cls=_AllocateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="allocate")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help=N_("Language of messages, sheets and pages: zh (default) or en; also $ALLOCATE_LANG."),
)
def main(lang: str | None) -> None:
    """Allocate an industrial-subsidy fund among firms, clause by clause, within budget.

    \b
    allocate SCENARIO.yaml          run a scenario (same as: allocate run SCENARIO.yaml)
    allocate validate DATA_FILE     check an enterprise data file
    allocate policy MODEL.yaml      show a policy model's clauses and parameters
    """
    try:
        set_language(lang)
    except ValueError as exc:  # a bad $ALLOCATE_LANG
        raise click.BadParameter(str(exc), param_hint="ALLOCATE_LANG") from None


for _name in (m for m in COMMAND_MODULES if m not in DEFERRED.values()):
    for _command in importlib.import_module(f"allocator.commands.{_name}").COMMANDS:
        main.add_command(_command)
