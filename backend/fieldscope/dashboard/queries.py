"""Read queries behind the dashboard, in SQLAlchemy Core: aggregates stay in the database.

Shared rules: deleted records never count; a site, meeting or session that is deleted takes
its interventions with it; participants whose consent is declined or withdrawn (or who are
deleted) are left out of every contribution count and of agreement.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    distinct,
    func,
    or_,
    select,
    type_coerce,
)
from sqlmodel import Session, col

from fieldscope.auth.models import Membership, User
from fieldscope.codebook.models import Code, CodebookVersion, CodeGroup
from fieldscope.common.days import on_or_after, on_or_before
from fieldscope.common.sql import id_text
from fieldscope.dashboard.models import ContributionCell
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import Intervention as I
from fieldscope.observations.models import ObservationSession as S
from fieldscope.participants.models import Consent, Participant
from fieldscope.studies.models import Site
from fieldscope.sync.models import AppliedMutation, SyncClient, SyncConflict
from fieldscope.totals.models import MeetingCoverage


@dataclass(frozen=True)
class Scope:
    """Filters shared by matrices and agreement. Dates are UTC days of session starts."""

    study_id: uuid.UUID
    site_id: uuid.UUID | None = None
    level: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    meeting_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SiteRow:
    id: uuid.UUID
    code: str
    name: str


def _str(value: Any) -> str:
    """An enum column's value as plain text."""
    return str(getattr(value, "value", value))


def live_sites(session: Session, study_id: uuid.UUID) -> list[SiteRow]:
    stmt = (
        select(col(Site.id), col(Site.code), col(Site.name))
        .where(col(Site.study_id) == study_id, col(Site.deleted_at).is_(None))
        .order_by(col(Site.code))
    )
    return [SiteRow(r[0], r[1], r[2]) for r in session.execute(stmt)]


def excluded_participants(study_id: uuid.UUID) -> Select[uuid.UUID]:
    """Participants whose words must not be counted: no consent, or deleted."""
    return select(col(Participant.id)).where(
        col(Participant.study_id) == study_id,
        or_(
            col(Participant.consent) != Consent.consented, col(Participant.deleted_at).is_not(None)
        ),
    )


def count_excluded(session: Session, scope: Scope) -> int:
    stmt = select(func.count()).where(
        col(Participant.study_id) == scope.study_id,
        col(Participant.deleted_at).is_(None),
        col(Participant.consent) != Consent.consented,
    )
    if scope.site_id:
        stmt = stmt.where(col(Participant.site_id) == scope.site_id)
    return int(session.execute(stmt).scalar_one())


def session_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """Live sessions of live meetings of live sites, within the scope's filters.

    Meetings are tested with IN / NOT IN subqueries rather than a join: deleted meetings
    are few, and a set probe per session is much cheaper than a row lookup on SQLite."""
    sid = scope.study_id
    live_sites = select(col(Site.id)).where(
        col(Site.study_id) == sid, col(Site.deleted_at).is_(None)
    )
    dead_meetings = select(col(Meeting.id)).where(
        col(Meeting.study_id) == sid,
        or_(col(Meeting.deleted_at).is_not(None), col(Meeting.site_id).not_in(live_sites)),
    )
    conds: list[ColumnElement[bool]] = [
        col(S.study_id) == sid,
        col(S.deleted_at).is_(None),
        col(S.meeting_id).not_in(dead_meetings),
    ]
    if scope.site_id or scope.level:
        # The meeting's site and level decide, as in the totals.
        chosen = select(col(Meeting.id)).where(col(Meeting.study_id) == sid)
        if scope.site_id:
            chosen = chosen.where(col(Meeting.site_id) == scope.site_id)
        if scope.level:
            chosen = chosen.where(col(Meeting.level) == scope.level)
        conds.append(col(S.meeting_id).in_(chosen))
    if scope.meeting_id:
        conds.append(col(S.meeting_id) == scope.meeting_id)
    if scope.date_from:
        conds.append(on_or_after(col(S.started_at), scope.date_from))
    if scope.date_to:
        conds.append(on_or_before(col(S.started_at), scope.date_to))
    return conds


def sessions_in_scope(scope: Scope) -> Select[uuid.UUID]:
    return select(col(S.id)).where(*session_conditions(scope))


