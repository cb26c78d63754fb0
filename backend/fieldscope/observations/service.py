"""REST operations on observation records; every write goes through the entity checks.

Importing this module registers the observation EntitySpecs (see `checks.py`). Each
operation gets the route's `Access` (the live study, the user and their role, already
checked), loads what it changes, applies the request, runs the entity's check and flushes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fieldscope.common.models import Record, utcnow
from fieldscope.errors import AppError, conflict, invalid, not_found
from fieldscope.observations.checks import (
    LABELS,
    SPECS,
    authorise_read,
    authorise_write,
    check_journal_entry,
    check_observation_session,
    effective,
    error,
    iso,
    session_live,
    stamp,
)
from fieldscope.observations.models import FieldNote, Intervention, JournalEntry, ObservationSession
from fieldscope.observations.schemas import (
    FieldNoteCreate,
    FieldNoteUpdate,
    InterventionCreate,
    InterventionUpdate,
    SessionCreate,
    SessionUpdate,
)
from fieldscope.studies.deps import Access

R = TypeVar("R", bound=Record)

__all__ = ["SPECS"]

_NULLABLE = {
    ObservationSession: frozenset({"ended_at", "device_started_at"}),
    Intervention: frozenset({"form_key", "device_time"}),
    FieldNote: frozenset({"offset_seconds", "device_time"}),
}


def load_session(
    db: Session, access: Access, session_id: uuid.UUID, *, write: bool
) -> ObservationSession:
    obs = db.get(ObservationSession, session_id)
    gone = obs is None or obs.study_id != access.study.id
    if obs is None or gone or (obs.deleted_at is not None and not write):
        raise not_found("Observation session")
    if write:
        authorise_write(effective(access.role), access.user, obs.observer_id)
        session_live(obs)
    else:
        authorise_read(effective(access.role), access.user, obs.observer_id)
    return obs


def _ensure_new_id(db: Session, model: type[Record], record_id: uuid.UUID | None) -> None:
    if record_id is not None and db.get(model, record_id) is not None:
        raise error(409, "id_taken", "id", f"A record with id {record_id} already exists.")


def _apply(record: Record, changes: dict[str, Any]) -> None:
    if not changes:
        raise AppError(422, "empty_update", "Send at least one field to change.")
    nullable = _NULLABLE.get(type(record), frozenset())
    for key, value in changes.items():
        if value is None and key not in nullable:
            raise invalid(f"{key} cannot be null; leave it out to keep the current value.", key)
        setattr(record, key, value)


def _save(db: Session, record: Record) -> None:
    db.add(record)
    try:
        db.flush()
    except IntegrityError:
        # The checks ran first, so only a concurrent write gets here: say so, change nothing.
        raise conflict(
            "Someone else changed this at the same moment; reload and try again."
        ) from None


# --- observation sessions ------------------------------------------------------------------


def create_session(db: Session, access: Access, body: SessionCreate) -> ObservationSession:
    _ensure_new_id(db, ObservationSession, body.id)
    rec = ObservationSession(**body.model_dump(exclude={"id"}), study_id=access.study.id)
    if body.id is not None:
        rec.id = body.id
    check_observation_session(db, rec, access.user, True)
    _save(db, rec)
    return rec


def update_session(
    db: Session, access: Access, session_id: uuid.UUID, body: SessionUpdate
) -> ObservationSession:
    rec = load_session(db, access, session_id, write=True)
    _apply(rec, body.model_dump(exclude_unset=True))
    check_observation_session(db, rec, access.user, False)
    _save(db, rec)
    return rec


def delete_session(db: Session, access: Access, session_id: uuid.UUID) -> None:
    rec = load_session(db, access, session_id, write=True)
    rec.deleted_at = utcnow()
    check_observation_session(db, rec, access.user, False)
    _save(db, rec)


def session_action(
    db: Session,
    access: Access,
    session_id: uuid.UUID,
    action: Literal["pause", "resume", "end"],
    at: datetime | None,
) -> ObservationSession:
    """Pause, resume or end a running session at `at` (server time when omitted)."""
    rec = load_session(db, access, session_id, write=True)
    moment = at or utcnow()
    if rec.ended_at is not None:
        raise conflict(f"This session ended at {stamp(rec.ended_at)}.", code="session_ended")
    pauses = [dict(p) for p in rec.pauses]
    paused = bool(pauses) and pauses[-1].get("end") is None
    if action == "pause":
        if paused:
            raise conflict("This session is already paused.", code="already_paused")
        pauses.append({"start": iso(moment), "end": None})
    elif action == "resume":
        if not paused:
            raise conflict("This session is not paused.", code="not_paused")
        pauses[-1]["end"] = iso(moment)
    else:
        if paused:
            pauses[-1]["end"] = iso(moment)
        rec.ended_at = moment
    rec.pauses = pauses
    check_observation_session(db, rec, access.user, False)
    _save(db, rec)
    return rec


# --- interventions and field notes -----------------------------------------------------------


def _load_child(
    db: Session,
    access: Access,
    session_id: uuid.UUID,
    model: type[R],
    record_id: uuid.UUID,
    *,
    write: bool,
) -> R:
    obs = load_session(db, access, session_id, write=write)
    rec = db.get(model, record_id)
    label = LABELS[model.sync_entity]
    if rec is None or getattr(rec, "session_id", None) != obs.id:
        raise not_found(label.capitalize())
    if rec.deleted_at is not None:
        if not write:
            raise not_found(label.capitalize())
        raise conflict(
            f"This {label} was deleted; it can no longer be changed.",
            code=f"{model.sync_entity}_deleted",
        )
    return rec


def read_child(
    db: Session, access: Access, session_id: uuid.UUID, model: type[R], record_id: uuid.UUID
) -> R:
    return _load_child(db, access, session_id, model, record_id, write=False)


def create_child(
    db: Session,
    access: Access,
    session_id: uuid.UUID,
    body: InterventionCreate | FieldNoteCreate,
) -> Intervention | FieldNote:
    obs = load_session(db, access, session_id, write=True)
    model: type[Intervention] | type[FieldNote] = (
        Intervention if isinstance(body, InterventionCreate) else FieldNote
    )
    _ensure_new_id(db, model, body.id)
    rec = model(**body.model_dump(exclude={"id"}), session_id=obs.id)
    if body.id is not None:
        rec.id = body.id
    SPECS[model.sync_entity].check(db, rec, access.user, True)
    _save(db, rec)
    return rec


def update_child(
    db: Session,
    access: Access,
    session_id: uuid.UUID,
    model: type[R],
    record_id: uuid.UUID,
    body: InterventionUpdate | FieldNoteUpdate,
) -> R:
    rec = _load_child(db, access, session_id, model, record_id, write=True)
    _apply(rec, body.model_dump(exclude_unset=True))
    SPECS[model.sync_entity].check(db, rec, access.user, False)
    _save(db, rec)
    return rec


def delete_child(
    db: Session, access: Access, session_id: uuid.UUID, model: type[R], record_id: uuid.UUID
) -> None:
    rec = _load_child(db, access, session_id, model, record_id, write=True)
    rec.deleted_at = utcnow()
    SPECS[model.sync_entity].check(db, rec, access.user, False)
    _save(db, rec)


# --- the journal write-up (one per session) ---------------------------------------------------


def read_journal(db: Session, access: Access, session_id: uuid.UUID) -> JournalEntry:
    obs = load_session(db, access, session_id, write=False)
    rec = db.exec(
        select(JournalEntry).where(
            JournalEntry.session_id == obs.id, col(JournalEntry.deleted_at).is_(None)
        )
    ).first()
    if rec is None:
        raise not_found("Journal entry")
    return rec


def put_journal(db: Session, access: Access, session_id: uuid.UUID, text: str) -> JournalEntry:
    """Write or replace the session's write-up; a deleted one is revived (same id)."""
    obs = load_session(db, access, session_id, write=True)
    rec = db.exec(select(JournalEntry).where(JournalEntry.session_id == obs.id)).first()
    if rec is None:
        fields: dict[str, Any] = {"session_id": obs.id, "text": text}
        rec = JournalEntry(**fields)  # the check derives study, site and observer
        check_journal_entry(db, rec, access.user, True)
    else:
        rec.text = text
        rec.deleted_at = None
        check_journal_entry(db, rec, access.user, False)
    _save(db, rec)
    return rec


def delete_journal(db: Session, access: Access, session_id: uuid.UUID) -> None:
    rec = read_journal(db, access, session_id)
    load_session(db, access, session_id, write=True)  # readers may not delete
    rec.deleted_at = utcnow()
    check_journal_entry(db, rec, access.user, False)
    _save(db, rec)
