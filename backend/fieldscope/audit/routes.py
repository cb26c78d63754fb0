from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from fieldscope.audit.queries import audit_query
from fieldscope.audit.schemas import AuditEventOut, AuditPage
from fieldscope.auth.models import Role
from fieldscope.common.pagination import Paging, fetch_page
from fieldscope.db import SessionDep
from fieldscope.studies.deps import Access, study_access

router = APIRouter(tags=["audit"])

Auditor = Annotated[Access, Depends(study_access(Role.pi, action="read the audit log"))]

# Every entity the change hook audits (Record.sync_entity values).
Entity = Literal[
    "study",
    "site",
    "participant",
    "meeting",
    "meeting_attendee",
    "codebook_version",
    "code",
    "observation_session",
    "intervention",
    "field_note",
    "journal_entry",
]


@router.get("/studies/{study_id}/audit", response_model=AuditPage)
def list_audit_events(
    access: Auditor,
    session: SessionDep,
    paging: Paging,
    entity: Entity | None = None,
    entity_id: uuid.UUID | None = None,
    actor: Annotated[uuid.UUID | None, Query(description="User id of who acted")] = None,
) -> AuditPage:
    """Who changed what in this study and when, newest first, with the values before and
    after (real names included: PIs only)."""
    stmt = audit_query(access.study.id, entity=entity, entity_id=entity_id, actor_id=actor)
    rows, total = fetch_page(session, stmt, paging)
    return AuditPage(
        items=[
            AuditEventOut.model_validate(event).model_copy(update={"actor_email": email})
            for event, email in rows
        ],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
