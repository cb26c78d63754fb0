"""`fieldscope export ...`: the same exports as the API, to a file, with a progress bar.

Every command runs on behalf of a study member (`--as EMAIL`) and checks that member's
role exactly as the API does; each export is audited (via "cli").
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from fieldscope.auth.models import User
from fieldscope.auth.service import normalise_email
from fieldscope.changes import set_actor
from fieldscope.db import get_engine, transaction
from fieldscope.errors import AppError
from fieldscope.exports import files, refi, tidy
from fieldscope.exports.journal import JournalBuilder, codebook_catalogue
from fieldscope.exports.queries import read_snapshot, session_ids
from fieldscope.exports.schemas import JournalFormat, TableName
from fieldscope.exports.service import (
    ExportKind,
    ExportScope,
    authorise,
    check_session_access,
    record_export,
    resolve_filters,
)
from fieldscope.exports.tidy_schemas import RESOURCES, datapackage_template, dumps, table_schema
from fieldscope.participants.models import Level
from fieldscope.studies.models import Study

export_app = typer.Typer(
    help="Export journals, tidy data and REFI-QDA projects (pseudonymised).",
    no_args_is_help=True,
)

Progress = Callable[[int], None]

StudyOpt = Annotated[str, typer.Option("--study", help="Study slug or id.")]
AsOpt = Annotated[str, typer.Option("--as", help="Email of the member exporting.")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="File to write.")]
DbOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Defaults to FIELDSCOPE_DATABASE_URL.", hidden=True),
]
SiteOpt = Annotated[list[str] | None, typer.Option("--site", help="Site code (repeatable).")]
LevelOpt = Annotated[list[Level] | None, typer.Option("--level", help="Meeting level.")]
FromOpt = Annotated[datetime | None, typer.Option("--from", formats=["%Y-%m-%d"])]
ToOpt = Annotated[datetime | None, typer.Option("--to", formats=["%Y-%m-%d"])]
WhoOpt = Annotated[list[str] | None, typer.Option("--participant", help="Pseudonym code.")]
NamesOpt = Annotated[bool, typer.Option("--include-real-names", help="Real names too (PIs only).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def _fail(err: AppError) -> typer.Exit:
    typer.secho(f"error: {err.detail}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=2 if err.status == 422 else 1)


def _study(session: Session, ref: str) -> Study:
    try:
        study = session.get(Study, uuid.UUID(ref))
    except ValueError:
        study = session.exec(select(Study).where(Study.slug == ref)).first()
    if study is None or study.deleted_at is not None:
        raise AppError(404, "not_found", f"No study '{ref}'.")
    return study


def _user(session: Session, email: str) -> User:
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None or not user.is_active:
        raise AppError(404, "not_found", f"No active user with email {email}.")
    return user


def _prepare(
    engine: Engine,
    study_ref: str,
    email: str,
    kind: ExportKind,
    fmt: str,
    *,
    sites: list[str] | None = None,
    levels: list[Level] | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    participants: list[str] | None = None,
    include_real_names: bool = False,
    session_id: uuid.UUID | None = None,
) -> tuple[ExportScope, Study]:
    """Authorise, resolve the filters and audit, in one transaction, as the API does."""
    try:
        return _prepare_in(
            engine, study_ref, email, kind, fmt, sites=sites, levels=levels,
            date_from=date_from, date_to=date_to, participants=participants,
            include_real_names=include_real_names, session_id=session_id,
        )  # fmt: skip
    except SQLAlchemyError as exc:
        raise AppError(503, "database_error", _db_reason(exc)) from exc


def _db_reason(exc: SQLAlchemyError) -> str:
    return "database: " + str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _prepare_in(
    engine: Engine,
    study_ref: str,
    email: str,
    kind: ExportKind,
    fmt: str,
    *,
    sites: list[str] | None,
    levels: list[Level] | None,
    date_from: datetime | None,
    date_to: datetime | None,
    participants: list[str] | None,
    include_real_names: bool,
    session_id: uuid.UUID | None,
) -> tuple[ExportScope, Study]:
    with transaction(engine) as session:
        study = _study(session, study_ref)
        user = _user(session, email)
        set_actor(session, user.id, via="cli")
        observer = authorise(session, user, study.id, kind, include_real_names=include_real_names)
        if session_id is not None:
            check_session_access(session, study.id, session_id, observer)
        if kind is ExportKind.qdc and not codebook_catalogue(session, study.id):
            raise AppError(409, "no_codebook", "This study has no published codebook.")
        filters = resolve_filters(
            session,
            study.id,
            sites=sites or [],
            levels=levels or [],
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            participants=participants or [],
        )
        scope = ExportScope(study.id, filters, observer, include_real_names, user.id)
        record_export(session, scope, kind, fmt, via="cli", target=session_id)
        return scope, study


def _write(
    engine: Engine,
    output: Path,
    body: Callable[[Session, Progress], Iterator[bytes]],
    total: Callable[[Session], int] | None,
    label: str,
    quiet: bool,
) -> None:
    """Stream to `<output>.part`, then rename: a failed export leaves no half file."""
    part = output.with_name(output.name + ".part")
    session = read_snapshot(engine)
    try:
        length = total(session) if total and not quiet else 0
        bar: AbstractContextManager[Any] = (
            typer.progressbar(length=length, label=label, file=_stderr())
            if length
            else nullcontext(None)
        )
        with bar as progress, part.open("wb") as out:

            def advance(n: int) -> None:
                if progress is not None:
                    progress.update(n)

            for chunk in body(session, advance):
                out.write(chunk)
        os.replace(part, output)
    except SQLAlchemyError as exc:
        part.unlink(missing_ok=True)
        raise _fail(AppError(503, "database_error", _db_reason(exc))) from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        session.close()
    typer.echo(f"wrote {output} ({output.stat().st_size:,} bytes)", err=True)


def _stderr() -> Any:
    import sys

    return sys.stderr


def _engine(database_url: str | None) -> Engine:
    from fieldscope.settings import Settings

    # Read afresh (not the cached settings): this run's environment decides.
    return get_engine(database_url or Settings().database_url)


def _sessions_total(scope: ExportScope, passes: int = 1) -> Callable[[Session], int]:
    def count(session: Session) -> int:
        return passes * len(session.exec(session_ids(scope)).all())

    return count


@export_app.command("journal")
def export_journal(
    session_id: Annotated[uuid.UUID, typer.Argument(help="Observation session id.")],
    study: StudyOpt,
    as_: AsOpt,
    output: OutOpt,
    format: Annotated[JournalFormat, typer.Option("--format")] = JournalFormat.markdown,
    include_real_names: NamesOpt = False,
    database_url: DbOpt = None,
) -> None:
    """One session's field journal (Markdown, HTML or DOCX)."""
    engine = _engine(database_url)
    try:
        scope, _ = _prepare(
            engine, study, as_, ExportKind.journal, format.value,
            include_real_names=include_real_names, session_id=session_id,
        )  # fmt: skip
    except AppError as err:
        raise _fail(err) from err

    def body(session: Session, _: Progress) -> Iterator[bytes]:
        yield files.render(JournalBuilder(session, scope).build(session_id), format)

    _write(engine, output, body, None, "journal", True)


