"""Meetings and who attended them. PIs and fieldworkers add and edit both (a meeting is
often first recorded on a tablet in the room).

Guards that keep totals and attendance consistent:
- a meeting's site is in its study, and cannot change once it was observed or has
  attendees (sessions copy the site; attendees belong to it);
- an attendee is a participant of the same study AND site as the meeting, with consent;
  one live attendance per participant and meeting (a removed one may be added again);
- a meeting is deleted only by a PI or the fieldworker who added it, and only before
  anyone observed it; its attendances end with it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldscope.auth.models import Role, User
from fieldscope.changes import changed_fields
from fieldscope.common.models import Record, utcnow
from fieldscope.common.records import apply_patch, get_live
from fieldscope.common.validation import validate_record
from fieldscope.errors import AppError, conflict, forbidden, invalid, not_found
from fieldscope.meetings.models import Meeting, MeetingAttendee
from fieldscope.meetings.schemas import (
    AttendeeState,
    MeetingCreate,
    MeetingState,
    MeetingUpdate,
)
from fieldscope.observations.models import ObservationSession
from fieldscope.participants.models import Consent, Participant
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

MEETING_WRITABLE = frozenset(
    {
        "study_id",
        "site_id",
        "level",
        "title",
        "theme",
        "scheduled_start",
        "location",
        "stage_of_change",
    }
)
ATTENDEE_WRITABLE = frozenset({"meeting_id", "participant_id"})
WRITERS = (Role.pi, Role.fieldworker)


def check_meeting(session: Session, record: Record, actor: User, is_new: bool) -> None:
    assert isinstance(record, Meeting)
    with session.no_autoflush:
        validate_record(MeetingState, record, sorted(MEETING_WRITABLE))
        changed = {} if is_new else changed_fields(record)
        immutable(changed, "study_id", "created_by")
        live_study(session, record.study_id)
        if is_deleting(changed, record):
            role = member_role(session, actor, record.study_id, WRITERS, "delete meetings")
            if not is_pi(role) and record.created_by != actor.id:
                raise forbidden(
                    "Only a PI of this study or the fieldworker who added this meeting "
                    "can delete it."
                )
            _refuse_if_observed(session, record, "deleted")
            _end_attendance(session, record)
            return
        member_role(session, actor, record.study_id, WRITERS, "add or edit meetings")
        site = session.get(Site, record.site_id)
        if site is None or site.deleted_at is not None or site.study_id != record.study_id:
            raise invalid(
                "site_id: there is no such site in this study.", "site_id", "unknown_site"
            )
        if "site_id" in changed:
            _refuse_if_observed(session, record, "moved to another site")
            attendees = len(_live_attendees(session, record.id))
            if attendees:
                raise conflict(
                    f"This meeting has {attendees} attendee(s) from its current site; remove "
                    "them before moving it to another site.",
                    "meeting_has_attendees",
                )
        if is_new:
            record.created_by = actor.id


def _refuse_if_observed(session: Session, meeting: Meeting, what: str) -> None:
    sessions = session.exec(
        select(func.count())
        .select_from(ObservationSession)
        .where(
            ObservationSession.meeting_id == meeting.id,
            col(ObservationSession.deleted_at).is_(None),
        )
    ).one()
    if sessions:
        raise conflict(
            f"This meeting has {sessions} observation session(s) and cannot be {what}; "
            "delete the sessions first.",
            "meeting_observed",
        )


def _live_attendees(session: Session, meeting_id: uuid.UUID) -> list[MeetingAttendee]:
    return list(
        session.exec(
            select(MeetingAttendee).where(
                MeetingAttendee.meeting_id == meeting_id,
                col(MeetingAttendee.deleted_at).is_(None),
            )
        ).all()
    )


def _end_attendance(session: Session, meeting: Meeting) -> None:
    for row in _live_attendees(session, meeting.id):
        row.deleted_at = meeting.deleted_at
        session.add(row)


def check_attendee(session: Session, record: Record, actor: User, is_new: bool) -> None:
    assert isinstance(record, MeetingAttendee)
    with session.no_autoflush:
        validate_record(AttendeeState, record, sorted(ATTENDEE_WRITABLE))
        changed = {} if is_new else changed_fields(record)
        if "meeting_id" in changed or "participant_id" in changed:
            raise invalid(
                "An attendance cannot be moved; remove it and add another.",
                "meeting_id" if "meeting_id" in changed else "participant_id",
                "immutable",
            )
        meeting = session.get(Meeting, record.meeting_id)
        if meeting is None or meeting.deleted_at is not None:
            raise invalid("meeting_id: there is no such meeting.", "meeting_id", "unknown_meeting")
        live_study(session, meeting.study_id)
        deleting = is_deleting(changed, record)
        action = "remove attendees" if deleting else "add attendees"
        member_role(session, actor, meeting.study_id, WRITERS, action)
        record.study_id = meeting.study_id  # derived, never sent
        if deleting:
            return
        _check_attendee_participant(session, record, meeting)


def _check_attendee_participant(
    session: Session, record: MeetingAttendee, meeting: Meeting
) -> None:
    person = session.get(Participant, record.participant_id)
    if person is None or person.deleted_at is not None or person.study_id != meeting.study_id:
        raise invalid(
            "participant_id: that participant is not part of this study.",
            "participant_id",
            "participant_other_study",
        )
    if person.site_id != meeting.site_id:
        theirs, ours = session.get(Site, person.site_id), session.get(Site, meeting.site_id)
        raise invalid(
            f"participant_id: {person.code} belongs to site {theirs.code if theirs else '?'}, "
            f"but this meeting is at site {ours.code if ours else '?'}.",
            "participant_id",
            "participant_other_site",
        )
    if person.consent is not Consent.consented:
        raise invalid(
            f"participant_id: {person.code} has {person.consent.value} consent and cannot be "
            "recorded as attending.",
            "participant_id",
            "consent_not_given",
        )
    twice = session.exec(
        select(MeetingAttendee.id).where(
            MeetingAttendee.meeting_id == record.meeting_id,
            MeetingAttendee.participant_id == record.participant_id,
            col(MeetingAttendee.deleted_at).is_(None),
            MeetingAttendee.id != record.id,
        )
    ).first()
    if twice is not None:
        raise AppError(
            409,
            "already_attending",
            f"{person.code} is already an attendee of this meeting.",
            errors=[{"field": "participant_id", "message": "already attending"}],
        )


register(EntitySpec("meeting", Meeting, MEETING_WRITABLE, check_meeting))
register(EntitySpec("meeting_attendee", MeetingAttendee, ATTENDEE_WRITABLE, check_attendee))


# ---- operations behind the routes


def get_meeting(session: Session, study_id: uuid.UUID, meeting_id: uuid.UUID) -> Meeting:
    return get_live(session, Meeting, study_id, meeting_id, "Meeting")


def create_meeting(
    session: Session, actor: User, study_id: uuid.UUID, body: MeetingCreate
) -> Meeting:
    row = Meeting(study_id=study_id, **body.model_dump())
    check_meeting(session, row, actor, True)
    session.add(row)
    session.flush()
    return row


def update_meeting(session: Session, actor: User, row: Meeting, body: MeetingUpdate) -> Meeting:
    apply_patch(row, body)
    check_meeting(session, row, actor, False)
    session.add(row)
    session.flush()
    return row


def delete_meeting(session: Session, actor: User, row: Meeting) -> None:
    row.deleted_at = utcnow()
    check_meeting(session, row, actor, False)
    session.add(row)
    session.flush()


def attendees_of(session: Session, meeting: Meeting) -> list[tuple[MeetingAttendee, str]]:
    rows = session.exec(
        select(MeetingAttendee, Participant.code)
        .join(Participant, col(Participant.id) == col(MeetingAttendee.participant_id))
        .where(MeetingAttendee.meeting_id == meeting.id, col(MeetingAttendee.deleted_at).is_(None))
        .order_by(col(Participant.code))
    ).all()
    return [(a, code) for a, code in rows]


def add_attendee(
    session: Session, actor: User, meeting: Meeting, participant_id: uuid.UUID
) -> tuple[MeetingAttendee, str]:
    row = MeetingAttendee(
        study_id=meeting.study_id, meeting_id=meeting.id, participant_id=participant_id
    )
    check_attendee(session, row, actor, True)
    session.add(row)
    flush_unique(session, "That participant is already an attendee.", "already_attending")
    person = session.get(Participant, participant_id)
    return row, person.code if person else ""


def get_attendee(session: Session, meeting: Meeting, attendee_id: uuid.UUID) -> MeetingAttendee:
    row = session.get(MeetingAttendee, attendee_id)
    if row is None or row.meeting_id != meeting.id or row.deleted_at is not None:
        raise not_found("Attendee")
    return row


def remove_attendee(session: Session, actor: User, row: MeetingAttendee) -> None:
    row.deleted_at = utcnow()
    check_attendee(session, row, actor, False)
    session.add(row)
    session.flush()
