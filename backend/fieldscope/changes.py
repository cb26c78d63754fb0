"""Every change to a syncable record writes its audit event and change-log row here.

Hooked on the session's flush, so REST routes, sync pushes, the CLI and the demo loader
all produce them in the same transaction as the change itself. The request sets who
acts (`session.info["actor_id"]`), through what (`"via"`) and, for a pushed mutation,
which one (`"mutation_id"`, or per record `"mutation_by_record"` when one flush carries
several mutations) from which installed app (`"client_id"`).

Cursors come from a one-row counter bumped inside the writing transaction: its row lock
(PostgreSQL) or the database write lock (SQLite, BEGIN IMMEDIATE) is held to commit, so a
later cursor can never commit before an earlier one (SYNC.md invariant 8).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, event, inspect, select, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction

from fieldscope.audit.models import AuditEvent
from fieldscope.common.models import Record, utcnow
from fieldscope.errors import AppError
from fieldscope.sync.models import ChangeLogEntry

_BOOKKEEPING = frozenset({"version", "updated_at", "created_at"})
_CHANGE_LOG: Table = ChangeLogEntry.__table__  # type: ignore[attr-defined]
_AUDIT: Table = AuditEvent.__table__  # type: ignore[attr-defined]


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


def lock_writes(session: OrmSession) -> None:
    """Take the cursor lock now: every other writer of records waits until this commits."""
    session.execute(text("UPDATE change_cursor SET value = value WHERE id = 1"))


def _guard_stale(session: OrmSession, updates: list[Record]) -> None:
    """Refuse to overwrite a record another transaction changed after we read it.

    Runs after the cursor lock is taken, so every earlier writer has committed and a fresh
    statement sees its version. SQLite needs no check: its write lock is held from BEGIN
    IMMEDIATE, before anything was read.
    """
    if not updates or session.get_bind().dialect.name == "sqlite":
        return
    by_table: dict[Table, dict[uuid.UUID, int]] = {}
    for obj in updates:
        loaded = inspect(obj).committed_state.get("version", obj.version)
        by_table.setdefault(type(obj).__table__, {})[obj.id] = loaded  # type: ignore[attr-defined]
    for table, expected in by_table.items():
        rows = session.execute(
            select(table.c.id, table.c.version).where(table.c.id.in_(list(expected)))
        ).all()
        for rid, version in rows:
            if version != expected[rid]:
                raise AppError(
                    409,
                    "stale_record",
                    "Someone else changed this record while you were editing it; "
                    "reload it and try again.",
                )


def _before_flush(session: OrmSession, _ctx: UOWTransaction, _instances: Any) -> None:
    pending: list[tuple[Record, str, dict[str, tuple[Any, Any]]]] = []
    for obj in session.new:
        if isinstance(obj, Record):
            pending.append((obj, "create", {}))
    updates: list[Record] = []
    for obj in session.dirty:
        if not isinstance(obj, Record) or obj in session.new:
            continue
        fields = changed_fields(obj)
        if not fields:
            continue
        action = "delete" if "deleted_at" in fields and obj.deleted_at is not None else "update"
        updates.append(obj)
        pending.append((obj, action, fields))
    for obj in session.deleted:
        if isinstance(obj, Record):
            raise RuntimeError(f"{type(obj).__name__} is soft-deleted, never hard-deleted")
    if not pending:
        return

    cursor = allocate_cursors(session, len(pending))
    _guard_stale(session, updates)
    now = utcnow()
    info = session.info
    actor = info.get("actor_id")
    via = info.get("via", "api")
    client_id = info.get("client_id")
    default_mutation = info.get("mutation_id")
    by_record: dict[uuid.UUID, uuid.UUID] = info.get("mutation_by_record") or {}
    log_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []
    for offset, (obj, action, fields) in enumerate(pending):
        if action != "create":
            obj.version += 1
            obj.updated_at = now
        snap = obj.snapshot()
        private = obj.private_fields
        study_id = obj.study_scope()
        mutation_id = by_record.get(obj.id, default_mutation)
        log_rows.append(
            {
                "cursor": cursor + offset,
                "study_id": study_id,
                "owner_id": obj.owner_scope(),
                "entity": obj.sync_entity,
                "record_id": obj.id,
                "version": obj.version,
                "op": "delete" if action == "delete" else "upsert",
                "data": snap,
                "changed_fields": sorted(k for k in fields if k not in private) or sorted(snap),
                "actor_id": actor,
                "mutation_id": mutation_id,
                "client_id": client_id,
                "committed_at": now,
            }
        )
        if action == "create":
            before, after = None, snap
        else:
            # Audit keeps private fields too: the audit log never leaves the server.
            before = {k: _plain(old) for k, (old, _) in fields.items()}
            after = {k: _plain(new) for k, (_, new) in fields.items()}
        audit_rows.append(
            {
                "at": now,
                "actor_id": actor,
                "study_id": study_id,
                "entity": obj.sync_entity,
                "entity_id": obj.id,
                "action": action,
                "before": before,
                "after": after,
                "via": via,
                "mutation_id": mutation_id,
            }
        )
    # Core executemany: one round trip per table instead of one ORM object per row.
    conn = session.connection()
    conn.execute(_CHANGE_LOG.insert(), log_rows)
    conn.execute(_AUDIT.insert(), audit_rows)


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
