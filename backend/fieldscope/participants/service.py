"""Participants: PIs manage them; fieldworkers add stubs in the field for a PI to review.

Rules (the same for REST and sync, via `check_participant`):
- a fieldworker's new participant is a stub (`pending_review` forced true) without real
  name or consent; a fieldworker may correct a stub only while it is pending review;
- real names are for the study's PIs only (not instance admins); consent (with its date)
  and review need PI rights; a withdrawal and its reversal are ordinary audited updates,
  so only a PI can make either;
- pseudonym codes are unique in the study, case-insensitively, and never reused (a deleted
  participant keeps its code);
- a participant who was tagged or attends meetings keeps their site, and a tagged one is
  never deleted (withdraw consent instead).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldscope.auth.models import Role, User
from fieldscope.changes import changed_fields
from fieldscope.common.models import Record, utcnow
from fieldscope.common.records import apply_patch, get_live
from fieldscope.common.validation import validate_record
from fieldscope.errors import AppError, conflict, forbidden, invalid
from fieldscope.meetings.models import MeetingAttendee
from fieldscope.observations.models import Intervention
from fieldscope.participants.models import Consent, Participant
from fieldscope.participants.schemas import ParticipantCreate, ParticipantState, ParticipantUpdate
from fieldscope.registry import EntitySpec, register
from fieldscope.studies.access import (
    flush_unique,
    immutable,
    is_deleting,
    is_pi,
    live_study,
    member_role,
)
from fieldscope.studies.models import Site

WRITABLE = frozenset(
    {"study_id", "site_id", "code", "role_title", "level", "background", "is_clinical_leader"}
)
STATE_FIELDS = (
    *sorted(WRITABLE),
    "real_name",
    "consent",
    "consent_date",
    "pending_review",
)
Changed = dict[str, tuple[object, object]]


def check_participant(session: Session, record: Record, actor: User, is_new: bool) -> None:
    assert isinstance(record, Participant)
    with session.no_autoflush:
        validate_record(ParticipantState, record, STATE_FIELDS)
        changed: Changed = {} if is_new else changed_fields(record)
        immutable(changed, "study_id")
        live_study(session, record.study_id)
        if is_deleting(changed, record):
            member_role(session, actor, record.study_id, (Role.pi,), "delete participants")
            _refuse_if_tagged(session, record)
            _end_attendance(session, record)
            return
        role = member_role(
            session, actor, record.study_id, (Role.pi, Role.fieldworker), "add or edit participants"
        )
        if (record.real_name if is_new else "real_name" in changed) and role is not Role.pi:
            raise forbidden("Only a PI of this study can record real names.")
        if not is_pi(role):
            _fieldworker_limits(record, changed, is_new)
        _check_site(session, record, changed)
        _check_code(session, record)
        _check_consent(record, changed, is_new)


def _fieldworker_limits(record: Participant, changed: Changed, is_new: bool) -> None:
    if is_new:
        if record.consent is not Consent.consented or record.consent_date is not None:
            raise forbidden("Only a PI of this study can record consent.")
        record.pending_review = True  # a stub until a PI reviews it
        return
    was = changed["pending_review"][0] if "pending_review" in changed else record.pending_review
    if not was:
        raise forbidden(
            f"Only a PI of this study can edit {record.code}: fieldworkers may only correct "
            "their stubs while they are pending review."
        )
    if "consent" in changed or "consent_date" in changed:
        raise forbidden("Only a PI of this study can change consent.")
    if "pending_review" in changed:
        raise forbidden("Only a PI of this study can mark a participant as reviewed.")


def _check_site(session: Session, record: Participant, changed: Changed) -> None:
    site = session.get(Site, record.site_id)
    if site is None or site.deleted_at is not None or site.study_id != record.study_id:
        raise invalid("site_id: there is no such site in this study.", "site_id", "unknown_site")
    if "site_id" in changed:
        meetings, tags = _attendance_count(session, record.id), _tag_count(session, record.id)
        if meetings or tags:
            raise conflict(
                f"{record.code} attends {meetings} meeting(s) and was tagged {tags} time(s) at "
                "their current site; remove those first to move them to another site.",
                "participant_in_use",
            )


def _check_code(session: Session, record: Participant) -> None:
    clash = session.exec(
        select(Participant).where(
            Participant.study_id == record.study_id,
            func.lower(Participant.code) == record.code.lower(),
            Participant.id != record.id,
        )
    ).first()
    if clash is not None:
        whose = " by a deleted participant; codes are never reused" if clash.deleted_at else ""
        raise AppError(
            409,
            "duplicate_code",
            f"Pseudonym code '{clash.code}' is already used in this study{whose}.",
            errors=[{"field": "code", "message": "already used in this study"}],
        )


def _check_consent(record: Participant, changed: Changed, is_new: bool) -> None:
    if not (is_new or "consent" in changed or "consent_date" in changed):
        return
    if record.consent is not Consent.consented and record.consent_date is None:
        raise invalid(
            f"consent_date: give the date consent was {record.consent.value}.",
            "consent_date",
            "consent_date_required",
        )
    latest = datetime.now(UTC).date() + timedelta(days=1)  # a day of slack for time zones
    if record.consent_date is not None and record.consent_date > latest:
        raise invalid("consent_date: must not be in the future.", "consent_date", "future_date")


def _tag_count(session: Session, participant_id: uuid.UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(Intervention)
        .where(
            Intervention.participant_id == participant_id, col(Intervention.deleted_at).is_(None)
        )
    ).one()


def _attendance_count(session: Session, participant_id: uuid.UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(MeetingAttendee)
        .where(
            MeetingAttendee.participant_id == participant_id,
            col(MeetingAttendee.deleted_at).is_(None),
        )
    ).one()


def _refuse_if_tagged(session: Session, record: Participant) -> None:
    tags = _tag_count(session, record.id)
    if tags:
        raise conflict(
            f"{record.code} was tagged in {tags} intervention(s) and cannot be deleted; "
            "record a withdrawal of consent instead.",
            "participant_in_use",
        )


def _end_attendance(session: Session, record: Participant) -> None:
    """A deleted participant no longer attends anything (each removal is audited)."""
    rows = session.exec(
        select(MeetingAttendee).where(
            MeetingAttendee.participant_id == record.id, col(MeetingAttendee.deleted_at).is_(None)
        )
    ).all()
    for row in rows:
        row.deleted_at = record.deleted_at
        session.add(row)


register(EntitySpec("participant", Participant, WRITABLE, check_participant))


# ---- operations behind the routes


def get_participant(
    session: Session, study_id: uuid.UUID, participant_id: uuid.UUID
) -> Participant:
    return get_live(session, Participant, study_id, participant_id, "Participant")


def create_participant(
    session: Session, actor: User, study_id: uuid.UUID, body: ParticipantCreate
) -> Participant:
    row = Participant(study_id=study_id, **body.model_dump())
    check_participant(session, row, actor, True)
    session.add(row)
    flush_unique(session, f"Pseudonym code '{row.code}' is already used.", "duplicate_code")
    return row


def update_participant(
    session: Session, actor: User, row: Participant, body: ParticipantUpdate
) -> Participant:
    sent = body.model_fields_set
    if "consent" in sent and "consent_date" not in sent:
        raise invalid(
            "consent_date: give the date of this consent change.",
            "consent_date",
            "consent_date_required",
        )
    apply_patch(row, body)
    check_participant(session, row, actor, False)
    session.add(row)
    flush_unique(session, f"Pseudonym code '{row.code}' is already used.", "duplicate_code")
    return row


def delete_participant(session: Session, actor: User, row: Participant) -> None:
    row.deleted_at = utcnow()
    check_participant(session, row, actor, False)
    session.add(row)
    session.flush()
