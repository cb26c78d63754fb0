"""The `fieldscope` command line.

Every command that touches the database reads FIELDSCOPE_DATABASE_URL (default: a SQLite
file under ./data/), brings the schema up to date first, and reports failures as one
line on stderr with exit status 1, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from fieldscope.errors import AppError
from fieldscope.exports.cli import export_app

app = typer.Typer(
    help="fieldscope: observe clinical leadership in integrated care governance.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(
    help="Database maintenance: migrations, derived figures.", no_args_is_help=True
)
user_app = typer.Typer(
    help="Sign-in accounts (a PI then gives them a role in a study).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(export_app, name="export")


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def _database_url() -> str:
    # Read afresh (not the cached settings) so the environment of this run decides.
    from fieldscope.settings import Settings

    return Settings().database_url


@contextmanager
def _clean_errors() -> Iterator[None]:
    try:
        yield
    except AppError as exc:
        _fail(exc.detail)
    except ValidationError as exc:
        problems = "; ".join(
            f"FIELDSCOPE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid setting: {problems}")
    except SQLAlchemyError as exc:
        where = make_url(_database_url()).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _fail(f"database {where}: {reason}")


def _ready_engine() -> Engine:
    """The configured database, migrated to the latest revision."""
    from fieldscope.db import get_engine
    from fieldscope.migrate import upgrade

    engine = get_engine(_database_url())
    upgrade(engine)
    return engine


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to FIELDSCOPE_DATABASE_URL."""
    with _clean_errors():
        _ready_engine()
    typer.echo("database is at the latest revision")


@db_app.command("rebuild-totals")
def db_rebuild_totals() -> None:
    """Recompute every meeting's observed time from its sessions.

    Only needed after writing sessions or meetings outside the app (hand-made SQL, bulk
    loaders): the app keeps these figures up to date on every write.
    """
    from fieldscope.db import transaction
    from fieldscope.totals.coverage import rebuild

    with _clean_errors(), transaction(_ready_engine()) as s:
        n = rebuild(s.connection())
    typer.echo(f"recomputed the coverage of {n} meetings")


@db_app.command("new-epoch")
def db_new_epoch() -> None:
    """Start a new sync epoch: run this after restoring a backup.

    Every device then discards its pulled copies (never its unsent changes) and pulls
    again, and may continue its sequence past what the restored database holds.
    """
    from fieldscope.db import transaction
    from fieldscope.sync.state import new_epoch

    with _clean_errors(), transaction(_ready_engine()) as s:
        epoch = new_epoch(s)
    typer.echo(f"new sync epoch {epoch}: every device will pull everything again")


def _public_base(host: str, port: int) -> str:
    from fieldscope.settings import Settings

    settings = Settings()
    if "base_url" in settings.model_fields_set:
        return settings.base_url.rstrip("/")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


def setup_link(engine: Engine, base_url: str) -> str | None:
    """A one-time link to create the first administrator, when there is no user yet."""
    from fieldscope.auth.models import User
    from fieldscope.auth.service import new_setup_token
    from fieldscope.db import transaction

    with transaction(engine) as s:
        if s.execute(select(func.count()).select_from(User)).scalar_one():
            return None
        token = new_setup_token(s)
    return f"{base_url}/setup?token={token}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
) -> None:
    """Migrate the database, then serve the API and the web app.

    On a database without any user, prints a one-time setup link that creates the first
    administrator (set FIELDSCOPE_BASE_URL when the app is reached by another address).
    """
    import uvicorn

    from fieldscope.app import create_app

    with _clean_errors():
        engine = _ready_engine()
        base = _public_base(host, port)
        link = setup_link(engine, base)
        application = create_app(engine)
    if link:
        typer.secho("No account exists yet. Create the first administrator here:", bold=True)
        typer.echo(f"  {link}")
        typer.echo("(the link works once; restarting prints a new one until it is used)")
    typer.echo(f"fieldscope serving at {base} (API docs: {base}/api/v1/docs)", err=False)
    uvicorn.run(application, host=host, port=port, log_level="info")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Sign-in email address.")],
    password: Annotated[str, typer.Option(help="At least FIELDSCOPE_PASSWORD_MIN_LENGTH chars.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make an instance administrator.")] = False,
    name: Annotated[str, typer.Option(help="Display name (default: the email's local part).")] = "",
) -> None:
    """Create an account (non-interactive). A PI then gives it a role in a study."""
    from email_validator import EmailNotValidError, validate_email

    from fieldscope.auth.service import create_user
    from fieldscope.db import transaction

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        _fail(f"'{email}' is not a valid email address: {exc}")
    with _clean_errors(), transaction(_ready_engine()) as s:
        user = create_user(s, email, password, name, admin=admin)
        who, kind = user.email, "administrator" if user.is_admin else "user"
    typer.echo(f"created {kind} {who}")


