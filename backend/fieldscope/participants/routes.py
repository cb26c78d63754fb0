from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from fieldscope.auth.models import Role
from fieldscope.common.pagination import Paging, fetch_page
from fieldscope.db import SessionDep
from fieldscope.participants import queries, service
from fieldscope.participants.models import Consent, Level
from fieldscope.participants.schemas import (
    AnyParticipantOut,
    ParticipantCreate,
    ParticipantPage,
    ParticipantUpdate,
    present,
)
from fieldscope.studies.deps import Access, MemberAccess, study_access
from fieldscope.studies.service import site_filter

router = APIRouter(tags=["participants"])

Writer = Annotated[
    Access,
    Depends(study_access(Role.pi, Role.fieldworker, action="add or edit participants")),
]
Deleter = Annotated[Access, Depends(study_access(Role.pi, action="delete participants"))]
BASE = "/studies/{study_id}/participants"


@router.get(BASE, response_model=ParticipantPage)
def list_participants(
    access: MemberAccess,
    session: SessionDep,
    paging: Paging,
    site_id: Annotated[uuid.UUID | None, Query(description="Only this site's")] = None,
    level: Level | None = None,
    is_clinical_leader: bool | None = None,
    consent: Consent | None = None,
    pending_review: Annotated[bool | None, Query(description="Stubs awaiting review")] = None,
) -> ParticipantPage:
    """Participants by pseudonym code. Real names are included for PIs only."""
    site_filter(session, access.study.id, site_id)
    stmt = queries.participants_query(
        access.study.id,
        site_id=site_id,
        level=level,
        is_clinical_leader=is_clinical_leader,
        consent=consent,
        pending_review=pending_review,
    )
    rows, total = fetch_page(session, stmt, paging)
    return ParticipantPage(
        items=[present(r, access.sees_real_names) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post(BASE, response_model=AnyParticipantOut, status_code=status.HTTP_201_CREATED)
def create_participant(
    body: ParticipantCreate, access: Writer, session: SessionDep
) -> AnyParticipantOut:
    """PIs add participants; a fieldworker's addition is a stub pending a PI's review and
    may not carry a real name or consent."""
    row = service.create_participant(session, access.user, access.study.id, body)
    return present(row, access.sees_real_names)


@router.get(BASE + "/{participant_id}", response_model=AnyParticipantOut)
def read_participant(
    participant_id: uuid.UUID, access: MemberAccess, session: SessionDep
) -> AnyParticipantOut:
    row = service.get_participant(session, access.study.id, participant_id)
    return present(row, access.sees_real_names)


@router.patch(BASE + "/{participant_id}", response_model=AnyParticipantOut)
def update_participant(
    participant_id: uuid.UUID, body: ParticipantUpdate, access: Writer, session: SessionDep
) -> AnyParticipantOut:
    """PIs edit anything, including consent (with its date), real name and review;
    fieldworkers may correct their stubs while pending review."""
    row = service.get_participant(session, access.study.id, participant_id)
    row = service.update_participant(session, access.user, row, body)
    return present(row, access.sees_real_names)


@router.delete(BASE + "/{participant_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_participant(participant_id: uuid.UUID, access: Deleter, session: SessionDep) -> None:
    """Soft-deletes a participant never tagged in an intervention (withdraw consent
    otherwise) and ends their meeting attendances."""
    row = service.get_participant(session, access.study.id, participant_id)
    service.delete_participant(session, access.user, row)
