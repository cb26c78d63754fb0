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

import json
import uuid
from typing import Any

from sqlalchemy import Insert, Table, Text, bindparam, cast, event, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlalchemy.orm.attributes import instance_state

from fieldscope.audit.models import AuditEvent
from fieldscope.common.bulk import executemany, table_insert
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
    if pending:
        _write_changes(session, pending, updates)


def _write_changes(
    session: OrmSession,
    pending: list[tuple[Record, str, dict[str, tuple[Any, Any]]]],
    updates: list[Record],
) -> None:
    """Cursors, version bumps, change-log rows and audit events for `pending` changes."""
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
        # Serialised once, by pydantic: the change log's data and a create's audit `after`.
        snap = obj.snapshot_json()
        private = obj.private_fields
        study_id = obj.study_scope()
        mutation_id = by_record.get(obj.id, default_mutation)
        visible = sorted(k for k in fields if k not in private)
        every_key = "" if visible else _snapshot_keys_json(type(obj))
        log_rows.append(
            {
                "cursor": cursor + offset,
                "study_id": study_id,
                "owner_id": obj.owner_scope(),
                "entity": obj.sync_entity,
                "record_id": obj.id,
                "version": obj.version,
                "op": "delete" if action == "delete" else "upsert",
                "data_json": snap,
                "changed_fields_json": json.dumps(visible) if visible else every_key,
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
            after = json.dumps({k: _plain(new) for k, (_, new) in fields.items()})
        audit_rows.append(
            {
                "at": now,
                "actor_id": actor,
                "study_id": study_id,
                "entity": obj.sync_entity,
                "entity_id": obj.id,
                "action": action,
                "before": before,
                "after_json": after,
                "via": via,
                "mutation_id": mutation_id,
            }
        )
    # One executemany per table instead of one ORM object per row.
    conn = session.connection()
    executemany(conn, insert_json_text(conn, _CHANGE_LOG, "data", "changed_fields"), log_rows)
    executemany(conn, insert_json_text(conn, _AUDIT, "after"), audit_rows)


_SNAPSHOT_KEYS: dict[type[Record], str] = {}


def _snapshot_keys_json(model: type[Record]) -> str:
    """The keys of a snapshot (every field but the private ones), sorted, as JSON."""
    if model not in _SNAPSHOT_KEYS:
        keys = sorted(k for k in model.model_fields if k not in model.private_fields)
        _SNAPSHOT_KEYS[model] = json.dumps(keys)
    return _SNAPSHOT_KEYS[model]


_JSON_TEXT_INSERTS: dict[tuple[str, str, tuple[str, ...]], Insert] = {}


def insert_json_text(conn: Connection, table: Table, *columns: str) -> Insert:
    """An INSERT into `table` whose JSON `columns` take text already serialised, each as
    the parameter `<column>_json` (the JSON type would serialise it again)."""
    key = (conn.dialect.name, table.name, columns)
    stmt = _JSON_TEXT_INSERTS.get(key)
    if stmt is None:
        values: dict[str, Any] = {}
        for column in columns:
            param = bindparam(f"{column}_json", type_=Text())
            # SQLite stores JSON as text; PostgreSQL needs the cast to json/jsonb.
            sqlite = conn.dialect.name == "sqlite"
            values[column] = param if sqlite else cast(param, table.c[column].type)
        stmt = _JSON_TEXT_INSERTS[key] = table.insert().values(values)
    return stmt


# Models another flush hook watches (totals coverage): their new rows stay in the unit of
# work so the hook sees them.
_UOW_ONLY: set[type[Record]] = set()


def keep_in_unit_of_work(*models: type[Record]) -> None:
    _UOW_ONLY.update(models)


def insert_new(session: OrmSession, records: list[Record]) -> None:
    """Flush, writing these new records with one `executemany` per table instead of the
    ORM's unit of work (several times cheaper per row).

    The same bookkeeping as the flush hook, by the same code: a cursor, a change-log row and
    an audit event per record, in the order given, before any other change of the flush
    (as the hook orders them). Then the records are registered as persistent exactly as a
    flush registers what it inserted (a rolled-back savepoint expunges them again), and
    `session.flush()` writes the remaining changes. When anything else is pending (records
    an autoflush already wrote are not; models another flush hook watches, other new
    objects), the whole flush goes through the unit of work as usual.
    """
    bulk = [r for r in records if instance_state(r).pending and type(r) not in _UOW_ONLY]
    if not bulk or len(session.new) != len(bulk) or session.deleted:
        session.flush()
        return
    with session.no_autoflush:
        _write_changes(session, [(r, "create", {}) for r in bulk], [])
        by_table: dict[Table, list[Record]] = {}
        for record in bulk:
            by_table.setdefault(type(record).__table__, []).append(record)  # type: ignore[attr-defined]
        conn = session.connection()
        for table in sorted(by_table, key=_table_order):  # referenced tables first
            keys = [c.key for c in table.columns]
            rows = [{k: r.__dict__.get(k) for k in keys} for r in by_table[table]]
            executemany(conn, table_insert(table), rows)
        # What the unit of work does after its own inserts (UOWTransaction.finalize_flush_changes).
        session._register_persistent({instance_state(r) for r in bulk})
    session.flush()


_TABLE_ORDER: dict[Table, int] = {}


def _table_order(table: Table) -> int:
    """Position of `table` in the metadata's dependency order (referenced tables first)."""
    order = _TABLE_ORDER.get(table)
    if order is None:
        from fieldscope.common.models import metadata

        # Built whole, then merged: another thread may be reading the map meanwhile.
        fresh = {t: i for i, t in enumerate(metadata.sorted_tables)}
        _TABLE_ORDER.update(fresh)
        order = fresh[table]
    return order


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