@export_app.command("journals")
def export_journals(
    study: StudyOpt,
    as_: AsOpt,
    output: OutOpt,
    format: Annotated[JournalFormat, typer.Option("--format")] = JournalFormat.markdown,
    site: SiteOpt = None,
    level: LevelOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    participant: WhoOpt = None,
    include_real_names: NamesOpt = False,
    quiet: QuietOpt = False,
    database_url: DbOpt = None,
) -> None:
    """A ZIP of field journals for a filter (fieldworkers: their own sessions)."""
    engine = _engine(database_url)
    try:
        scope, _ = _prepare(
            engine, study, as_, ExportKind.journals, format.value, sites=site, levels=level,
            date_from=date_from, date_to=date_to, participants=participant,
            include_real_names=include_real_names,
        )  # fmt: skip
    except AppError as err:
        raise _fail(err) from err
    _write(
        engine,
        output,
        lambda s, p: files.iter_journal_bundle(s, scope, format, p),
        _sessions_total(scope),
        "journals",
        quiet,
    )


def _tidy_command(kind: str) -> Callable[..., None]:
    def command(
        study: StudyOpt,
        as_: AsOpt,
        output: OutOpt,
        site: SiteOpt = None,
        level: LevelOpt = None,
        date_from: FromOpt = None,
        date_to: ToOpt = None,
        participant: WhoOpt = None,
        include_real_names: NamesOpt = False,
        quiet: QuietOpt = False,
        database_url: DbOpt = None,
    ) -> None:
        engine = _engine(database_url)
        export_kind = ExportKind.qdpx if kind == "qdpx" else ExportKind.tidy
        try:
            scope, _ = _prepare(
                engine, study, as_, export_kind, kind, sites=site, levels=level,
                date_from=date_from, date_to=date_to, participants=participant,
                include_real_names=include_real_names,
            )  # fmt: skip
        except AppError as err:
            raise _fail(err) from err
        if kind == "qdpx":
            _write(
                engine,
                output,
                lambda s, p: refi.iter_qdpx(s, scope, p),
                _sessions_total(scope, passes=2),
                "qdpx",
                quiet,
            )
            return
        body = tidy.iter_datapackage if kind == "datapackage" else tidy.iter_json
        _write(
            engine,
            output,
            lambda s, p: body(s, scope, p),
            lambda s: tidy.total_rows(s, scope),
            kind,
            quiet,
        )

    return command