def _tag_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """Counted interventions in scope; the session filter carries study, site, level and
    dates, so these columns are all in `ix_interventions_session_code` (index-only)."""
    return [
        col(I.session_id).in_(sessions_in_scope(scope)),
        col(I.deleted_at).is_(None),
        col(I.participant_id).not_in(excluded_participants(scope.study_id)),
    ]


def contribution_counts(session: Session, scope: Scope, by: str) -> list[tuple[Any, str, int]]:
    """(row key, code_key, count) of the interventions in scope. Row keys: participant id,
    site id (as text), meeting level or stage of change (None when the meeting has none)."""
    if by == "participant":
        key: Any = col(I.participant_id)
        stmt = (
            select(id_text(key), col(I.code_key), func.count())
            .where(*_tag_conditions(scope))
            .group_by(key, col(I.code_key))
        )
    else:
        # Counted per session first, so the join to sessions and meetings runs on a few
        # rows per session rather than one per intervention.
        per_session = (
            select(
                col(I.session_id).label("sid"),
                col(I.code_key).label("code"),
                func.count().label("n"),
            )
            .where(*_tag_conditions(scope))
            .group_by(col(I.session_id), col(I.code_key))
            .subquery()
        )
        key = {
            "site": col(Meeting.site_id),
            "level": col(Meeting.level),
            "stage": col(Meeting.stage_of_change),
        }[by]
        shown = id_text(key) if by == "site" else key
        stmt = (
            select(shown, per_session.c.code, func.sum(per_session.c.n))
            .join_from(per_session, S, col(S.id) == per_session.c.sid)
            .join(Meeting, col(Meeting.id) == col(S.meeting_id))
            .group_by(key, per_session.c.code)
        )
    out: list[tuple[Any, str, int]] = []
    for row_key, code, n in session.execute(stmt):
        if by in ("level", "stage") and row_key is not None:
            row_key = _str(row_key)
        out.append((row_key, code, int(n)))
    return out


def cell_counts(session: Session, scope: Scope, by: str) -> list[tuple[Any, str, int]]:
    """As `contribution_counts`, from the derived cells (`summary.py`): the same numbers
    for scopes without dates, which cells cannot split."""
    assert scope.date_from is None and scope.date_to is None
    c = ContributionCell
    key: Any = {
        "participant": col(c.participant_id),
        "site": col(c.site_id),
        "level": col(c.level),
        "stage": col(c.stage),
    }[by]
    live_sites = select(col(Site.id)).where(
        col(Site.study_id) == scope.study_id, col(Site.deleted_at).is_(None)
    )
    shown = id_text(key) if by in ("participant", "site") else key
    stmt = select(shown, col(c.code_key), func.sum(col(c.n))).where(
        col(c.study_id) == scope.study_id,
        col(c.site_id).in_(live_sites),
        col(c.participant_id).not_in(excluded_participants(scope.study_id)),
    )
    if scope.site_id:
        stmt = stmt.where(col(c.site_id) == scope.site_id)
    if scope.level:
        stmt = stmt.where(col(c.level) == scope.level)
    out: list[tuple[Any, str, int]] = []
    for row_key, code, n in session.execute(stmt.group_by(key, col(c.code_key))):
        if by == "stage" and row_key == "":
            row_key = None
        out.append((row_key, code, int(n)))
    return out


def co_observed_meetings(session: Session, scope: Scope) -> int:
    """Meetings in scope with two or more ended sessions: the totals' co-observed meetings
    (read from their per-meeting coverage unless the scope has dates)."""
    if scope.date_from is None and scope.date_to is None:
        c = MeetingCoverage
        live_sites = select(col(Site.id)).where(
            col(Site.study_id) == scope.study_id, col(Site.deleted_at).is_(None)
        )
        stmt = select(func.count()).where(
            col(c.study_id) == scope.study_id, col(c.sessions) > 1, col(c.site_id).in_(live_sites)
        )
        if scope.site_id:
            stmt = stmt.where(col(c.site_id) == scope.site_id)
        if scope.level:
            stmt = stmt.where(col(c.level) == scope.level)
        return int(session.execute(stmt).scalar_one())
    per_meeting = (
        select(col(S.meeting_id))
        .where(*session_conditions(scope), col(S.ended_at).is_not(None))
        .group_by(col(S.meeting_id))
        .having(func.count() > 1)
        .subquery()
    )
    return int(session.execute(select(func.count()).select_from(per_meeting)).scalar_one())


