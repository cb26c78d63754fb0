"""Tidy data: one row per observation, as CSV (in a Frictionless Data Package) or JSON.

Rows come from column queries streamed with `yield_per` (a server-side cursor on
PostgreSQL), never one ORM object per row, and leave as byte chunks: memory stays flat
for a million interventions. `iter_interventions_csv` is the entry point benchmarks use.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Enum as SAEnum
from sqlalchemy import Select, String, Uuid, cast, func, select, type_coerce
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from fieldscope.auth.models import User
from fieldscope.codebook.models import Code, CodebookVersion
from fieldscope.common.models import utcnow
from fieldscope.db import is_sqlite
from fieldscope.exports import queries
from fieldscope.exports.journal import redactor_for
from fieldscope.exports.queries import A, I, M, P, S
from fieldscope.exports.service import ExportFilters, ExportScope
from fieldscope.exports.text import Redactor, hours, iso_utc
from fieldscope.exports.tidy_schemas import (
    COLUMNS,
    OPTIONAL,
    RESOURCES,
    data_path,
    datapackage_template,
    dumps,
    schema_path,
    table_schema,
)
from fieldscope.exports.zipstream import ZipStream
from fieldscope.studies.models import Site, Study

Value = str | int | float | bool | None
Row = tuple[Value, ...]
Progress = Callable[[int], None]

BATCH = 2000  # rows per database fetch and per output chunk


def _uuid_text(column: Any, sqlite: bool) -> Any:
    """A UUID column as 8-4-4-4-12 text, formatted by the database (cheaper than a
    million uuid.UUID objects built only to be printed). SQLite stores 32 hex digits."""
    if not sqlite:
        return cast(column, String)
    h = type_coerce(column, String)
    parts = [func.substr(h, start, size, type_=String) for start, size in _UUID_PARTS]
    return parts[0] + "-" + parts[1] + "-" + parts[2] + "-" + parts[3] + "-" + parts[4]


_UUID_PARTS = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]


class TidyReader:
    """Reads the tables of one export scope, row by row, in one snapshot."""

    def __init__(self, session: Session, scope: ExportScope) -> None:
        self.session = session
        self.scope = scope
        redact, _ = redactor_for(
            session, scope.study_id, include_real_names=scope.include_real_names
        )
        self.redact: Redactor = redact
        self.sqlite = is_sqlite(session.get_bind())
        self.site_codes = {
            str(s.id): s.code
            for s in session.exec(sm_select(Site).where(Site.study_id == scope.study_id)).all()
        }

    def _cols(self, *attrs: Any) -> list[Any]:
        """Columns to select, ids and enums read as text: a million uuid.UUID and Enum
        objects built only to be printed again would be most of an export's time."""
        out: list[Any] = []
        for n, attr in enumerate(attrs):
            column: Any = col(attr)
            if isinstance(column.type, Uuid):
                column = _uuid_text(column, self.sqlite).label(f"c{n}")
            elif isinstance(column.type, SAEnum):
                column = type_coerce(column, String).label(f"c{n}")
            out.append(column)
        return out

    def tables(self) -> list[str]:
        return [n for n in RESOURCES if n not in OPTIONAL or self.scope.include_real_names]

    def text(self, value: str | None) -> str | None:
        """Free text, redacted; empty is missing (as Table Schema reads an empty cell)."""
        return self.redact(value) or None if value else None

    # ------------------------------------------------------------ statements

    def statement(self, name: str) -> Select[Any]:
        return getattr(self, f"_{name}_stmt")()  # type: ignore[no-any-return]

    def _sites_stmt(self) -> Select[Any]:
        return (
            select(*self._cols(Site.code, Site.name, Site.target_hours, Site.target_meetings))
            .where(col(Site.study_id) == self.scope.study_id, col(Site.deleted_at).is_(None))
            .order_by(col(Site.code))
        )

    def _codebook_stmt(self) -> Select[Any]:
        cv = CodebookVersion
        columns = self._cols(
            cv.number, Code.key, Code.parent_key, Code.group, Code.label, Code.description,
            Code.colour, Code.sort_order, Code.retired,
        )  # fmt: skip
        return (
            select(*columns)
            .join(cv, col(cv.id) == col(Code.codebook_version_id))
            .where(
                col(cv.study_id) == self.scope.study_id,
                col(cv.published_at).is_not(None),
                col(cv.deleted_at).is_(None),
                col(Code.deleted_at).is_(None),
            )
            .order_by(col(cv.number), col(Code.sort_order), col(Code.key))
        )

    def _meetings_stmt(self) -> Select[Any]:
        columns = self._cols(
            M.id, M.site_id, M.level, M.title, M.theme, M.stage_of_change, M.scheduled_start,
            M.location,
        )  # fmt: skip
        return (
            select(*columns)
            .where(*queries.meeting_conditions(self.scope))
            .order_by(col(M.scheduled_start), col(M.id))
        )

    def _participants_stmt(self) -> Select[Any]:
        columns = self._cols(
            P.id, P.code, P.site_id, P.level, P.background, P.is_clinical_leader, P.role_title,
            P.pending_review,
        )  # fmt: skip
        return (
            select(*columns)
            .where(*queries.participant_conditions(self.scope))
            .order_by(col(P.code))
        )

    def _participant_names_stmt(self) -> Select[Any]:
        return (
            select(*self._cols(P.id, P.code, P.real_name))
            .where(*queries.participant_conditions(self.scope))
            .order_by(col(P.code))
        )

    def _attendees_stmt(self) -> Select[Any]:
        return (
            select(*self._cols(A.meeting_id, A.participant_id, P.code))
            .select_from(A)
            .join(M, col(M.id) == col(A.meeting_id))
            .join(P, col(P.id) == col(A.participant_id))
            .where(*queries.attendee_conditions(self.scope))
            .order_by(col(A.meeting_id), col(P.code))
        )

    def _sessions_stmt(self) -> Select[Any]:
        columns = self._cols(
            S.id, S.meeting_id, M.site_id, M.level, S.observer_id, User.display_name,
            S.started_at, S.ended_at, S.duration_seconds, S.retrospective, S.needs_review,
        )  # fmt: skip
        return (
            select(*columns)
            .select_from(S)
            .join(M, col(M.id) == col(S.meeting_id))
            .join(User, col(User.id) == col(S.observer_id))
            .where(*queries.session_conditions(self.scope))
            .order_by(col(S.started_at), col(S.id))
        )

    def _interventions_stmt(self) -> Select[Any]:
        cv = CodebookVersion
        columns = self._cols(
            I.id, I.session_id, M.id, M.site_id, M.level, I.participant_id, P.code, P.level,
            cv.number, I.code_key, I.form_key, I.offset_seconds, I.device_time, I.quote,
            I.note, I.agenda_item, I.code_retired, I.needs_review, I.observer_id,
        )  # fmt: skip
        return (
            select(*columns)
            .select_from(I)
            .join(S, col(S.id) == col(I.session_id))
            .join(M, col(M.id) == col(S.meeting_id))
            .join(P, col(P.id) == col(I.participant_id))
            .join(cv, col(cv.id) == col(I.codebook_version_id))
            .where(*queries.intervention_conditions(self.scope, by_filter=True))
            # The primary key: UUIDv7 ids sort by creation, and the index serves the order.
            .order_by(col(I.id))
        )

    # ------------------------------------------------------------ rows

    def shape(self, name: str, r: Sequence[Any]) -> Row:
        """A database row to the table's columns, JSON-ready."""
        site = self.site_codes.get
        red = self.text
        if name == "sites":
            return (r[0], r[1], r[2], r[3])
        if name == "codebook":
            return (r[0], r[1], r[2], r[3], r[4], r[5] or None, r[6] or None, r[7], r[8])
        if name == "meetings":
            return (
                r[0], site(r[1]), r[2], red(r[3]), red(r[4]), r[5], iso_utc(r[6]),
                red(r[7]),
            )  # fmt: skip
        if name == "participants":
            return (r[0], r[1], site(r[2]), r[3], r[4], r[5], red(r[6]), r[7])
        if name == "participant_names":
            return (r[0], r[1], r[2])
        if name == "attendees":
            return (r[0], r[1], r[2])
        if name == "sessions":
            return (
                r[0], r[1], site(r[2]), r[3], r[4], r[5], iso_utc(r[6]),
                iso_utc(r[7]), hours(r[8]), r[9], r[10],
            )  # fmt: skip
        if name == "interventions":
            return (
                r[0], r[1], r[2], site(r[3]), r[4], r[5], r[6], r[7], r[8],
                r[9], r[10], r[11], iso_utc(r[12]), red(r[13]), red(r[14]), red(r[15]),
                r[16], r[17], r[18],
            )  # fmt: skip
        raise KeyError(name)

    def batches(self, name: str) -> Iterator[list[Row]]:
        # Core, not the ORM: rows as plain tuples; yield_per streams (a server-side cursor
        # on PostgreSQL) so memory holds one batch.
        connection = self.session.connection()
        result = connection.execution_options(yield_per=BATCH).execute(self.statement(name))
        shape = self.shape
        for part in result.partitions():
            yield [shape(name, r) for r in part]

    def count(self, name: str) -> int:
        sub = self.statement(name).order_by(None).subquery()
        return int(self.session.execute(select(func.count()).select_from(sub)).scalar_one())

    # ------------------------------------------------------------ formats

    def csv_chunks(self, name: str, progress: Progress | None = None) -> Iterator[bytes]:
        columns = [c.name for c in COLUMNS[name]]
        booleans = [i for i, c in enumerate(COLUMNS[name]) if c.kind == "boolean"]
        buf = io.StringIO()
        # LF line ends, as R and pandas expect and as the REFI-QDA sources use.
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for batch in self.batches(name):
            if booleans:
                batch = [_csv_bools(row, booleans) for row in batch]
            writer.writerows(batch)
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
            if progress:
                progress(len(batch))
        if buf.tell():
            yield buf.getvalue().encode()

    def json_rows(self, name: str, progress: Progress | None = None) -> Iterator[str]:
        """A JSON array of row objects, streamed."""
        columns = [c.name for c in COLUMNS[name]]
        first = True
        yield "["
        for batch in self.batches(name):
            text = ",".join(
                json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False)
                for row in batch
            )
            yield ("" if first else ",") + text
            first = False
            if progress:
                progress(len(batch))
        yield "]"


