from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from fieldscope.audit.queries import audit_query, emails_of
from fieldscope.audit.schemas import AuditEventOut, AuditPage
from fieldscope.auth.models import Role
from fieldscope.common.pagination import Paging, fetch_page
from fieldscope.db import SessionDep
from fieldscope.participants.models import Participant
from fieldscope.studies.deps import Access, study_access

router = APIRouter(tags=["audit"])

Auditor = Annotated[Access, Depends(study_access(Role.pi, action="read the audit log"))]

PRIVATE = {m.sync_entity: m.private_fields for m in (Participant,)}

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


def _without_private(item: AuditEventOut) -> AuditEventOut:
    private = PRIVATE.get(item.entity, frozenset())
    return item.model_copy(
        update={
            side: {k: ("[redacted]" if k in private else v) for k, v in values.items()}
            for side, values in (("before", item.before), ("after", item.after))
            if values is not None
        }
    )


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
    emails = emails_of(session, (event.actor_id for event in rows))
    items = []
    for event in rows:
        item = AuditEventOut.model_validate(event).model_copy(
            update={"actor_email": emails.get(event.actor_id) if event.actor_id else None}
        )
        if not access.sees_real_names:  # an instance admin: PI rights, but no real names
            item = _without_private(item)
        items.append(item)
    return AuditPage(
        items=items,
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
