"""Keeps the contribution counts (`models.py`) in step with the data, from the change log.

Why: a whole-study matrix over a national study scans a million interventions (0.3-2 s on
SQLite and PostgreSQL here); the counts make it a read of a few thousand cells.

How: every change to a record has a change-log row with a commit-ordered cursor. Before the
counts are read, `fresh()` brings them up to the current cursor: the meetings touched by
new change-log rows (through an intervention, a session or the meeting itself) are
recounted from the interventions (never incremented blindly, so a recount heals), and the
difference between their old and new per-meeting counts is applied to the cells. A new
server epoch, a missing state or a long backlog rebuilds everything. The write path pays
nothing; the first read after a change pays for the meetings it touched.

Refreshes are serialised (SQLite's writer lock, a PostgreSQL advisory lock), run in their
own short transaction, and the matrix is then read in that same session, so it sees the
counts it just refreshed. Consent and deleted sites are applied when reading.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    String,
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

from fieldscope.dashboard.models import ContributionCell, MeetingContribution, SummaryState
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


def _count_by_meeting() -> Any:
    """Counted interventions per live meeting x participant x code, with the meeting's
    site, level and stage (consent is applied when reading)."""
    return (
        select(
            col(S.meeting_id),
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
            col(I.participant_id),
            col(I.code_key),
            col(Meeting.study_id),
            col(Meeting.site_id),
            col(Meeting.level),
            col(Meeting.stage_of_change),
        )
    )


_L1_COLUMNS = ("meeting_id", "participant_id", "code_key", "study_id", "site_id", "level", "stage")


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def recount(conn: Connection, meeting_ids: Iterable[uuid.UUID]) -> None:
    """Recount these meetings and move their difference into the cells."""
    delta: Counter[CellKey] = Counter()
    for chunk in _chunks(meeting_ids):
        old = conn.execute(
            select(
                col(MeetingContribution.study_id),
                col(MeetingContribution.participant_id),
                col(MeetingContribution.site_id),
                col(MeetingContribution.level),
                col(MeetingContribution.stage),
                col(MeetingContribution.code_key),
                col(MeetingContribution.n),
            ).where(col(MeetingContribution.meeting_id).in_(chunk))
        ).all()
        for study, participant, site, level, stage, code, n in old:
            delta[(study, participant, site, level, stage, code)] -= n
        new = [
            dict(zip((*_L1_COLUMNS, "n"), (*map(_plain, r[:7]), int(r[7])), strict=True))
            for r in conn.execute(_count_by_meeting().where(col(S.meeting_id).in_(chunk)))
        ]
        for r in new:
            key = (r["study_id"], r["participant_id"], r["site_id"], r["level"], r["stage"])
            delta[(*key, r["code_key"])] += r["n"]
        conn.execute(
            delete(MeetingContribution).where(col(MeetingContribution.meeting_id).in_(chunk))
        )
        if new:
            conn.execute(insert(MeetingContribution), new)
    _apply(conn, {k: v for k, v in delta.items() if v})


_CELL_KEY = ("study_id", "participant_id", "site_id", "level", "stage", "code_key")


def _apply(conn: Connection, delta: dict[CellKey, int]) -> None:
    """Add `delta` to the cells: one upsert, then cells that reached zero go."""
    c = ContributionCell
    rows = [{**dict(zip(_CELL_KEY, key, strict=True)), "n": n} for key, n in delta.items()]
    participants = {key[1] for key in delta}
    upsert = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(c)
    for i in range(0, len(rows), _CHUNK):
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=list(_CELL_KEY), set_={"n": c.n + upsert.excluded.n}
            ),
            rows[i : i + _CHUNK],
        )
    for chunk in _chunks(participants):
        negative = conn.execute(
            select(func.count()).where(col(c.participant_id).in_(chunk), col(c.n) < 0)
        ).scalar_one()
        if negative:
            raise RuntimeError("dashboard counts went negative: rebuild them")
        conn.execute(delete(c).where(col(c.participant_id).in_(chunk), col(c.n) == 0))


def rebuild(conn: Connection) -> None:
    """Recount everything from the interventions."""
    conn.execute(delete(ContributionCell))
    conn.execute(delete(MeetingContribution))
    conn.execute(insert(MeetingContribution).from_select([*_L1_COLUMNS, "n"], _count_by_meeting()))
    mc = MeetingContribution
    group = [
        col(mc.study_id),
        col(mc.participant_id),
        col(mc.site_id),
        col(mc.level),
        col(mc.stage),
        col(mc.code_key),
    ]
    conn.execute(
        insert(ContributionCell).from_select(
            ["study_id", "participant_id", "site_id", "level", "stage", "code_key", "n"],
            select(*group, func.sum(col(mc.n))).group_by(*group),
        )
    )
    if conn.dialect.name == "sqlite":
        conn.execute(text("ANALYZE dashboard_contribution_cells"))


def _chunks(ids: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted(ids, key=str)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