def _csv_bools(row: Row, indexes: list[int]) -> Row:
    out = list(row)
    for i in indexes:
        if out[i] is not None:
            out[i] = "true" if out[i] else "false"
    return tuple(out)


def iter_interventions_csv(
    session: Session,
    study_id: uuid.UUID,
    filters: ExportFilters | None = None,
    *,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The interventions table as CSV byte chunks (header first), pseudonymised.

    Streams with a server-side cursor; pass a session from `queries.read_snapshot`.
    """
    scope = ExportScope(study_id=study_id, filters=filters or ExportFilters())
    yield from TidyReader(session, scope).csv_chunks("interventions", progress)


def iter_table_csv(
    session: Session, scope: ExportScope, name: str, progress: Progress | None = None
) -> Iterator[bytes]:
    yield from TidyReader(session, scope).csv_chunks(name, progress)


def _package_name(slug: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", slug.lower()).strip("-") or "fieldscope-study"


def package_descriptor(
    study: Study, scope: ExportScope, tables: Iterable[str], when: datetime
) -> dict[str, Any]:
    descriptor = datapackage_template()
    present = set(tables)
    descriptor["name"] = _package_name(study.slug)
    descriptor["title"] = study.name
    descriptor["created"] = iso_utc(when)
    descriptor["resources"] = [r for r in descriptor["resources"] if r["name"] in present]
    descriptor["fieldscope"] = {
        "study_id": str(study.id),
        "filters": scope.filters.describe(),
        "include_real_names": scope.include_real_names,
    }
    return descriptor


def iter_datapackage(
    session: Session, scope: ExportScope, progress: Progress | None = None
) -> Iterator[bytes]:
    """A zipped Frictionless Data Package: datapackage.json, schemas/, data/*.csv."""
    study = session.get(Study, scope.study_id)
    if study is None:
        raise LookupError(scope.study_id)
    reader = TidyReader(session, scope)
    when = utcnow()
    tables = reader.tables()
    z = ZipStream(when)
    descriptor = package_descriptor(study, scope, tables, when)
    yield from z.member("datapackage.json", [dumps(descriptor).encode()])
    for name in tables:
        yield from z.member(schema_path(name), [dumps(table_schema(name)).encode()])
    for name in tables:
        yield from z.member(data_path(name), reader.csv_chunks(name, progress), large=True)
    yield from z.close()


def iter_json(
    session: Session, scope: ExportScope, progress: Progress | None = None
) -> Iterator[bytes]:
    """One JSON document: metadata, then each table as an array of row objects."""
    study = session.get(Study, scope.study_id)
    if study is None:
        raise LookupError(scope.study_id)
    reader = TidyReader(session, scope)
    meta = {
        "format": "fieldscope-tidy-json",
        "version": 1,
        "study": {"id": str(study.id), "slug": study.slug, "name": study.name},
        "exported_at": iso_utc(utcnow()),
        "filters": scope.filters.describe(),
        "include_real_names": scope.include_real_names,
    }
    head = json.dumps(meta, ensure_ascii=False)[:-1]  # leave the object open
    yield (head + ', "tables": {').encode()
    for n, name in enumerate(reader.tables()):
        yield (("" if n == 0 else ", ") + json.dumps(name) + ": ").encode()
        for text in reader.json_rows(name, progress):
            yield text.encode()
    yield b"}}\n"


def total_rows(session: Session, scope: ExportScope, tables: Iterable[str] | None = None) -> int:
    """Rows an export will write (for progress bars)."""
    reader = TidyReader(session, scope)
    return sum(reader.count(n) for n in (tables or reader.tables()))
