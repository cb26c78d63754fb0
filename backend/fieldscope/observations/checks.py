"""Observation sessions, interventions, field notes and journal write-ups.

The four `check_*` functions are the one gate for every write, REST or sync (they are
registered as EntitySpecs at the bottom). Each gets the record in its new state:
- create: a transient record with the client's fields set (raw JSON values are fine,
  they are parsed here), `is_new=True`;
- update: the persistent record with the changed fields set, `is_new=False`; old
  values are read from the attribute history, so call it before flushing;
- delete: the persistent record with `deleted_at` set, `is_new=False`.
A check authorises the actor, validates, fills server-derived fields (study, site,
observer, duration, retrospective, code_retired) and raises AppError; it never flushes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, inspect
from sqlalchemy.orm.attributes import instance_state, set_attribute
from sqlmodel import Session, col, select

from fieldscope.auth.models import Role, User
from fieldscope.auth.service import membership
from fieldscope.codebook.service import validate_tag
from fieldscope.common.models import Record
from fieldscope.common.validation import problem_from
from fieldscope.errors import AppError, conflict, forbidden, invalid, not_found
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import FieldNote, Intervention, JournalEntry, ObservationSession
from fieldscope.observations.schemas import (
    FieldNoteFields,
    InterventionFields,
    JournalFields,
    SessionFields,
)
from fieldscope.participants.models import Consent, Participant
from fieldscope.registry import EntitySpec, register
from fieldscope.studies.models import Site, Study

R = TypeVar("R", bound=Record)
M = TypeVar("M", bound=BaseModel)
Child = Intervention | FieldNote | JournalEntry

LABELS = {
    "observation_session": "observation session",
    "intervention": "intervention",
    "field_note": "field note",
    "journal_entry": "journal entry",
}


# --- lookups a push repeats for every mutation -----------------------------------------------

_MEMO = "fieldscope.observations.memo"


def _memo(session: Session) -> dict[Any, Any]:
    """Per-transaction memo (a push checks hundreds of records against the same session,
    study and codebook). It holds only what a push cannot change: memberships, codebooks."""
    memo: dict[Any, Any] | None = session.info.get(_MEMO)
    if memo is None:
        memo = session.info[_MEMO] = {}
    return memo


def _get(session: Session, model: type[R], key: uuid.UUID) -> R | None:
    """`session.get`, keeping the row referenced: the identity map holds rows weakly, so
    without this every check of a batch would load the same session again.

    A kept row still persistent in this session and fully loaded is what `session.get`
    would return, so it is returned directly (a dict lookup instead of the ORM's get). One
    a rolled-back savepoint expunged or expired goes through `session.get` again.
    """
    memo = _memo(session)
    kept = memo.get((model, key))
    if kept is not None:
        state = instance_state(kept)
        current = state.session_id == session.hash_key and state.persistent
        if current and not state.expired_attributes:
            row: R = kept
            return row
    found = session.get(model, key)
    if found is not None:
        memo[(model, key)] = found
    return found


# --- who may do what -----------------------------------------------------------------------


def study_role(session: Session, actor: User, study_id: uuid.UUID | None) -> Role | None:
    """The actor's role in a live study (an admin without membership acts as PI).

    None: an outsider, or the study is gone; callers answer as if the record did not exist.
    """
    if study_id is None:
        return None
    memo, key = _memo(session), ("role", actor.id, study_id)
    if key not in memo:
        study = _get(session, Study, study_id)
        member = membership(session, actor, study_id) if study is not None else None
        if study is None or study.deleted_at is not None:
            memo[key] = None
        elif member is not None:
            memo[key] = member.role
        else:
            memo[key] = Role.pi if actor.is_admin else None
    role: Role | None = memo[key]
    return role


def effective(role: Role | None) -> Role:
    """A route's `Access.role` (None for an admin without membership) as a role."""
    return Role.pi if role is None else role


def authorise_read(role: Role, actor: User, owner_id: uuid.UUID) -> None:
    if role is Role.fieldworker and owner_id != actor.id:
        raise forbidden("This observation session belongs to another fieldworker.")


def authorise_write(role: Role, actor: User, owner_id: uuid.UUID) -> None:
    if role is Role.analyst:
        raise forbidden("Analysts can read observation data but not change it.")
    if role is Role.fieldworker and owner_id != actor.id:
        raise forbidden(
            "This observation session belongs to another fieldworker; "
            "only they or a PI can change it."
        )


# --- shared pieces of the checks ---------------------------------------------------------


def _expect(record: Record, model: type[R]) -> R:
    if not isinstance(record, model):
        raise TypeError(f"expected {model.__name__}, got {type(record).__name__}")
    return record


def _old(record: Record, key: str) -> Any:
    """The value `key` had when loaded (before the unflushed change being checked)."""
    hist = inspect(record).attrs[key].history
    if hist.deleted:
        return hist.deleted[0]
    return getattr(record, key)


def _changed(record: Record, key: str) -> bool:
    return bool(_old(record, key) != getattr(record, key))


def _immutable(record: Record, *keys: str) -> None:
    for key in keys:
        if _changed(record, key):
            raise invalid(
                f"{key} cannot be changed once the record exists.", key, code="read_only_field"
            )


Lifecycle = Literal["live", "deleting"]


def _lifecycle(record: Record, is_new: bool) -> Lifecycle:
    """Refuse writes to tombstones; tell a soft delete apart from an edit."""
    label = LABELS[record.sync_entity]
    if is_new:
        if record.deleted_at is not None:
            raise invalid(f"A new {label} cannot be created deleted.", "deleted_at")
        return "live"
    was_deleted = _old(record, "deleted_at") is not None
    if was_deleted and record.deleted_at is not None:
        raise conflict(
            f"This {label} was deleted; it can no longer be changed.",
            code=f"{record.sync_entity}_deleted",
        )
    # A tombstone revived (journal PUT, a device's edit after a delete, a conflict
    # restored) is checked like an edit.
    return "deleting" if record.deleted_at is not None else "live"


_REQUIRED: dict[type[BaseModel], tuple[tuple[str, bool], ...]] = {}


def _field_names(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """(name, required) of each field of `model`, computed once per model."""
    names = _REQUIRED.get(model)
    if names is None:
        names = _REQUIRED[model] = tuple(
            (name, info.is_required()) for name, info in model.model_fields.items()
        )
    return names


def _set(record: Record, key: str, value: Any) -> None:
    """Set a column attribute through SQLAlchemy's instrumentation (what the table model's
    `__setattr__` does first; its pydantic half only tracks fields set for `exclude_unset`,
    which records never use). A record not yet written has no history to keep: an insert
    writes what it holds, so the value goes straight into its state."""
    if instance_state(record).key is None:
        record.__dict__[key] = value
    else:
        set_attribute(record, key, value)


def _coerce(record: Record, model: type[M]) -> M:
    """Parse the record's writable fields with `model` and store the parsed values.

    A pushed mutation carries raw JSON (strings for ids and times). A required field left
    None says "Field required"; null for a field with a non-null default is refused, not
    quietly replaced by the default.
    """
    names = _field_names(model)
    loaded = record.__dict__  # what is loaded; anything else (expired) through getattr
    data = {}
    for name, required in names:
        value = loaded[name] if name in loaded else getattr(record, name, None)
        if value is not None or not required:
            data[name] = value
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise problem_from(exc) from None
    values = parsed.__dict__
    for name, _required in names:
        value = values[name]
        if isinstance(value, list):
            value = [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
        old = loaded[name] if name in loaded else getattr(record, name, None)
        if type(old) is not type(value) or old != value:
            _set(record, name, value)
    return parsed


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def error(status: int, code: str, field: str, detail: str) -> AppError:
    return AppError(status, code, detail, errors=[{"field": field, "message": detail}])


# --- observation sessions -----------------------------------------------------------------


def check_observation_session(session: Session, record: Record, actor: User, is_new: bool) -> None:
    rec = _expect(record, ObservationSession)
    with session.no_autoflush:
        _check_session(session, rec, actor, is_new)


def _check_session(db: Session, rec: ObservationSession, actor: User, is_new: bool) -> None:
    stage = _lifecycle(rec, is_new)
    if not is_new:
        _immutable(rec, "study_id", "site_id", "observer_id")
        role = study_role(db, actor, rec.study_id)
        if role is None:
            raise not_found("Observation session")
        authorise_write(role, actor, rec.observer_id)
        if stage == "deleting":
            _cascade_delete(db, rec)
            return
    fields = _coerce(rec, SessionFields)
    if is_new or _changed(rec, "meeting_id"):
        meeting, role = _meeting(db, actor, fields.meeting_id, getattr(rec, "study_id", None))
        if is_new:
            authorise_write(role, actor, actor.id)
            rec.study_id = meeting.study_id
            rec.observer_id = actor.id
        elif meeting.site_id != rec.site_id and _has_children(db, rec.id):
            raise error(
                409,
                "session_has_records",
                "meeting_id",
                "This session already has interventions or notes from its meeting's site; "
                "it can move only to a meeting at the same site.",
            )
        rec.site_id = meeting.site_id
    rec.pauses, rec.duration_seconds = _pauses_and_duration(fields)
    if is_new and rec.ended_at is not None:
        rec.retrospective = True  # created already ended: entered after the fact
    if not is_new and rec.ended_at is not None:
        _children_within(db, rec)
    if not is_new and (was_deleted := _old(rec, "deleted_at")) is not None:
        _cascade_restore(db, rec, was_deleted)


def _meeting(
    db: Session, actor: User, meeting_id: uuid.UUID, study_id: uuid.UUID | None
) -> tuple[Meeting, Role]:
    """A live meeting of the record's study (of any study the actor is in, for a push)."""
    meeting = _get(db, Meeting, meeting_id)
    role = None
    if (
        meeting is not None
        and meeting.deleted_at is None
        and (study_id is None or meeting.study_id == study_id)
    ):
        role = study_role(db, actor, meeting.study_id)
    if meeting is None or role is None:
        raise error(
            422, "unknown_meeting", "meeting_id", f"No meeting with id {meeting_id} in this study."
        )
    return meeting, role


def _pauses_and_duration(fields: SessionFields) -> tuple[list[dict[str, Any]], float | None]:
    start, end = fields.started_at, fields.ended_at
    if end is not None and end < start:
        raise error(
            422,
            "end_before_start",
            "ended_at",
            f"ended_at ({stamp(end)}) is before started_at ({stamp(start)}).",
        )
    # Stored in time order; errors name the index the client sent.
    order = sorted(range(len(fields.pauses)), key=lambda i: fields.pauses[i].start)
    paused = 0.0
    previous: tuple[int, datetime | None] | None = None
    for i in order:
        pause, name = fields.pauses[i], f"pauses.{i}"
        if pause.end is not None and pause.end < pause.start:
            raise error(
                422,
                "pause_end_before_start",
                name,
                f"{name} ends ({stamp(pause.end)}) before it starts ({stamp(pause.start)}).",
            )
        if pause.start < start or (end is not None and pause.end is not None and pause.end > end):
            raise error(
                422,
                "pause_outside_session",
                name,
                f"{name} ({stamp(pause.start)} to "
                f"{stamp(pause.end) if pause.end else 'open'}) is outside the session "
                f"({stamp(start)} to {stamp(end) if end else 'open'}).",
            )
        if end is not None and pause.end is None:
            raise error(
                422,
                "pause_not_ended",
                name,
                f"{name} has no end but the session ended at {stamp(end)}; end the pause first.",
            )
        if previous is not None:
            j, prev_end = previous
            if prev_end is None or pause.start < prev_end:
                raise error(
                    422,
                    "pauses_overlap",
                    name,
                    f"{name} starts at {stamp(pause.start)}, before pauses.{j} has ended.",
                )
        if pause.end is not None:
            paused += (pause.end - pause.start).total_seconds()
        previous = (i, pause.end)
    stored = [
        {
            "start": iso(fields.pauses[i].start),
            "end": iso(e) if (e := fields.pauses[i].end) else None,
        }
        for i in order
    ]
    if end is None:
        return stored, None
    return stored, (end - start).total_seconds() - paused


def _has_children(db: Session, session_id: uuid.UUID) -> bool:
    for model in (Intervention, FieldNote, JournalEntry):
        found = db.exec(
            select(model.id).where(model.session_id == session_id, col(model.deleted_at).is_(None))
        ).first()
        if found is not None:
            return True
    return False


def _children_within(db: Session, rec: ObservationSession) -> None:
    """An ended session may not leave tagged interventions or notes after its end."""
    assert rec.ended_at is not None
    span = (rec.ended_at - rec.started_at).total_seconds()
    for model, label in ((Intervention, "intervention"), (FieldNote, "field note")):
        latest, count = db.exec(
            select(func.max(model.offset_seconds), func.count()).where(
                model.session_id == rec.id,
                col(model.deleted_at).is_(None),
                col(model.offset_seconds) > span,
            )
        ).one()
        if count:
            raise error(
                409,
                "records_after_end",
                "ended_at",
                f"ended_at would make the session {span:g} s long, but {count} {label}(s) "
                f"are recorded later (the latest at {latest:g} s). Move or delete them first.",
            )


def _cascade_restore(db: Session, rec: ObservationSession, deleted_at: datetime) -> None:
    """A session brought back (a device edited it after a delete, or a PI restored it)
    brings back what its delete took along: the children tombstoned at the same instant."""
    for model in (Intervention, FieldNote, JournalEntry):
        rows = db.exec(
            select(model).where(model.session_id == rec.id, model.deleted_at == deleted_at)
        ).all()
        for child in rows:
            child.deleted_at = None
            db.add(child)


def _cascade_delete(db: Session, rec: ObservationSession) -> None:
    """A deleted session takes its interventions, notes and write-up with it (as tombstones)."""
    for model in (Intervention, FieldNote, JournalEntry):
        rows = db.exec(
            select(model).where(model.session_id == rec.id, col(model.deleted_at).is_(None))
        ).all()
        for child in rows:
            child.deleted_at = rec.deleted_at
            db.add(child)


# --- interventions, field notes, journal entries ------------------------------------------


def _parent(db: Session, actor: User, rec: Child, session_id: uuid.UUID) -> ObservationSession:
    """The session a child record hangs off, authorised for writing; derives the child's scope."""
    obs = _get(db, ObservationSession, session_id)
    role = study_role(db, actor, obs.study_id) if obs is not None else None
    if obs is None or role is None:
        raise error(
            422, "unknown_session", "session_id", f"No observation session with id {session_id}."
        )
    authorise_write(role, actor, obs.observer_id)
    for key in ("study_id", "site_id", "observer_id"):
        value = getattr(obs, key)
        if getattr(rec, key, None) != value:
            _set(rec, key, value)
    return obs


def _child_prelude(db: Session, rec: Child, actor: User, is_new: bool) -> ObservationSession | None:
    """Authorise an edit or delete on the stored state. None: a delete, nothing more to do."""
    stage = _lifecycle(rec, is_new)
    if is_new:
        return None
    _immutable(rec, "study_id", "site_id", "observer_id", "session_id")
    obs = _parent(db, actor, rec, rec.session_id)
    if stage == "deleting":
        return None
    session_live(obs)
    return obs


def session_live(obs: ObservationSession) -> None:
    if obs.deleted_at is not None:
        raise error(
            409,
            "session_deleted",
            "session_id",
            "This observation session was deleted; nothing more can be recorded in it.",
        )


def _offset_within(obs: ObservationSession, offset: float | None) -> None:
    if offset is None or obs.ended_at is None:
        return
    span = (obs.ended_at - obs.started_at).total_seconds()
    if offset > span:
        raise error(
            422,
            "offset_after_end",
            "offset_seconds",
            f"offset_seconds ({offset:g} s) is after the end of the session, "
            f"which lasted {span:g} s from its start.",
        )


def check_intervention(session: Session, record: Record, actor: User, is_new: bool) -> None:
    rec = _expect(record, Intervention)
    with session.no_autoflush:
        _check_intervention(session, rec, actor, is_new)


def _check_intervention(db: Session, rec: Intervention, actor: User, is_new: bool) -> None:
    obs = _child_prelude(db, rec, actor, is_new)
    if obs is None and not is_new:
        return  # a delete, authorised
    fields = _coerce(rec, InterventionFields)
    if obs is None:
        obs = _parent(db, actor, rec, fields.session_id)
        session_live(obs)
    if is_new or _changed(rec, "participant_id"):
        _taggable_participant(db, obs, fields.participant_id)
    if is_new or any(_changed(rec, k) for k in ("codebook_version_id", "code_key", "form_key")):
        retired = _retired(db, obs.study_id, fields)
        if rec.code_retired != retired:
            _set(rec, "code_retired", retired)
    _offset_within(obs, fields.offset_seconds)


def _retired(db: Session, study_id: uuid.UUID, fields: InterventionFields) -> bool:
    """`validate_tag`, memoised: published codebook versions are immutable and a push
    cannot publish one, so the answer holds for the whole transaction."""
    memo = _memo(db)
    key = ("tag", study_id, fields.codebook_version_id, fields.code_key, fields.form_key)
    if key not in memo:
        memo[key] = validate_tag(
            db, study_id, fields.codebook_version_id, fields.code_key, fields.form_key
        )
    retired: bool = memo[key]
    return retired


def _taggable_participant(db: Session, obs: ObservationSession, participant_id: uuid.UUID) -> None:
    person = _get(db, Participant, participant_id)
    if person is None or person.deleted_at is not None or person.study_id != obs.study_id:
        raise error(
            422,
            "unknown_participant",
            "participant_id",
            f"No participant with id {participant_id} in this study.",
        )
    if person.site_id != obs.site_id:
        theirs, ours = db.get(Site, person.site_id), db.get(Site, obs.site_id)
        raise error(
            422,
            "participant_other_site",
            "participant_id",
            f"Participant {person.code} belongs to site {theirs.code if theirs else '?'}, "
            f"but this session observes a meeting at site {ours.code if ours else '?'}.",
        )
    if person.consent != Consent.consented:
        raise error(
            422,
            "participant_not_consented",
            "participant_id",
            f"Participant {person.code} has {Consent(person.consent).value} consent "
            "and cannot be tagged.",
        )


def check_field_note(session: Session, record: Record, actor: User, is_new: bool) -> None:
    rec = _expect(record, FieldNote)
    with session.no_autoflush:
        obs = _child_prelude(session, rec, actor, is_new)
        if obs is None and not is_new:
            return
        fields = _coerce(rec, FieldNoteFields)
        if obs is None:
            obs = _parent(session, actor, rec, fields.session_id)
            session_live(obs)
        _offset_within(obs, fields.offset_seconds)


def check_journal_entry(session: Session, record: Record, actor: User, is_new: bool) -> None:
    rec = _expect(record, JournalEntry)
    with session.no_autoflush:
        obs = _child_prelude(session, rec, actor, is_new)
        if obs is None and not is_new:
            return
        fields = _coerce(rec, JournalFields)
        if obs is None:
            obs = _parent(session, actor, rec, fields.session_id)
            session_live(obs)
            other = session.exec(
                select(JournalEntry.id).where(
                    JournalEntry.session_id == obs.id, JournalEntry.id != rec.id
                )
            ).first()
            if other is not None:
                raise error(
                    409,
                    "journal_exists",
                    "session_id",
                    "This session already has a journal write-up; edit that one instead.",
                )


# --- registration: the same checks for sync pushes --------------------------------------------

SPECS: dict[str, EntitySpec] = {
    spec.name: register(spec)
    for spec in (
        EntitySpec(
            name="observation_session",
            model=ObservationSession,
            writable=frozenset(
                {
                    "meeting_id",
                    "started_at",
                    "ended_at",
                    "pauses",
                    "retrospective",
                    "device_started_at",
                }
            ),
            check=check_observation_session,
        ),
        EntitySpec(
            name="intervention",
            model=Intervention,
            writable=frozenset(
                {
                    "session_id",
                    "participant_id",
                    "codebook_version_id",
                    "code_key",
                    "form_key",
                    "offset_seconds",
                    "device_time",
                    "quote",
                    "note",
                    "agenda_item",
                }
            ),
            check=check_intervention,
        ),
        EntitySpec(
            name="field_note",
            model=FieldNote,
            writable=frozenset({"session_id", "kind", "offset_seconds", "device_time", "text"}),
            check=check_field_note,
        ),
        EntitySpec(
            name="journal_entry",
            model=JournalEntry,
            writable=frozenset({"session_id", "text"}),
            check=check_journal_entry,
        ),
    )
}
