"""Keeps the contribution counts (`models.py`) in step with the data, from the change log.

Why: a whole-study matrix over a national study scans a million interventions (0.3-2 s on
SQLite and PostgreSQL here); the counts make it a read of a few thousand cells.

How: every change to a record has a change-log row with a commit-ordered cursor. Before the
counts are read, `fresh()` brings them up to the current cursor: the meetings touched by
new change-log rows (through an intervention, a session or the meeting itself) are
recounted from the interventions (never incremented blindly, so a recount heals), and the
difference between their old and new per-meeting-day counts is applied to the cells and to
the year and month cells that date-filtered matrices read. A new
server epoch, a missing state or a long backlog rebuilds everything. The write path pays
nothing; the first read after a change pays for the meetings it touched.

Refreshes are serialised (SQLite's writer lock, a PostgreSQL advisory lock), run in their
own short transaction, and the matrix is then read in that same session, so it sees the
counts it just refreshed. Consent and deleted sites are applied when reading.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import (
    Date,
    String,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from fieldscope.dashboard.models import (
    ContributionCell,
    MeetingContribution,
    PeriodCell,
    SummaryState,
)
from fieldscope.db import open_session
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import Intervention as I
from fieldscope.observations.models import ObservationSession as S
from fieldscope.sync.models import ChangeCursor, ChangeLogEntry, ServerState

ENTITIES = ("intervention", "observation_session", "meeting")
REBUILD_AFTER = 200_000  # change-log rows behind: a full recount is cheaper
_CHUNK = 500
_LOCK_KEY = 0x6669656C64  # PostgreSQL advisory lock of the refresher ("field")

CellKey = tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, str, str]
SPANS = ("y", "m")  # calendar years and months of PeriodCell


def _version(conn: Connection) -> tuple[str, int]:
    epoch = conn.execute(select(col(ServerState.epoch)).where(col(ServerState.id) == 1))
    cursor = conn.execute(select(col(ChangeCursor.value)).where(col(ChangeCursor.id) == 1))
    return str(epoch.scalar_one()), int(cursor.scalar_one() or 0)


def _state(conn: Connection) -> tuple[str, int] | None:
    row = conn.execute(
        select(col(SummaryState.epoch), col(SummaryState.cursor)).where(col(SummaryState.id) == 1)
    ).first()
    return None if row is None else (str(row[0]), int(row[1]))


@contextmanager
def fresh(session: Session) -> Iterator[Session]:
    """A session in which the counts are up to date with every committed change: the
    request's own, refreshed in a savepoint when needed (its commit keeps the refresh).

    SQLite only: if the request's read snapshot is older than the last commit, it cannot
    start writing (SQLITE_BUSY); the refresh then runs in a write transaction of its own
    and the counts are read in that session, which sees them."""
    conn = session.connection()
    if _state(conn) == _version(conn):
        yield session
        return
    try:
        with session.begin_nested():
            refresh(session.connection())
    except OperationalError as exc:
        if conn.dialect.name != "sqlite" or "locked" not in str(exc).lower():
            raise
    else:
        yield session
        return
    writer = open_session(session.get_bind().engine, write=True)
    try:
        refresh(writer.connection())
        yield writer
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    finally:
        writer.close()


def refresh(conn: Connection) -> None:
    """Bring the counts up to the current cursor (inside the caller's write transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    epoch, cursor = _version(conn)
    state = _state(conn)
    if state is not None and state == (epoch, cursor):
        return  # another refresher got here first
    behind = None
    if state is not None and state[0] == epoch and state[1] <= cursor:
        behind = conn.execute(
            select(func.count()).where(
                col(ChangeLogEntry.cursor) > state[1], col(ChangeLogEntry.cursor) <= cursor
            )
        ).scalar_one()
    if state is None or behind is None or behind > REBUILD_AFTER:
        rebuild(conn)
    else:
        recount(conn, touched_meetings(conn, state[1], cursor))
    conn.execute(delete(SummaryState))
    conn.execute(insert(SummaryState).values(id=1, epoch=epoch, cursor=cursor))


def touched_meetings(conn: Connection, after: int, upto: int) -> set[uuid.UUID]:
    """Meetings whose counts may have changed with the change-log rows in (after, upto]."""
    cl = ChangeLogEntry
    data: Any = col(cl.data)
    rows = conn.execute(
        select(
            col(cl.cursor),
            col(cl.entity),
            col(cl.record_id),
            col(cl.version),
            col(cl.changed_fields),
            data["session_id"].as_string(),
            data["meeting_id"].as_string(),
        ).where(col(cl.cursor) > after, col(cl.cursor) <= upto, col(cl.entity).in_(ENTITIES))
    ).all()
    meetings: set[uuid.UUID] = set()
    sessions: set[uuid.UUID] = set()
    for cursor, entity, record_id, version, changed, session_id, meeting_id in rows:
        if entity == "meeting":
            meetings.add(record_id)
            continue
        field, bucket = (
            ("session_id", sessions) if entity == "intervention" else ("meeting_id", meetings)
        )
        now = session_id if entity == "intervention" else meeting_id
        if now:
            bucket.add(uuid.UUID(now))
        if version > 1 and field in (changed or []):
            # Moved: the place it left must be recounted too.
            before = _previous_value(conn, record_id, cursor, field)
            if before:
                bucket.add(uuid.UUID(before))
    for chunk in _chunks(sessions):
        meetings.update(
            conn.execute(select(col(S.meeting_id)).where(col(S.id).in_(chunk))).scalars()
        )
    return meetings


def _previous_value(conn: Connection, record_id: uuid.UUID, cursor: int, field: str) -> Any:
    data: Any = col(ChangeLogEntry.data)
    return conn.execute(
        select(data[field].as_string())
        .where(col(ChangeLogEntry.record_id) == record_id, col(ChangeLogEntry.cursor) < cursor)
        .order_by(col(ChangeLogEntry.cursor).desc())
        .limit(1)
    ).scalar()


def session_day(dialect: str) -> Any:
    """The UTC day a session started (stored in UTC on both backends)."""
    if dialect == "sqlite":
        return func.date(col(S.started_at))
    return cast(func.timezone("UTC", col(S.started_at)), Date)


def period_start(dialect: str, span: str, day: Any) -> Any:
    """The first day of the year or month of `day`, in SQL."""
    if dialect == "sqlite":
        return func.date(day, "start of year" if span == "y" else "start of month")
    return cast(func.date_trunc("year" if span == "y" else "month", day), Date)


def starts_on(span: str, day: date) -> date:
    return day.replace(month=1, day=1) if span == "y" else day.replace(day=1)


def _count_by_meeting(dialect: str) -> Any:
    """Counted interventions per live meeting x session-start day x participant x code,
    with the meeting's site, level and stage (consent is applied when reading)."""
    day = session_day(dialect)
    return (
        select(
            col(S.meeting_id),
            day,
            col(I.participant_id),
            col(I.code_key),
            col(Meeting.study_id),
            col(Meeting.site_id),
            col(Meeting.level),
            # As text: "" is no stage, and not a value of the enum.
            func.coalesce(type_coerce(col(Meeting.stage_of_change), String), literal("")),
            func.count(),
        )
        .join_from(I, S, col(S.id) == col(I.session_id))
        .join(Meeting, col(Meeting.id) == col(S.meeting_id))
        .where(
            col(I.deleted_at).is_(None),
            col(S.deleted_at).is_(None),
            col(Meeting.deleted_at).is_(None),
        )
        .group_by(
            col(S.meeting_id),
            day,
            col(I.participant_id),
            col(I.code_key),
            col(Meeting.study_id),
            col(Meeting.site_id),
            col(Meeting.level),
            col(Meeting.stage_of_change),
        )
    )


_L1_COLUMNS = (
    "meeting_id",
    "day",
    "participant_id",
    "code_key",
    "study_id",
    "site_id",
    "level",
    "stage",
)


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def as_date(value: Any) -> date:
    """A day as read back: SQLite returns the stored text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def recount(conn: Connection, meeting_ids: Iterable[uuid.UUID]) -> None:
    """Recount these meetings and move their difference into the cells and periods."""
    mc = MeetingContribution
    delta: Counter[tuple[CellKey, date]] = Counter()
    dialect = conn.dialect.name
    for chunk in _chunks(meeting_ids):
        old = conn.execute(
            select(
                col(mc.study_id),
                col(mc.participant_id),
                col(mc.site_id),
                col(mc.level),
                col(mc.stage),
                col(mc.code_key),
                col(mc.day),
                col(mc.n),
            ).where(col(mc.meeting_id).in_(chunk))
        ).all()
        for study, participant, site, level, stage, code, day, n in old:
            delta[((study, participant, site, level, stage, code), as_date(day))] -= n
        new = []
        for r in conn.execute(_count_by_meeting(dialect).where(col(S.meeting_id).in_(chunk))):
            row = dict(zip(_L1_COLUMNS, map(_plain, r[:8]), strict=True))
            row.update(day=as_date(row["day"]), n=int(r[8]))
            new.append(row)
            cell: CellKey = tuple(row[k] for k in _CELL_KEY)
            delta[(cell, row["day"])] += row["n"]
        conn.execute(delete(mc).where(col(mc.meeting_id).in_(chunk)))
        if new:
            conn.execute(insert(mc), new)
    cells: Counter[CellKey] = Counter()
    periods: dict[str, Counter[tuple[CellKey, date]]] = defaultdict(Counter)
    for (cell, day), n in delta.items():
        cells[cell] += n
        for span in SPANS:
            periods[span][(cell, starts_on(span, day))] += n
    _apply_cells(conn, {k: v for k, v in cells.items() if v})
    for span, counts in periods.items():
        _apply_periods(conn, span, {k: v for k, v in counts.items() if v})


_CELL_KEY = ("study_id", "participant_id", "site_id", "level", "stage", "code_key")


def _upsert(conn: Connection, table: Any, key: list[str], rows: list[dict[str, Any]]) -> None:
    upsert = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(table)
    stmt = upsert.on_conflict_do_update(index_elements=key, set_={"n": table.n + upsert.excluded.n})
    for i in range(0, len(rows), _CHUNK):
        conn.execute(stmt, rows[i : i + _CHUNK])


def _apply_cells(conn: Connection, delta: dict[CellKey, int]) -> None:
    """Add `delta` to the cells: one upsert, then cells that reached zero go."""
    c = ContributionCell
    rows = [{**dict(zip(_CELL_KEY, key, strict=True)), "n": n} for key, n in delta.items()]
    _upsert(conn, c, list(_CELL_KEY), rows)
    # Only a cell that lost counts can reach zero (new tags alone skip this).
    for chunk in _chunks({key[1] for key, n in delta.items() if n < 0}):
        _drop_zeros(conn, c, [col(c.participant_id).in_(chunk)])


def _apply_periods(conn: Connection, span: str, delta: dict[tuple[CellKey, date], int]) -> None:
    """As `_apply_cells`, for the year or month cells."""
    p = PeriodCell
    rows = [
        {**dict(zip(_CELL_KEY, key, strict=True)), "span": span, "starts_on": day, "n": n}
        for (key, day), n in delta.items()
    ]
    _upsert(conn, p, ["study_id", "span", "starts_on", *_CELL_KEY[1:]], rows)
    # Zeros are looked for by the key's prefix (study, span, period), not by a scan.
    by_period: dict[tuple[uuid.UUID, date], set[uuid.UUID]] = defaultdict(set)
    for (key, day), n in delta.items():
        if n < 0:
            by_period[(key[0], day)].add(key[1])
    for (study, day), participants in by_period.items():
        for chunk in _chunks(participants):
            where = [
                col(p.study_id) == study,
                col(p.span) == span,
                col(p.starts_on) == day,
                col(p.participant_id).in_(chunk),
            ]
            _drop_zeros(conn, p, where)


def _drop_zeros(conn: Connection, table: Any, where: list[Any]) -> None:
    negative = conn.execute(select(func.count()).where(*where, table.n < 0)).scalar_one()
    if negative:
        raise RuntimeError("dashboard counts went negative: rebuild them")
    conn.execute(delete(table).where(*where, table.n == 0))


def rebuild(conn: Connection) -> None:
    """Recount everything from the interventions."""
    dialect = conn.dialect.name
    tables = (ContributionCell, PeriodCell, MeetingContribution)
    if dialect == "postgresql":
        # Not DELETE: that leaves every old row dead until autovacuum comes round, and the
        # refreshes after a rebuild walked them (twice as slow at national scale).
        conn.execute(text("TRUNCATE " + ", ".join(t.__tablename__ for t in tables)))
    else:
        for table in tables:
            conn.execute(delete(table))
    conn.execute(
        insert(MeetingContribution).from_select([*_L1_COLUMNS, "n"], _count_by_meeting(dialect))
    )
    # Months from the meeting days, years from the months, cells from the years: each
    # step reads fewer rows than the one before.
    mc, p = MeetingContribution, PeriodCell
    _sum_into(conn, "m", period_start(dialect, "m", col(mc.day)), mc, [])
    _sum_into(conn, "y", period_start(dialect, "y", col(p.starts_on)), p, [col(p.span) == "m"])
    _sum_into(conn, None, None, p, [col(p.span) == "y"])
    # Fresh statistics, or PostgreSQL plans a period range as one row (nested loops).
    for table in tables:
        conn.execute(text(f"ANALYZE {table.__tablename__}"))


def _sum_into(conn: Connection, span: str | None, start: Any, source: Any, where: Any) -> None:
    """Sum `source` rows per cell key into the cells (span None), or per period `start`
    into that span's rows of `PeriodCell`."""
    group = [getattr(source, k) for k in _CELL_KEY]
    target: Any
    if span is None:
        target, columns, head = ContributionCell, list(_CELL_KEY), []
    else:
        target, columns, head = PeriodCell, ["span", "starts_on", *_CELL_KEY], [literal(span)]
        group = [start, *group]
    query = select(*head, *group, func.sum(source.n)).where(*where).group_by(*group)
    conn.execute(insert(target).from_select([*columns, "n"], query))


def _chunks(ids: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted(ids, key=str)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
