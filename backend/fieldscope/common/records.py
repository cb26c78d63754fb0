"""Loading and patching study-scoped records the same way in every domain service."""

from __future__ import annotations

import uuid
from typing import TypeVar

from pydantic import BaseModel
from sqlmodel import Session

from fieldscope.common.models import Record
from fieldscope.errors import not_found

R = TypeVar("R", bound=Record)


def get_live(
    session: Session, model: type[R], study_id: uuid.UUID, record_id: uuid.UUID, what: str
) -> R:
    """The record if it is live and in this study; 404 otherwise (never reveal other studies)."""
    row = session.get(model, record_id)
    if row is None or row.study_scope() != study_id or row.deleted_at is not None:
        raise not_found(what)
    return row


def apply_patch(row: Record, body: BaseModel) -> None:
    """Set exactly the fields the client sent (PATCH semantics)."""
    for name in body.model_fields_set:
        setattr(row, name, getattr(body, name))
