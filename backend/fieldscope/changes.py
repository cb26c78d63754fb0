"""Every change to a syncable record writes its audit event and change-log row here.

Hooked on the session's flush, so REST routes, sync pushes, the CLI and the demo loader
all produce them in the same transaction as the change itself. The request sets who
acts (`session.info["actor_id"]`), through what (`"via"`) and, for a pushed mutation,
which one (`"mutation_id"`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction

from fieldscope.audit.models import AuditEvent
from fieldscope.common.models import Record, utcnow
from fieldscope.sync.models import ChangeLogEntry

_BOOKKEEPING = frozenset({"version", "updated_at", "created_at"})


def set_actor(
    session: OrmSession,
    actor_id: uuid.UUID | None,
    *,
    via: str = "api",
    mutation_id: uuid.UUID | None = None,
) -> None:
    session.info["actor_id"] = actor_id
    session.info["via"] = via
    session.info["mutation_id"] = mutation_id


def changed_fields(obj: Record) -> dict[str, tuple[Any, Any]]:
    """Field -> (old, new) for the unflushed changes of a persistent record."""
    state = inspect(obj)
    out: dict[str, tuple[Any, Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in _BOOKKEEPING:
            continue
        hist = state.attrs[key].history
        if hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                out[key] = (old, new)
    return out


def allocate_cursors(session: OrmSession, count: int) -> int:
    """Reserve `count` cursors; returns the first. Holds the counter's row lock to commit."""
    last = session.execute(
        text("UPDATE change_cursor SET value = value + :n WHERE id = 1 RETURNING value"),
        {"n": count},
    ).scalar_one()
    return int(last) - count + 1


def _before_flush(session: OrmSession, _ctx: UOWTransaction, _instances: Any) -> None:
    pending: list[tuple[Record, str, dict[str, tuple[Any, Any]]]] = []
    for obj in session.new:
        if isinstance(obj, Record):
            pending.append((obj, "create", {}))
    for obj in session.dirty:
        if not isinstance(obj, Record) or obj in session.new:
            continue
        fields = changed_fields(obj)
        if not fields:
            continue
        action = "delete" if "deleted_at" in fields and obj.deleted_at is not None else "update"
        obj.version += 1
        obj.updated_at = utcnow()
        pending.append((obj, action, fields))
    for obj in session.deleted:
        if isinstance(obj, Record):
            raise RuntimeError(f"{type(obj).__name__} is soft-deleted, never hard-deleted")
    if not pending:
        return

    now = utcnow()
    actor = session.info.get("actor_id")
    via = session.info.get("via", "api")
    mutation_id = session.info.get("mutation_id")
    cursor = allocate_cursors(session, len(pending))
    for offset, (obj, action, fields) in enumerate(pending):
        snap = obj.snapshot()
        private = obj.private_fields
        session.add(
            ChangeLogEntry(
                cursor=cursor + offset,
                study_id=obj.study_scope(),
                owner_id=obj.owner_scope(),
                entity=obj.sync_entity,
                record_id=obj.id,
                version=obj.version,
                op="delete" if action == "delete" else "upsert",
                data=snap,
                changed_fields=sorted(k for k in fields if k not in private) or sorted(snap),
                actor_id=actor,
                mutation_id=mutation_id,
                committed_at=now,
            )
        )
        if action == "create":
            before, after = None, snap
        else:
            # Audit keeps private fields too: the audit log never leaves the server.
            before = {k: _plain(old) for k, (old, _) in fields.items()}
            after = {k: _plain(new) for k, (_, new) in fields.items()}
        session.add(
            AuditEvent(
                at=now,
                actor_id=actor,
                study_id=obj.study_scope(),
                entity=obj.sync_entity,
                entity_id=obj.id,
                action=action,
                before=before,
                after=after,
                via=via,
                mutation_id=mutation_id,
            )
        )


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def install() -> None:
    if not event.contains(OrmSession, "before_flush", _before_flush):
        event.listen(OrmSession, "before_flush", _before_flush)


install()
