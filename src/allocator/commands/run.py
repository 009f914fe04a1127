"""``allocate run SCENARIO.yaml``: allocate a scenario's budget and write its output folder."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from pathlib import Path

import click

from allocator.commands.options import ledger_option, quiet_option, solver_option
from allocator.core.errors import InputError, InputProblem
from allocator.core.i18n import N_, _
from allocator.inputs.choices import console_label

#: What a scenario file is called; anything else handed to ``run`` is refused before loading.
SCENARIO_SUFFIXES = (".yaml", ".yml")


def check_scenario_path(path: Path) -> None:
    """Refuse a file that is not a scenario, saying what to do with it instead.

    A clerk's first try is often ``allocate data.xlsx``: the enterprise data file itself.
    YAML parsing would then report a byte of the workbook; this names the file for what it is
    and the two commands that do take it.

    Raises
    ------
    InputError
        When ``path`` does not end in .yaml or .yml.
    """
    if path.suffix.lower() in SCENARIO_SUFFIXES:
        return
    raise InputError(
        [
            InputProblem(
                str(path),
                _("a scenario file (.yaml) naming the policy model, the data and the budget"),
                _(
                    "a {suffix} file; an enterprise data file is checked with "
                    "'allocate validate {path}' and allocated through a scenario that names it "
                    "under data: (docs/scenario.md)"
                ).format(suffix=path.suffix or _("suffix-less"), path=path),
            )
        ]
    )


# The pipeline's phases (pipeline.run), as the progress lines name them.
_PHASES: dict[str, Callable[[], str]] = {
    "load": lambda: _("load"),
    "claims": lambda: _("claims"),
    "build": lambda: _("build"),
    "solve": lambda: _("solve"),
    "write": lambda: _("write"),
    # The fairness rules' own phases, as the solver reports them (allocator.solve).
    "filling": lambda: _("filling"),
    "rounding": lambda: _("rounding"),
    "one-offs": lambda: _("one-offs"),
    "priority": lambda: _("priority"),
    "remainder": lambda: _("remainder"),
    "floors": lambda: _("floors"),
}


class _Progress:
    """Progress on stderr: each phase with its seconds, and the solver's incumbents.

    Solver reports come as often as the search improves; one line per phase and half second
    is enough to watch, and the last report of a phase is shown when the phase ends.
    """

    interval_s = 0.5

    def __init__(self) -> None:
        self._phase = ""
        self._last = 0.0
        self._pending = ""

    def phase(self, name: str, seconds: float) -> None:
        self._flush()
        shown = _PHASES.get(name)
        click.echo(
            _("{phase} {seconds} s").format(
                phase=f"{shown() if shown else name:<8}", seconds=f"{seconds:8.2f}"
            ),
            err=True,
        )

    def solver(self, phase: str, incumbent: float, bound: float) -> None:
        gap = abs(bound - incumbent) / max(1.0, abs(bound))
        shown = _PHASES.get(phase)
        line = _("  {phase}: incumbent {incumbent}, bound {bound}, gap {gap}").format(
            phase=shown() if shown else phase,
            incumbent=f"{incumbent:.6g}",
            bound=f"{bound:.6g}",
            gap=f"{gap:.2%}",
        )
        now = time.monotonic()
        if phase != self._phase or now - self._last >= self.interval_s:
            self._flush()
            click.echo(line, err=True)
            self._phase, self._last = phase, now
        else:
            self._pending = line

    def _flush(self) -> None:
        if self._pending:
            click.echo(self._pending, err=True)
            self._pending = ""


@click.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=N_("Output folder (default: the scenario's output_dir, else out/<name>)."),
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    help=N_("Solver time limit in seconds (overrides the scenario)."),
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help=N_("Solver workers (overrides the scenario)."),
)
@click.option(
    "--strict",
    is_flag=True,
    help=N_("Refuse the run (exit code 2) when the data gives warnings."),
)
@solver_option
@ledger_option
@click.option(
    "--replace",
    is_flag=True,
    help=N_("Let an infeasible or unsolved run replace an earlier allocation in the folder."),
)
@quiet_option
def run_command(
    scenario: Path,
    out_dir: Path | None,
    time_limit: float | None,
    workers: int | None,
    solver: str | None,
    ledger: str | None,
    replace: bool,
    quiet: bool,
    strict: bool,
) -> None:
    """Allocate SCENARIO's budget and write awards, constraints and result to a folder.

    Exit codes: 0 done; 2 bad input; 3 infeasible; 4 no allocation found in the time limit
    (for 3 and 4 the folder holds result.json alone, or keeps an earlier allocation unless
    --replace is given).
    """
    from allocator.inputs.scenario import load_scenario

    check_scenario_path(scenario)
    # The scenario alone first: its mistakes are reported before pandas and the solvers load.
    load_scenario(scenario)

    from allocator.outputs.ledger import ledger_url
    from allocator.outputs.result import summary
    from allocator.pipeline.run import run_scenario

    argv = ["allocate", "run", str(scenario)]
    if out_dir is not None:
        argv += ["--out", str(out_dir)]
    if time_limit is not None:
        argv += ["--time-limit", f"{time_limit:g}"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    if solver is not None:
        argv += ["--solver", solver]
    if replace:
        argv += ["--replace"]
    if strict:
        argv += ["--strict"]
    progress = None if quiet else _Progress()
    # Resolved first, so that a bad --ledger or ALLOCATE_LEDGER stops the run before the solve.
    url = ledger_url(ledger, create_parent=False)
    result, out = run_scenario(
        scenario,
        out_dir=out_dir,
        time_limit_s=time_limit,
        workers=workers,
        solver=solver,
        command=shlex.join(argv),
        on_phase=progress.phase if progress else None,
        on_progress=progress.solver if progress else None,
        ledger=url,
        replace=replace,
        on_notice=lambda line: click.echo(f"allocate: {line}", err=True),
        strict=strict,
    )
    if not quiet:
        # --quiet silences stderr; the warnings stay in result.json and the report.
        for warning in result.warnings:
            click.echo(_("warning: {warning}").format(warning=warning), err=True)
    if quiet:
        return
    s = summary(result)
    status = console_label(str(s["status"]))
    source = _("document") if s["budget_source"] == "document" else _("scenario")
    for line in (
        _("status      {status}").format(status=status),
        _("budget      {budget}万元 ({source})").format(budget=s["budget_wan"], source=source),
        _("awarded     {awarded}万元 of {claimed}万元 claimed").format(
            awarded=s["awarded_wan"], claimed=s["claimed_wan"]
        ),
        _("recipients  {funded} funded of {eligible} eligible ({awards} awards)").format(
            funded=s["funded_recipients"], eligible=s["recipients"], awards=s["funded_claims"]
        ),
        _("output      {folder}").format(folder=out),
    ):
        click.echo(line)


COMMANDS: list[click.Command] = [run_command]