@dataclass(frozen=True)
class CodeColumn:
    key: str
    label: str
    colour: str
    sort_order: int


def contribution_codes(session: Session, study_id: uuid.UUID) -> list[CodeColumn]:
    """Top-level contribution codes of every codebook version; the newest version's label."""
    stmt = (
        select(col(Code.key), col(Code.label), col(Code.colour), col(Code.sort_order))
        .join(CodebookVersion, col(CodebookVersion.id) == col(Code.codebook_version_id))
        .where(
            col(Code.study_id) == study_id,
            col(Code.deleted_at).is_(None),
            col(Code.parent_key).is_(None),
            col(Code.group) == CodeGroup.contribution,
        )
        .order_by(col(CodebookVersion.number))
    )
    out: dict[str, CodeColumn] = {}
    for key, label, colour, order in session.execute(stmt):
        out[key] = CodeColumn(key, label, colour, order)  # later versions overwrite
    return sorted(out.values(), key=lambda c: (c.sort_order, c.key))


@dataclass(frozen=True)
class ParticipantInfo:
    key: str  # the id as text, as matrix rows carry it
    code: str
    site_key: str
    level: str | None
    is_clinical_leader: bool
    counted: bool  # consented and not deleted


def participants(session: Session, study_id: uuid.UUID) -> list[ParticipantInfo]:
    # Ids as text and enums as their values, straight from the database (see `id_text`).
    stmt = select(
        id_text(col(Participant.id)),
        col(Participant.code),
        id_text(col(Participant.site_id)),
        type_coerce(col(Participant.level), String),
        col(Participant.is_clinical_leader),
        type_coerce(col(Participant.consent), String),
        col(Participant.deleted_at).is_(None),
    ).where(col(Participant.study_id) == study_id)
    return [
        ParticipantInfo(
            key=key,
            code=code,
            site_key=site_key,
            level=level,
            is_clinical_leader=bool(leader),
            counted=consent == Consent.consented.value and bool(live),
        )
        for key, code, site_key, level, leader, consent, live in session.execute(stmt)
    ]


def participant_codes(session: Session, study_id: uuid.UUID) -> dict[uuid.UUID, str]:
    stmt = select(col(Participant.id), col(Participant.code)).where(
        col(Participant.study_id) == study_id
    )
    return {pid: code for pid, code in session.execute(stmt)}


