"""HTTP routes of the exports: journals, tidy data, REFI-QDA. Bodies are streamed.

The request's own session authorises, validates the filters and audits the export, then
closes; the streamed body reads in a fresh read-only snapshot of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fieldscope.auth.deps import CurrentUser
from fieldscope.auth.models import User
from fieldscope.db import SessionDep
from fieldscope.errors import AppError, invalid
from fieldscope.exports import files, refi, tidy
from fieldscope.exports.journal import JournalBuilder, codebook_catalogue
from fieldscope.exports.queries import read_snapshot
from fieldscope.exports.schemas import ExportQuery, JournalBundleQuery, JournalFormat, TableName
from fieldscope.exports.service import (
    ExportKind,
    ExportScope,
    authorise,
    check_session_access,
    record_export,
    resolve_filters,
    study_or_404,
)

router = APIRouter(prefix="/studies/{study_id}/exports", tags=["exports"])

ZIP = "application/zip"
_STREAMED = {"description": "The export, streamed.", "content": {}}


def _scope(
    session: Session,
    user: User,
    study_id: uuid.UUID,
    kind: ExportKind,
    fmt: str,
    q: ExportQuery,
) -> tuple[ExportScope, str]:
    observer = authorise(session, user, study_id, kind, include_real_names=q.include_real_names)
    study = study_or_404(session, study_id)
    filters = resolve_filters(
        session,
        study_id,
        sites=q.site,
        levels=q.level,
        date_from=q.date_from,
        date_to=q.date_to,
        participants=q.participant,
    )
    scope = ExportScope(
        study_id=study_id,
        filters=filters,
        observer_id=observer,
        include_real_names=q.include_real_names,
        exporter_id=user.id,
    )
    record_export(session, scope, kind, fmt)
    return scope, study.slug


def _stream(
    request: Request,
    body: Callable[[Session], Iterator[bytes]],
    media_type: str,
    filename: str,
) -> StreamingResponse:
    engine: Engine = request.app.state.engine

    def chunks() -> Iterator[bytes]:
        session = read_snapshot(engine)
        try:
            yield from body(session)
        finally:
            session.close()

    return StreamingResponse(
        chunks(),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/journals/{session_id}", response_class=Response, responses={200: _STREAMED})
def export_journal(
    study_id: uuid.UUID,
    session_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    format: JournalFormat = JournalFormat.markdown,
    include_real_names: bool = False,
) -> Response:
    """One session's field journal: header, timeline, write-up and summary report.

    Fieldworkers may export the journals of their own sessions only."""
    observer = authorise(
        session, user, study_id, ExportKind.journal, include_real_names=include_real_names
    )
    study_or_404(session, study_id)
    check_session_access(session, study_id, session_id, observer)
    scope = ExportScope(
        study_id=study_id,
        observer_id=observer,
        include_real_names=include_real_names,
        exporter_id=user.id,
    )
    record_export(session, scope, ExportKind.journal, format.value, target=session_id)
    journal = JournalBuilder(session, scope).build(session_id)
    name = files.journal_file_name(journal, format)
    return Response(
        files.render(journal, format),
        media_type=files.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/journals", response_class=StreamingResponse, responses={200: _STREAMED})
def export_journal_bundle(
    study_id: uuid.UUID,
    q: Annotated[JournalBundleQuery, Query()],
    request: Request,
    user: CurrentUser,
    session: SessionDep,
) -> StreamingResponse:
    """A ZIP of field journals, one per session matching the filters.

    Fieldworkers get their own sessions only."""
    fmt = q.format
    scope, slug = _scope(session, user, study_id, ExportKind.journals, fmt.value, q)
    return _stream(
        request,
        lambda s: files.iter_journal_bundle(s, scope, fmt),
        ZIP,
        f"{slug}_journals_{fmt.value}.zip",
    )


@router.get("/datapackage", response_class=StreamingResponse, responses={200: _STREAMED})
def export_datapackage(
    study_id: uuid.UUID,
    q: Annotated[ExportQuery, Query()],
    request: Request,
    user: CurrentUser,
    session: SessionDep,
) -> StreamingResponse:
    """Tidy CSV tables in a zipped Frictionless Data Package (datapackage.json, Table
    Schemas with keys, data/*.csv)."""
    scope, slug = _scope(session, user, study_id, ExportKind.tidy, "datapackage", q)
    return _stream(
        request, lambda s: tidy.iter_datapackage(s, scope), ZIP, f"{slug}_datapackage.zip"
    )


@router.get("/tables/{table}.csv", response_class=StreamingResponse, responses={200: _STREAMED})
def export_table_csv(
    study_id: uuid.UUID,
    table: TableName,
    q: Annotated[ExportQuery, Query()],
    request: Request,
    user: CurrentUser,
    session: SessionDep,
) -> StreamingResponse:
    """One tidy table as CSV (the same columns as in the data package)."""
    if table is TableName.participant_names and not q.include_real_names:
        raise invalid(
            "participant_names holds real names: ask with include_real_names=true (PIs only).",
            field="include_real_names",
        )
    scope, slug = _scope(session, user, study_id, ExportKind.tidy, f"csv:{table.value}", q)
    return _stream(
        request,
        lambda s: tidy.iter_table_csv(s, scope, table.value),
        "text/csv; charset=utf-8; header=present",
        f"{slug}_{table.value}.csv",
    )


@router.get("/json", response_class=StreamingResponse, responses={200: _STREAMED})
def export_json(
    study_id: uuid.UUID,
    q: Annotated[ExportQuery, Query()],
    request: Request,
    user: CurrentUser,
    session: SessionDep,
) -> StreamingResponse:
    """The tidy tables as one JSON document: {..., "tables": {"interventions": [{...}]}}."""
    scope, slug = _scope(session, user, study_id, ExportKind.tidy, "json", q)
    return _stream(request, lambda s: tidy.iter_json(s, scope), "application/json", f"{slug}.json")


@router.get("/qdpx", response_class=StreamingResponse, responses={200: _STREAMED})
def export_qdpx(
    study_id: uuid.UUID,
    q: Annotated[ExportQuery, Query()],
    request: Request,
    user: CurrentUser,
    session: SessionDep,
) -> StreamingResponse:
    """A REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder: journals as text
    sources, interventions as coded selections, participants as cases."""
    scope, slug = _scope(session, user, study_id, ExportKind.qdpx, "qdpx", q)
    return _stream(request, lambda s: refi.iter_qdpx(s, scope), ZIP, f"{slug}.qdpx")


@router.get("/qdc", response_class=Response, responses={200: _STREAMED})
def export_qdc(study_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """The codebook as a REFI-QDA .qdc file."""
    authorise(session, user, study_id, ExportKind.qdc)
    study = study_or_404(session, study_id)
    if not codebook_catalogue(session, study_id):
        raise AppError(409, "no_codebook", "This study has no published codebook to export.")
    record_export(
        session, ExportScope(study_id=study_id, exporter_id=user.id), ExportKind.qdc, "qdc"
    )
    return Response(
        refi.qdc_document(session, study_id).encode("utf-8"),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{study.slug}_codebook.qdc"'},
    )
