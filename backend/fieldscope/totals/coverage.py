"""Per-meeting coverage, kept in step with every ORM write to meetings and sessions.

Why derived: at national scale (20,000 meetings, 25,000 sessions) aggregating the raw
sessions and computing interval unions on every request costs hundreds of milliseconds;
the totals must come back in tens. So each meeting's observed time (the union of its
sessions' observed intervals) is computed when the meeting or one of its sessions is
written, in the same transaction, by an `after_flush` hook (`meeting_coverage`), and the
site x level cells it belongs to are re-summed from those rows (`site_level_coverage`). The
write path pays a few small queries per touched meeting; the totals read at most
sites x 3 rows. Cells are re-summed, never incremented, so they cannot drift.

Concurrency: on PostgreSQL the hook locks the meeting rows (FOR NO KEY UPDATE, which does
not block foreign-key checks) before reading their sessions, and the cell rows before
re-summing them, so two fieldworkers syncing sessions of the same meeting at once queue,
and the second recomputes with the first's work visible (READ COMMITTED takes a fresh
snapshot per statement). Today ORM writers also queue on the change-cursor row; these
locks keep coverage right without relying on that. SQLite serialises writers anyway.

Writes that bypass the ORM flush (Core bulk inserts in benchmark loaders, hand-made SQL)
must call `rebuild()` afterwards (`fieldscope db rebuild-totals`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import case, delete, event, func, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import col

from fieldscope.changes import keep_in_unit_of_work
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import ObservationSession
from fieldscope.totals.models import MeetingCoverage, SiteLevelCoverage

Interval = tuple[float, float]
_CHUNK = 500


def _instant(value: Any) -> float | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def observed_intervals(
    started_at: datetime, ended_at: datetime, pauses: list[dict[str, Any]]
) -> list[Interval]:
    """The session's span minus its pauses, as (start, end) POSIX seconds.

    Pauses are clipped to the span; an open pause runs to the end of the session;
    unreadable pauses are ignored (validation rejects all of these on write anyway).
    """
    start, end = started_at.timestamp(), ended_at.timestamp()
    if end <= start:
        return []
    gaps: list[Interval] = []
    for pause in pauses:
        p_start = _instant(pause.get("start")) if isinstance(pause, dict) else None
        if p_start is None:
            continue
        p_end = _instant(pause.get("end"))
        gaps.append((max(p_start, start), min(end if p_end is None else p_end, end)))
    out: list[Interval] = []
    cursor = start
    for g_start, g_end in sorted(g for g in gaps if g[1] > g[0]):
        if g_start > cursor:
            out.append((cursor, g_start))
        cursor = max(cursor, g_end)
    if cursor < end:
        out.append((cursor, end))
    return out


def union_seconds(intervals: Iterable[Interval]) -> float:
    """Length of the union of intervals (overlaps counted once)."""
    total = 0.0
    current: Interval | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (start, end)
        elif end > current[1]:
            current = (current[0], end)
    if current is not None:
        total += current[1] - current[0]
    return total


def meeting_figures(sessions: list[Any]) -> dict[str, Any]:
    """Coverage of one meeting from its non-deleted sessions (rows or objects with
    started_at, ended_at, pauses, duration_seconds)."""
    ended = [s for s in sessions if s.ended_at is not None]
    spans = [observed_intervals(s.started_at, s.ended_at, list(s.pauses or [])) for s in ended]
    durations = [
        s.duration_seconds if s.duration_seconds is not None else union_seconds(span)
        for s, span in zip(ended, spans, strict=True)
    ]
    # One observer: observed time is exactly the stored, derived duration.
    one = len(ended) == 1
    observed = durations[0] if one else union_seconds(chain.from_iterable(spans))
    return {
        "sessions": len(ended),
        "open_sessions": len(sessions) - len(ended),
        "observed_seconds": float(observed),
        "observer_seconds": float(sum(durations)),
    }


Cell = tuple[uuid.UUID, str]  # (site_id, level)


def refresh(conn: Connection, meeting_ids: Iterable[uuid.UUID]) -> None:
    """Recompute the coverage rows of these meetings, then of their site x level cells."""
    ids = sorted(set(meeting_ids))
    cells: dict[Cell, uuid.UUID] = {}  # -> study_id
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        meetings = conn.execute(
            select(
                col(Meeting.id),
                col(Meeting.study_id),
                col(Meeting.site_id),
                col(Meeting.level),
                col(Meeting.deleted_at),
            )
            .where(col(Meeting.id).in_(chunk))
            .order_by(col(Meeting.id))
            .with_for_update(key_share=True)
        ).all()
        by_meeting: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in conn.execute(
            select(
                col(ObservationSession.meeting_id),
                col(ObservationSession.started_at),
                col(ObservationSession.ended_at),
                col(ObservationSession.pauses),
                col(ObservationSession.duration_seconds),
            ).where(
                col(ObservationSession.meeting_id).in_(chunk),
                col(ObservationSession.deleted_at).is_(None),
            )
        ):
            by_meeting[row.meeting_id].append(row)
        # The cells these meetings leave (a meeting moved, deleted, lost its sessions)...
        for site_id, level, study_id in conn.execute(
            select(
                col(MeetingCoverage.site_id),
                col(MeetingCoverage.level),
                col(MeetingCoverage.study_id),
            ).where(col(MeetingCoverage.meeting_id).in_(chunk))
        ):
            cells[(site_id, _name(level))] = study_id
        conn.execute(delete(MeetingCoverage).where(col(MeetingCoverage.meeting_id).in_(chunk)))
        rows = [
            {
                "meeting_id": m.id,
                "study_id": m.study_id,
                "site_id": m.site_id,
                "level": m.level,
                **meeting_figures(by_meeting[m.id]),
            }
            for m in meetings
            if m.deleted_at is None and by_meeting.get(m.id)
        ]
        if rows:
            conn.execute(insert(MeetingCoverage), rows)
        # ...and the cells they join.
        for m in meetings:
            cells[(m.site_id, _name(m.level))] = m.study_id
    if cells:
        _refresh_cells(conn, cells)


def _name(level: Any) -> str:
    return str(getattr(level, "value", level))


def _refresh_cells(conn: Connection, cells: dict[Cell, uuid.UUID]) -> None:
    """Re-sum the touched cells from `meeting_coverage` (exact, never incremented)."""
    on_pg = conn.dialect.name == "postgresql"
    upsert = pg_insert if on_pg else sqlite_insert
    keys = sorted(cells)
    zero = [{"site_id": s, "level": lv, "study_id": cells[(s, lv)]} for s, lv in keys]
    conn.execute(upsert(SiteLevelCoverage).values(zero).on_conflict_do_nothing())
    sites = sorted({s for s, _ in keys})
    studies = sorted(set(cells.values()))
    # Lock the cells' rows first, so concurrent writers re-sum one after the other.
    conn.execute(
        select(col(SiteLevelCoverage.site_id))
        .where(col(SiteLevelCoverage.site_id).in_(sites))
        .order_by(col(SiteLevelCoverage.site_id), col(SiteLevelCoverage.level))
        .with_for_update()
    ).all()
    n = col(MeetingCoverage.sessions)
    sums = {
        (site_id, _name(level)): rest
        for site_id, level, *rest in conn.execute(
            select(
                col(MeetingCoverage.site_id),
                col(MeetingCoverage.level),
                func.sum(case((n > 0, 1), else_=0)),
                func.sum(n),
                func.sum(case((n > 1, 1), else_=0)),
                func.sum(col(MeetingCoverage.open_sessions)),
                func.sum(col(MeetingCoverage.observed_seconds)),
                func.sum(col(MeetingCoverage.observer_seconds)),
            )
            .where(
                col(MeetingCoverage.study_id).in_(studies),
                col(MeetingCoverage.site_id).in_(sites),
            )
            .group_by(col(MeetingCoverage.site_id), col(MeetingCoverage.level))
        )
    }
    for site_id, level in keys:
        meetings, sessions, co, open_, seconds, observer = sums.get(
            (site_id, level), (0, 0, 0, 0, 0.0, 0.0)
        )
        conn.execute(
            update(SiteLevelCoverage)
            .where(
                col(SiteLevelCoverage.site_id) == site_id,
                col(SiteLevelCoverage.level) == level,
            )
            .values(
                meetings=int(meetings or 0),
                sessions=int(sessions or 0),
                co_observed_meetings=int(co or 0),
                open_sessions=int(open_ or 0),
                observed_seconds=float(seconds or 0),
                observer_seconds=float(observer or 0),
            )
        )


def rebuild(conn: Connection, study_id: uuid.UUID | None = None) -> int:
    """Recompute the coverage of every meeting (of one study) and every cell; returns how
    many meetings. For data written outside the ORM (bulk loaders, hand-made SQL)."""
    meetings = select(col(Meeting.id))
    cells = delete(SiteLevelCoverage)
    if study_id is not None:
        meetings = meetings.where(col(Meeting.study_id) == study_id)
        cells = cells.where(col(SiteLevelCoverage.study_id) == study_id)
    ids = list(conn.execute(meetings).scalars())
    conn.execute(cells)
    refresh(conn, ids)
    return len(ids)


def _touched(session: OrmSession) -> set[uuid.UUID]:
    ids: set[uuid.UUID] = set()
    for obj in chain(session.new, session.dirty):
        if isinstance(obj, ObservationSession):
            ids.add(obj.meeting_id)
            # A session moved to another meeting leaves the old one too.
            ids.update(v for v in inspect(obj).attrs.meeting_id.history.deleted if v)
        elif isinstance(obj, Meeting):
            ids.add(obj.id)
    return ids


def _after_flush(session: OrmSession, _ctx: UOWTransaction) -> None:
    # new/dirty still hold the pre-flush state here, the rows are already written.
    ids = _touched(session)
    if ids:
        refresh(session.connection(), ids)


def install() -> None:
    # New meetings and sessions must reach `_after_flush` through the unit of work.
    keep_in_unit_of_work(Meeting, ObservationSession)
    if not event.contains(OrmSession, "after_flush", _after_flush):
        event.listen(OrmSession, "after_flush", _after_flush)


install()
