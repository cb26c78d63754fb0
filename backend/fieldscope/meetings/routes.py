from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from fieldscope.auth.models import Role
from fieldscope.common.pagination import Paging, fetch_page
from fieldscope.common.validation import Day
from fieldscope.db import SessionDep
from fieldscope.errors import invalid
from fieldscope.meetings import queries, service
from fieldscope.meetings.models import Meeting, MeetingAttendee, StageOfChange
from fieldscope.meetings.schemas import (
    AttendeeCreate,
    AttendeeOut,
    MeetingCreate,
    MeetingOut,
    MeetingPage,
    MeetingUpdate,
)
from fieldscope.participants.models import Level
from fieldscope.studies.deps import Access, MemberAccess, study_access
from fieldscope.studies.service import site_filter

router = APIRouter(tags=["meetings"])

Writer = Annotated[
    Access, Depends(study_access(Role.pi, Role.fieldworker, action="add or edit meetings"))
]
Deleter = Annotated[
    Access, Depends(study_access(Role.pi, Role.fieldworker, action="delete meetings"))
]
AttendeeWriter = Annotated[
    Access, Depends(study_access(Role.pi, Role.fieldworker, action="change attendees"))
]
BASE = "/studies/{study_id}/meetings"
ONE = BASE + "/{meeting_id}"


def _attendee_out(row: MeetingAttendee, code: str) -> AttendeeOut:
    return AttendeeOut(
        id=row.id,
        version=row.version,
        study_id=row.study_id,
        meeting_id=row.meeting_id,
        participant_id=row.participant_id,
        participant_code=code,
        created_at=row.created_at,
    )


@router.get(BASE, response_model=MeetingPage)
def list_meetings(
    access: MemberAccess,
    session: SessionDep,
    paging: Paging,
    site_id: uuid.UUID | None = None,
    level: Level | None = None,
    date_from: Annotated[Day | None, Query(description="From this UTC day (inclusive)")] = None,
    date_to: Annotated[Day | None, Query(description="To this UTC day (inclusive)")] = None,
    stage_of_change: StageOfChange | None = None,
) -> MeetingPage:
    """Meetings by scheduled start (unscheduled last). Any member may read."""
    site_filter(session, access.study.id, site_id)
    if date_from and date_to and date_to < date_from:
        raise invalid(
            f"date_to: must not be before date_from ({date_from.isoformat()}).",
            "date_to",
            "invalid_date_range",
        )
    stmt = queries.meetings_query(
        access.study.id,
        site_id=site_id,
        level=level,
        date_from=date_from,
        date_to=date_to,
        stage_of_change=stage_of_change,
    )
    rows, total = fetch_page(session, stmt, paging)
    return MeetingPage(
        items=[MeetingOut.model_validate(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post(BASE, response_model=MeetingOut, status_code=status.HTTP_201_CREATED)
def create_meeting(body: MeetingCreate, access: Writer, session: SessionDep) -> Meeting:
    """PIs and fieldworkers add meetings at one of the study's sites."""
    return service.create_meeting(session, access.user, access.study.id, body)


@router.get(ONE, response_model=MeetingOut)
def read_meeting(meeting_id: uuid.UUID, access: MemberAccess, session: SessionDep) -> Meeting:
    return service.get_meeting(session, access.study.id, meeting_id)


@router.patch(ONE, response_model=MeetingOut)
def update_meeting(
    meeting_id: uuid.UUID, body: MeetingUpdate, access: Writer, session: SessionDep
) -> Meeting:
    """Only the keys sent change. The site is fixed once the meeting has sessions or
    attendees."""
    row = service.get_meeting(session, access.study.id, meeting_id)
    return service.update_meeting(session, access.user, row, body)


@router.delete(ONE, status_code=status.HTTP_204_NO_CONTENT)
def delete_meeting(meeting_id: uuid.UUID, access: Deleter, session: SessionDep) -> None:
    """A PI, or the fieldworker who added it, soft-deletes a meeting nobody observed yet."""
    row = service.get_meeting(session, access.study.id, meeting_id)
    service.delete_meeting(session, access.user, row)


@router.get(ONE + "/attendees", response_model=list[AttendeeOut])
def list_attendees(
    meeting_id: uuid.UUID, access: MemberAccess, session: SessionDep
) -> list[AttendeeOut]:
    """The meeting's attendees by pseudonym code."""
    meeting = service.get_meeting(session, access.study.id, meeting_id)
    return [_attendee_out(a, code) for a, code in service.attendees_of(session, meeting)]


@router.post(ONE + "/attendees", response_model=AttendeeOut, status_code=status.HTTP_201_CREATED)
def add_attendee(
    meeting_id: uuid.UUID, body: AttendeeCreate, access: AttendeeWriter, session: SessionDep
) -> AttendeeOut:
    """Adds a consenting participant of the meeting's site (422 for another site or study;
    409 when already attending)."""
    meeting = service.get_meeting(session, access.study.id, meeting_id)
    row, code = service.add_attendee(session, access.user, meeting, body.participant_id)
    return _attendee_out(row, code)


@router.delete(ONE + "/attendees/{attendee_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_attendee(
    meeting_id: uuid.UUID, attendee_id: uuid.UUID, access: AttendeeWriter, session: SessionDep
) -> None:
    """Soft-deletes the attendance; the participant may be added again later."""
    meeting = service.get_meeting(session, access.study.id, meeting_id)
    service.remove_attendee(
        session, access.user, service.get_attendee(session, meeting, attendee_id)
    )