def participant_tally(session: Session, study_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """(site_id, level, is_clinical_leader, without consent, pending_review, count)."""
    no_consent = col(Participant.consent) != Consent.consented
    stmt = (
        select(
            col(Participant.site_id),
            col(Participant.level),
            col(Participant.is_clinical_leader),
            no_consent,
            col(Participant.pending_review),
            func.count(),
        )
        .where(col(Participant.study_id) == study_id, col(Participant.deleted_at).is_(None))
        .group_by(
            col(Participant.site_id),
            col(Participant.level),
            col(Participant.is_clinical_leader),
            no_consent,
            col(Participant.pending_review),
        )
    )
    return [tuple(r) for r in session.execute(stmt)]


# --- progress ------------------------------------------------------------------------


def _ended_live_sessions(study_id: uuid.UUID) -> list[ColumnElement[bool]]:
    return [
        *session_conditions(Scope(study_id)),
        col(S.ended_at).is_not(None),
    ]


def _monday(session: Session, moment: Any) -> ColumnElement[Any]:
    """The Monday (UTC) of the ISO week of `moment`, as a date."""
    if session.get_bind().dialect.name == "sqlite":
        # Forward to the next Sunday (or stay on one), then back six days.
        return func.date(moment, "weekday 0", "-6 days")
    return func.date(func.date_trunc("week", func.timezone("UTC", moment)))


def meetings_per_week(
    session: Session, study_id: uuid.UUID
) -> list[tuple[uuid.UUID, date, int, float]]:
    """(site_id, Monday, meetings, observed seconds): each meeting with an ended session
    in the week its first ended session started; its seconds are the totals' coverage."""
    first = (
        select(col(S.meeting_id).label("mid"), func.min(col(S.started_at)).label("first"))
        .where(
            col(S.study_id) == study_id,
            col(S.deleted_at).is_(None),
            col(S.ended_at).is_not(None),
        )
        .group_by(col(S.meeting_id))
        .subquery()
    )
    monday = _monday(session, first.c.first)
    stmt = (
        select(
            col(MeetingCoverage.site_id),
            monday,
            func.count(),
            func.sum(col(MeetingCoverage.observed_seconds)),
        )
        .join(first, first.c.mid == col(MeetingCoverage.meeting_id))
        .where(col(MeetingCoverage.study_id) == study_id, col(MeetingCoverage.sessions) > 0)
        .group_by(col(MeetingCoverage.site_id), monday)
    )
    out = []
    for site_id, day, meetings, seconds in session.execute(stmt):
        day = date.fromisoformat(day) if isinstance(day, str) else day
        out.append((site_id, day, int(meetings), float(seconds or 0)))
    return out


def fieldworker_rows(session: Session, study_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """Per observer: (user_id, name, ended, open, meetings, co-observed meetings, seconds,
    ended sessions without a stored duration, first start, last start)."""
    observers = (
        select(
            col(S.meeting_id).label("mid"),
            func.count(distinct(col(S.observer_id))).label("observers"),
        )
        .where(*_ended_live_sessions(study_id))
        .group_by(col(S.meeting_id))
        .subquery()
    )
    ended = col(S.ended_at).is_not(None)
    stmt = (
        select(
            col(S.observer_id),
            col(User.display_name),
            func.sum(case((ended, 1), else_=0)),
            func.sum(case((ended, 0), else_=1)),
            func.count(distinct(case((ended, col(S.meeting_id))))),
            func.count(distinct(case((ended & (observers.c.observers > 1), col(S.meeting_id))))),
            func.coalesce(func.sum(case((ended, col(S.duration_seconds)))), 0.0),
            func.sum(case((ended & col(S.duration_seconds).is_(None), 1), else_=0)),
            func.min(col(S.started_at)),
            func.max(col(S.started_at)),
        )
        .join(User, col(User.id) == col(S.observer_id))
        .outerjoin(observers, observers.c.mid == col(S.meeting_id))
        .where(*session_conditions(Scope(study_id)))
        .group_by(col(S.observer_id), col(User.display_name))
        .order_by(col(User.display_name), col(S.observer_id))
    )
    return [tuple(r) for r in session.execute(stmt)]


def unknown_duration_sessions(session: Session, study_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """(observer_id, started_at, ended_at, pauses) of ended sessions without a duration."""
    stmt = select(col(S.observer_id), col(S.started_at), col(S.ended_at), col(S.pauses)).where(
        *_ended_live_sessions(study_id), col(S.duration_seconds).is_(None)
    )
    return [tuple(r) for r in session.execute(stmt)]


# --- data quality --------------------------------------------------------------------

SESSION_ISSUE_COLUMNS: list[Any] = [
    col(S.id),
    col(S.meeting_id),
    col(Meeting.title),
    col(Site.code),
    col(Meeting.level),
    col(S.observer_id),
    col(User.display_name),
    col(S.started_at),
    col(S.ended_at),
    col(S.duration_seconds),
]


def _session_issues(study_id: uuid.UUID) -> Select[Any]:
    return (
        select(*SESSION_ISSUE_COLUMNS)
        .join(Meeting, col(Meeting.id) == col(S.meeting_id))
        .join(Site, col(Site.id) == col(Meeting.site_id))
        .join(User, col(User.id) == col(S.observer_id))
        .where(*session_conditions(Scope(study_id)))
    )


def _counted(session: Session, stmt: Select[Any], limit: int) -> tuple[int, list[tuple[Any, ...]]]:
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = [tuple(r) for r in session.execute(stmt.limit(limit))]
    return int(total.scalar_one()), rows


def open_sessions(
    session: Session, study_id: uuid.UUID, before: datetime, limit: int
) -> tuple[int, list[tuple[Any, ...]]]:
    stmt = (
        _session_issues(study_id)
        .where(col(S.ended_at).is_(None), col(S.started_at) < before)
        .order_by(col(S.started_at), col(S.id))
    )
    return _counted(session, stmt, limit)


def long_sessions(
    session: Session, study_id: uuid.UUID, max_seconds: float, limit: int
) -> tuple[int, list[tuple[Any, ...]]]:
    stmt = (
        _session_issues(study_id)
        .where(col(S.duration_seconds) > max_seconds)
        .order_by(col(S.duration_seconds).desc(), col(S.id))
    )
    return _counted(session, stmt, limit)


def overlapping_sessions(session: Session, study_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """(observer_id, first id, first end, second id, second start, second end) for every two
    ended sessions of one observer that overlap (touching end to start does not).

    In SQL, so 25,000 sessions never come back to Python: a window over each observer's
    sessions in start order flags the ones starting before an earlier one ended; only
    those are then paired with the earlier sessions they overlap."""
    live = (
        select(
            col(S.id).label("id"),
            col(S.observer_id).label("observer_id"),
            col(S.started_at).label("started_at"),
            col(S.ended_at).label("ended_at"),
        )
        .where(*_ended_live_sessions(study_id))
        .cte("live")
    )
    reach = (
        func.max(live.c.ended_at)
        .over(
            partition_by=live.c.observer_id,
            order_by=(live.c.started_at, live.c.id),
            rows=(None, -1),
        )
        .label("reach")
    )
    windowed = select(live, reach).subquery("windowed")
    late = (
        select(windowed)
        .where(
            windowed.c.reach > windowed.c.started_at, windowed.c.ended_at > windowed.c.started_at
        )
        .subquery("late")
    )
    early = live.alias("early")
    stmt = select(
        late.c.observer_id,
        early.c.id,
        early.c.ended_at,
        late.c.id,
        late.c.started_at,
        late.c.ended_at,
    ).join(
        early,
        and_(
            early.c.observer_id == late.c.observer_id,
            or_(
                early.c.started_at < late.c.started_at,
                and_(early.c.started_at == late.c.started_at, early.c.id < late.c.id),
            ),
            early.c.ended_at > late.c.started_at,
        ),
    )
    return [tuple(r) for r in session.execute(stmt)]


def session_issue_rows(
    session: Session, study_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[Any, ...]]:
    if not ids:
        return {}
    stmt = _session_issues(study_id).where(col(S.id).in_(ids))
    return {r[0]: tuple(r) for r in session.execute(stmt)}


def study_members(study_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(col(Membership.user_id)).where(col(Membership.study_id) == study_id)


def _epoch_seconds(session: Session, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite stores UTC text; julianday counts days from noon, 24 November 4714 BC.
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column)


def devices(session: Session, study_id: uuid.UUID, recent: int = 500) -> list[tuple[Any, ...]]:
    """Devices of the study's members: (client_id, user_id, name, user_agent, last_push_at,
    last_pull_at, last_clock_skew_seconds, max device-ahead seconds over `recent` mutations)."""
    ahead = (
        select(
            col(AppliedMutation.client_id).label("cid"),
            func.max(
                _epoch_seconds(session, col(AppliedMutation.device_time))
                - _epoch_seconds(session, col(AppliedMutation.received_at))
            ).label("ahead"),
        )
        .join(SyncClient, col(SyncClient.client_id) == col(AppliedMutation.client_id))
        .where(
            col(SyncClient.user_id).in_(study_members(study_id)),
            col(AppliedMutation.client_seq) > col(SyncClient.last_seq) - recent,
            col(AppliedMutation.device_time).is_not(None),
        )
        .group_by(col(AppliedMutation.client_id))
        .subquery()
    )
    stmt = (
        select(
            col(SyncClient.client_id),
            col(SyncClient.user_id),
            col(User.display_name),
            col(SyncClient.user_agent),
            col(SyncClient.last_push_at),
            col(SyncClient.last_pull_at),
            col(SyncClient.last_clock_skew_seconds),
            ahead.c.ahead,
        )
        .join(User, col(User.id) == col(SyncClient.user_id))
        .outerjoin(ahead, ahead.c.cid == col(SyncClient.client_id))
        .where(col(SyncClient.user_id).in_(study_members(study_id)))
    )
    return [tuple(r) for r in session.execute(stmt)]


def unresolved_conflicts(
    session: Session, study_id: uuid.UUID, limit: int
) -> tuple[int, list[tuple[Any, ...]]]:
    winner = select(col(User.display_name)).where(
        col(User.id) == col(SyncConflict.winning_author_id)
    )
    loser = select(col(User.display_name)).where(col(User.id) == col(SyncConflict.losing_author_id))
    stmt = (
        select(
            col(SyncConflict.id),
            col(SyncConflict.entity),
            col(SyncConflict.record_id),
            col(SyncConflict.field),
            col(SyncConflict.created_at),
            winner.scalar_subquery(),
            loser.scalar_subquery(),
        )
        .where(col(SyncConflict.study_id) == study_id, col(SyncConflict.resolved_at).is_(None))
        .order_by(col(SyncConflict.created_at), col(SyncConflict.id))
    )
    return _counted(session, stmt, limit)


def pending_participants(
    session: Session, study_id: uuid.UUID, limit: int
) -> tuple[int, list[tuple[Any, ...]]]:
    columns: list[Any] = [
        col(Participant.id),
        col(Participant.code),
        col(Site.code),
        col(Participant.level),
        col(Participant.role_title),
        col(Participant.created_at),
    ]
    stmt = (
        select(*columns)
        .join(Site, col(Site.id) == col(Participant.site_id))
        .where(
            col(Participant.study_id) == study_id,
            col(Participant.deleted_at).is_(None),
            col(Participant.pending_review).is_(True),
        )
        .order_by(col(Participant.created_at), col(Participant.code))
    )
    return _counted(session, stmt, limit)


# --- agreement -----------------------------------------------------------------------


def co_observed_meeting_rows(session: Session, scope: Scope) -> list[tuple[Any, ...]]:
    """(meeting_id, title, site_id, level, scheduled_start) of meetings in scope with
    live sessions of two or more observers."""
    ids = (
        select(col(S.meeting_id))
        .where(*session_conditions(scope))
        .group_by(col(S.meeting_id))
        .having(func.count(distinct(col(S.observer_id))) > 1)
    )
    stmt = (
        select(
            col(Meeting.id),
            col(Meeting.title),
            col(Meeting.site_id),
            col(Meeting.level),
            col(Meeting.scheduled_start),
        )
        .where(col(Meeting.id).in_(ids))
        .order_by(col(Meeting.scheduled_start), col(Meeting.id))
    )
    return [tuple(r) for r in session.execute(stmt)]


def meeting_observers(
    session: Session, scope: Scope, meeting_ids: list[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Observers with a live session in scope, per meeting (tags or not)."""
    out: dict[uuid.UUID, set[uuid.UUID]] = {mid: set() for mid in meeting_ids}
    if not meeting_ids:
        return out
    stmt = (
        select(col(S.meeting_id), col(S.observer_id))
        .where(*session_conditions(scope), col(S.meeting_id).in_(meeting_ids))
        .distinct()
    )
    for mid, observer in session.execute(stmt):
        out[mid].add(observer)
    return out


def agreement_tags(
    session: Session, scope: Scope, meeting_ids: list[uuid.UUID]
) -> list[tuple[Any, ...]]:
    """(meeting_id, intervention_id, observer_id, participant_id, code_key, session start,
    offset_seconds) of counted interventions in the scope's sessions of these meetings."""
    if not meeting_ids:
        return []
    conds = [
        *session_conditions(scope),
        col(S.meeting_id).in_(meeting_ids),
        col(I.deleted_at).is_(None),
        col(I.participant_id).not_in(excluded_participants(scope.study_id)),
    ]
    stmt = (
        select(
            col(S.meeting_id),
            col(I.id),
            col(S.observer_id),
            col(I.participant_id),
            col(I.code_key),
            col(S.started_at),
            col(I.offset_seconds),
        )
        .join_from(I, S, col(S.id) == col(I.session_id))
        .where(and_(*conds))
    )
    return [tuple(r) for r in session.execute(stmt)]


def display_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    stmt = select(col(User.id), col(User.display_name)).where(col(User.id).in_(ids))
    return {r[0]: r[1] for r in session.execute(stmt)}