@app.command()
def demo(
    password: Annotated[
        str, typer.Option(help="Password for the demo accounts created now.")
    ] = "fieldscope-demo",
) -> None:
    """Load the synthetic demo study (idempotent: a second run changes nothing).

    Three sites shaped like the reference study (28 meetings, 49 observed hours, the 25
    clinical leaders of its Table 1), with a PI, two fieldworkers and an analyst.
    """
    from fieldscope.demo.loader import load_demo

    with _clean_errors():
        result = load_demo(_ready_engine(), password)
    if result.created:
        c = result.counts
        typer.echo(
            f"loaded the synthetic demo study '{result.slug}': {c.get('meetings', 0)} meetings, "
            f"{c.get('observation_sessions', 0)} sessions, {c.get('interventions', 0)} "
            f"interventions, {c.get('field_notes', 0)} field notes, "
            f"{c.get('journal_entries', 0)} journal entries"
        )
    else:
        typer.echo(f"the demo study '{result.slug}' is already loaded; nothing changed")
    from fieldscope.settings import Settings

    typer.echo(f"sign in at {Settings().base_url.rstrip('/')} as:")
    for a in result.accounts:
        secret = a.password if a.password is not None else "(existing account, unchanged)"
        typer.echo(f"  {a.role:<12} {a.email:<28} password: {secret}")


@app.command()
def totals(
    study: Annotated[
        str | None, typer.Option(help="The study's slug (optional when there is one study).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Observed meetings and hours per site and level against targets, and clinical leaders
    per site x level. A co-observed meeting counts once (its hours are the union of its
    sessions); observer hours add every session."""
    from fieldscope.db import transaction
    from fieldscope.totals.service import find_study, study_totals

    with _clean_errors(), transaction(_ready_engine(), write=False) as s:
        result = study_totals(s, find_study(s, study).id)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    from fieldscope.totals.render import table

    typer.echo(table(result))


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


def _bounds(metadata: list[object]) -> str:
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    if low is not None and high is not None:
        return f" Allowed: {low} to {high}."
    return f" At least {low}." if low is not None else ""


def settings_markdown() -> str:
    """The settings as a Markdown table: README.md embeds exactly this (a test checks)."""
    from fieldscope.settings import Settings

    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = "(unset)" if field.default is None else f"`{field.default}`"
        meaning = (field.description or "").replace("|", "\\|") + _bounds(field.metadata)
        rows.append(f"| `FIELDSCOPE_{name.upper()}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


@app.command()
def config(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the documentation table instead.")
    ] = False,
) -> None:
    """Show the settings in effect (FIELDSCOPE_* variables or .env) and what each means."""
    from fieldscope.settings import Settings

    if markdown:
        typer.echo(settings_markdown(), nl=False)
        return
    with _clean_errors():
        settings = Settings()
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if name == "database_url":
            value = make_url(str(value)).render_as_string(hide_password=True)
        origin = "set" if name in settings.model_fields_set else "default"
        typer.echo(f"FIELDSCOPE_{name.upper()}={'' if value is None else value}  ({origin})")
        typer.echo(f"    {field.description or ''}")
