"""`common.bulk.executemany` writes exactly what Core's executemany writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from fieldscope.audit.models import AuditEvent
from fieldscope.changes import insert_json_text
from fieldscope.common.bulk import _plan, executemany, table_insert
from fieldscope.sync.models import ChangeCursor, ChangeLogEntry

LOG = ChangeLogEntry.__table__  # type: ignore[attr-defined]
AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
CURSOR = ChangeCursor.__table__  # type: ignore[attr-defined]
T0 = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)


def _log_rows(first: int) -> list[dict[str, object]]:
    east = timezone(timedelta(hours=5, minutes=30))  # stored as UTC, like Core does
    return [
        {
            "cursor": first + i,
            "study_id": uuid.uuid4(),
            "owner_id": None if i % 2 else uuid.uuid4(),
            "entity": "intervention",
            "record_id": uuid.uuid4(),
            "version": i + 1,
            "op": "upsert",
            "data_json": f'{{"quote":"\\u00e9t\\u00e9 {i}","n":{i}}}',
            "changed_fields_json": '["quote"]',
            "actor_id": None,
            "mutation_id": uuid.uuid4(),
            "client_id": None,
            "committed_at": (T0 + timedelta(seconds=i)).astimezone(east),
        }
        for i in range(3)
    ]


def _read(engine: Engine, first: int) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(LOG).where(LOG.c.cursor >= first).order_by(LOG.c.cursor))
        return [{k: v for k, v in r._mapping.items() if k != "cursor"} for r in rows]


def test_rows_equal_cores(engine: Engine) -> None:
    stmt = insert_json_text(engine.connect(), LOG, "data", "changed_fields")
    rows = _log_rows(1000)
    with engine.begin() as conn:
        conn.execute(stmt, rows)
    by_core = _read(engine, 1000)
    with engine.begin() as conn:
        conn.execute(delete(LOG).where(LOG.c.cursor >= 1000))
        assert _plan(conn, stmt, tuple(rows[0])) is not None  # the driver path, not Core's
        executemany(conn, stmt, rows)
    ours = _read(engine, 1000)
    assert ours == by_core
    assert ours[0]["committed_at"] == T0 and ours[0]["data"] == {"quote": "été 0", "n": 0}


def test_autoincrement_ids_and_json_columns(engine: Engine) -> None:
    rows = [
        {
            "at": T0,
            "actor_id": None,
            "study_id": None,
            "entity": "participant",
            "entity_id": uuid.uuid4(),
            "action": "update",
            "before": {"code": "A-01"},
            "after_json": '{"code":"A-02"}',
            "via": "sync",
            "mutation_id": None,
        }
        for _ in range(2)
    ]
    with engine.begin() as conn:
        stmt = insert_json_text(conn, AUDIT, "after")
        assert _plan(conn, stmt, tuple(rows[0])) is not None
        executemany(conn, stmt, rows)
        got = conn.execute(select(AUDIT).order_by(AUDIT.c.id)).all()
    assert [r.before for r in got] == [{"code": "A-01"}] * 2
    assert [r.after for r in got] == [{"code": "A-02"}] * 2
    assert len({r.id for r in got}) == 2


def test_python_side_default_falls_back_to_core(engine: Engine) -> None:
    # change_cursor.value has a Core default: rows without it still get it.
    with engine.begin() as conn:
        conn.execute(delete(CURSOR).where(CURSOR.c.id == 7))
        assert _plan(conn, table_insert(CURSOR), ("id",)) is None
        executemany(conn, table_insert(CURSOR), [{"id": 7}])
        value = conn.execute(select(CURSOR.c.value).where(CURSOR.c.id == 7)).scalar_one()
        conn.execute(delete(CURSOR).where(CURSOR.c.id == 7))
    assert value == 0
