"""The `fieldscope` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fieldscope.exports.cli import export_app

app = typer.Typer(help="fieldscope: observe clinical leadership in integrated care governance.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(export_app, name="export")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to FIELDSCOPE_DATABASE_URL."""
    from fieldscope.db import get_engine
    from fieldscope.migrate import upgrade

    upgrade(get_engine())
    typer.echo("database is at the latest revision")


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Print the OpenAPI document (schemas/openapi.json is this, committed)."""
    from fieldscope.app import create_app

    text = json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
    if output:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)
