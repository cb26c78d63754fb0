"""The SQL that decides what an export covers. Every format uses these predicates, so a
withdrawn participant or a filter means the same thing in a journal, a CSV and a .qdpx.

- A session is in scope when it, its meeting and its study match: site and level are the
  meeting's, dates are the session's start (UTC, both ends inclusive), a participant filter
  keeps sessions the participant attended or intervened in, and fieldworkers see only
  their own sessions. Soft-deleted rows are never exported.
- An intervention is in scope when its session is, and its participant consented (not
  withdrawn, not declined) and is not deleted; a participant filter keeps only theirs.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, true
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from fieldscope.common.days import on_or_after, on_or_before
from fieldscope.db import is_sqlite, open_session
from fieldscope.exports.service import ExportScope
from fieldscope.meetings.models import Meeting, MeetingAttendee
from fieldscope.observations.models import Intervention, ObservationSession
from fieldscope.participants.models import Consent, Participant

S = ObservationSession
M = Meeting
I = Intervention  # noqa: E741
P = Participant
A = MeetingAttendee


def read_snapshot(engine: Engine) -> Session:
    """A read-only session whose queries all see one snapshot: an export never mixes
    states (a FK in the data package pointing at a row committed half-way through).
    SQLite's WAL read transaction is a snapshot already; PostgreSQL needs REPEATABLE READ."""
    session = open_session(engine)
    if not is_sqlite(engine):
        session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    return session


def consented() -> list[ColumnElement[bool]]:
    """Conditions on Participant (P) for anyone whose words may leave the server."""
    return [col(P.consent) == Consent.consented, col(P.deleted_at).is_(None)]


def session_conditions(scope: ExportScope, s: Any = S) -> list[ColumnElement[bool]]:
    """Conditions on ObservationSession `s` joined to its Meeting (M).

    Subqueries use aliases of their own, so they never correlate to the same table in
    the query around them (an intervention query must not turn "someone in this session
    spoke" into "this intervention's speaker")."""
    f = scope.filters
    conds: list[ColumnElement[bool]] = [
        col(s.study_id) == scope.study_id,
        col(s.meeting_id) == col(M.id),
        col(s.deleted_at).is_(None),
        col(M.deleted_at).is_(None),
    ]
    if f.site_ids:
        conds.append(col(M.site_id).in_(f.site_ids))
    if f.levels:
        conds.append(col(M.level).in_(f.levels))
    if f.date_from:
        conds.append(on_or_after(col(s.started_at), f.date_from))
    if f.date_to:
        conds.append(on_or_before(col(s.started_at), f.date_to))
    if scope.observer_id is not None:
        conds.append(col(s.observer_id) == scope.observer_id)
    if f.participant_ids:
        i2, a2 = aliased(I), aliased(A)
        spoke = exists().where(
            col(i2.session_id) == col(s.id),
            col(i2.participant_id).in_(f.participant_ids),
            col(i2.deleted_at).is_(None),
        )
        attended = exists().where(
            col(a2.meeting_id) == col(s.meeting_id),
            col(a2.participant_id).in_(f.participant_ids),
            col(a2.deleted_at).is_(None),
        )
        conds.append(or_(spoke, attended))
    return conds


def session_ids(scope: ExportScope) -> SelectOfScalar[uuid.UUID]:
    return (
        select(S.id)
        .select_from(S)
        .join(M, col(M.id) == col(S.meeting_id))
        .where(*session_conditions(scope))
        .order_by(col(S.started_at), col(S.id))
    )


def intervention_conditions(scope: ExportScope, *, by_filter: bool) -> list[ColumnElement[bool]]:
    """Conditions on Intervention (I) joined to S, M and P. `by_filter`: apply the
    participant filter to interventions too (tidy data) rather than only to sessions."""
    conds = [
        *session_conditions(scope),
        col(I.study_id) == scope.study_id,  # lets the planner narrow to the study early
        col(I.session_id) == col(S.id),
        col(I.participant_id) == col(P.id),
        col(I.deleted_at).is_(None),
        *consented(),
    ]
    if by_filter and scope.filters.participant_ids:
        conds.append(col(I.participant_id).in_(scope.filters.participant_ids))
    return conds


def meeting_conditions(scope: ExportScope) -> list[ColumnElement[bool]]:
    """Meetings with a session in scope; plus unobserved meetings matching site and level
    whose scheduled date and attendance fit the date and participant filters."""
    f = scope.filters
    conds: list[ColumnElement[bool]] = [
        col(M.study_id) == scope.study_id,
        col(M.deleted_at).is_(None),
    ]
    if f.site_ids:
        conds.append(col(M.site_id).in_(f.site_ids))
    if f.levels:
        conds.append(col(M.level).in_(f.levels))
    observed = exists().where(*session_conditions(scope, aliased(S)))
    planned: list[ColumnElement[bool]] = []
    if f.date_from:
        planned.append(on_or_after(col(M.scheduled_start), f.date_from))
    if f.date_to:
        planned.append(on_or_before(col(M.scheduled_start), f.date_to))
    if f.participant_ids:
        a2 = aliased(A)
        planned.append(
            exists().where(
                col(a2.meeting_id) == col(M.id),
                col(a2.participant_id).in_(f.participant_ids),
                col(a2.deleted_at).is_(None),
            )
        )
    conds.append(or_(observed, and_(true(), *planned)))
    return conds


def attendee_conditions(scope: ExportScope) -> list[ColumnElement[bool]]:
    """Conditions on MeetingAttendee (A) joined to M and P."""
    conds = [
        *meeting_conditions(scope),
        col(A.meeting_id) == col(M.id),
        col(A.participant_id) == col(P.id),
        col(A.deleted_at).is_(None),
        *consented(),
    ]
    if scope.filters.participant_ids:
        conds.append(col(A.participant_id).in_(scope.filters.participant_ids))
    return conds


def participant_conditions(scope: ExportScope) -> list[ColumnElement[bool]]:
    """Consented participants of the filtered sites, and anyone an exported intervention
    or attendance refers to (so every foreign key in the data package resolves)."""
    f = scope.filters
    conds: list[ColumnElement[bool]] = [col(P.study_id) == scope.study_id, *consented()]
    if f.participant_ids:
        conds.append(col(P.id).in_(f.participant_ids))
    if f.site_ids:
        spoke = (
            select(col(I.participant_id))
            .select_from(I)
            .join(S, col(S.id) == col(I.session_id))
            .join(M, col(M.id) == col(S.meeting_id))
            .where(*session_conditions(scope), col(I.deleted_at).is_(None))
        )
        attended = (
            select(col(A.participant_id))
            .select_from(A)
            .join(M, col(M.id) == col(A.meeting_id))
            .where(*meeting_conditions(scope), col(A.deleted_at).is_(None))
        )
        conds.append(
            or_(col(P.site_id).in_(f.site_ids), col(P.id).in_(spoke), col(P.id).in_(attended))
        )
    return conds
