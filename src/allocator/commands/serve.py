"""``allocate serve``: the workbench in a browser, on this machine by default."""

from __future__ import annotations

import os
from pathlib import Path

import click

from allocator.commands.options import ledger_option
from allocator.core.i18n import N_, _

TOKEN_ENV = "ALLOCATE_TOKEN"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help=N_("Address to listen on."))
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help=N_("Port.")
)
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("workbench"),
    show_default=True,
    help=N_("Folder of uploads, scenarios, runs and sweeps."),
)
@click.option(
    "--models",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("models"),
    show_default=True,
    help=N_("Folder of the policy model files offered."),
)
@click.option(
    "--token",
    default=None,
    help=f"Access token (default: ${TOKEN_ENV}; generated and printed when the host is not "
    "127.0.0.1). Required for any address other than this machine's.",
)
@click.option(
    "--max-upload-mb",
    type=click.IntRange(1, 2048),
    default=50,
    show_default=True,
    help=N_("Largest data file accepted."),
)
@ledger_option
def serve(
    host: str,
    port: int,
    workspace: Path,
    models: Path,
    token: str | None,
    max_upload_mb: int,
    ledger: str | None,
) -> None:
    """Start the workbench: upload data, set up a scenario, run, audit, compare.

    Binds to 127.0.0.1 unless told otherwise; on any other address every request must carry
    the access token, which is printed with the address to open. Every run is recorded in the
    same ledger as `allocate run`'s.
    """
    import uvicorn

    from allocator.web.app import Config, create_app
    from allocator.web.library import ledger_url
    from allocator.web.security import is_loopback, new_token

    token = token or os.environ.get(TOKEN_ENV) or None
    local = is_loopback(host)
    if not local and token is None:
        token = new_token()
    config = Config(
        workspace=workspace,
        models=models,
        ledger=ledger_url(ledger),
        token=token,
        local_only=local,
        max_upload_mb=max_upload_mb,
    )
    app = create_app(config)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/"
    link = address + (f"?token={token}" if token else "")
    click.echo(_("allocate serve: open {link}").format(link=link), err=True)
    click.echo(_("workspace {path}").format(path=config.workspace.resolve()), err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


COMMANDS: list[click.Command] = [serve]
