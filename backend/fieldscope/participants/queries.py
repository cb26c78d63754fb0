from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.sql import Select
from sqlmodel import col, select

from fieldscope.participants.models import Consent, Level, Participant


def participants_query(
    study_id: uuid.UUID,
    *,
    site_id: uuid.UUID | None = None,
    level: Level | None = None,
    is_clinical_leader: bool | None = None,
    consent: Consent | None = None,
    pending_review: bool | None = None,
) -> Select[Any]:
    """Live participants of a study matching every filter given, by pseudonym code."""
    stmt: Any = select(Participant).where(
        Participant.study_id == study_id, col(Participant.deleted_at).is_(None)
    )
    if site_id is not None:
        stmt = stmt.where(Participant.site_id == site_id)
    if level is not None:
        stmt = stmt.where(Participant.level == level)
    if is_clinical_leader is not None:
        stmt = stmt.where(Participant.is_clinical_leader == is_clinical_leader)
    if consent is not None:
        stmt = stmt.where(Participant.consent == consent)
    if pending_review is not None:
        stmt = stmt.where(Participant.pending_review == pending_review)
    ordered: Select[Any] = stmt.order_by(col(Participant.code), col(Participant.id))
    return ordered