export_app.command("datapackage", help="Tidy CSV tables in a zipped Frictionless Data Package.")(
    _tidy_command("datapackage")
)
export_app.command("json", help="The tidy tables as one JSON document.")(_tidy_command("json"))
export_app.command("qdpx", help="A REFI-QDA project (.qdpx).")(_tidy_command("qdpx"))


@export_app.command("csv")
def export_csv(
    table: Annotated[TableName, typer.Argument(help="Which table.")],
    study: StudyOpt,
    as_: AsOpt,
    output: OutOpt,
    site: SiteOpt = None,
    level: LevelOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    participant: WhoOpt = None,
    include_real_names: NamesOpt = False,
    quiet: QuietOpt = False,
    database_url: DbOpt = None,
) -> None:
    """One tidy table as CSV (e.g. interventions)."""
    engine = _engine(database_url)
    if table is TableName.participant_names and not include_real_names:
        raise _fail(AppError(422, "invalid", "participant_names needs --include-real-names."))
    try:
        scope, _ = _prepare(
            engine, study, as_, ExportKind.tidy, f"csv:{table.value}", sites=site, levels=level,
            date_from=date_from, date_to=date_to, participants=participant,
            include_real_names=include_real_names,
        )  # fmt: skip
    except AppError as err:
        raise _fail(err) from err
    _write(
        engine,
        output,
        lambda s, p: tidy.iter_table_csv(s, scope, table.value, p),
        lambda s: tidy.total_rows(s, scope, [table.value]),
        table.value,
        quiet,
    )


@export_app.command("qdc")
def export_qdc(study: StudyOpt, as_: AsOpt, output: OutOpt, database_url: DbOpt = None) -> None:
    """The codebook as a REFI-QDA .qdc file."""
    engine = _engine(database_url)
    try:
        scope, _ = _prepare(engine, study, as_, ExportKind.qdc, "qdc")
    except AppError as err:
        raise _fail(err) from err

    def body(session: Session, _: Progress) -> Iterator[bytes]:
        yield refi.qdc_document(session, scope.study_id).encode("utf-8")

    _write(engine, output, body, None, "qdc", True)


@export_app.command("schemas")
def export_schemas(
    output: Annotated[Path, typer.Option("--output", "-o")] = Path("schemas/datapackage"),
) -> None:
    """Write the Table Schemas and datapackage template (commit schemas/datapackage/)."""
    output.mkdir(parents=True, exist_ok=True)
    for name in RESOURCES:
        (output / f"{name}.schema.json").write_text(dumps(table_schema(name)))
    (output / "datapackage.json").write_text(dumps(datapackage_template()))
    typer.echo(f"wrote {len(RESOURCES)} table schemas and datapackage.json to {output}")
