"""`executemany` for the push path's bulk inserts, without Core's per-row machinery.

Core's `conn.execute(insert, rows)` rebuilds a parameter dict per row, looks up each
bind's processor and converts the dict to the driver's format: at a push's hundreds of
rows over four tables that was most of the time its inserts took. Here the statement is
compiled once per dialect and key set, and each value goes through exactly the bind
processor Core would apply (UTC datetimes, UUIDs on SQLite), so the driver receives the
same values; rows then go to the driver's `executemany` in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.engine import Connection

Processor = Callable[[Any], Any] | None
_Plan = tuple[str, tuple[str, ...], tuple[Processor, ...], bool]
_PLANS: dict[tuple[str, Insert, tuple[str, ...]], _Plan | None] = {}
_INSERTS: dict[Table, Insert] = {}


def table_insert(table: Table) -> Insert:
    """`table.insert()`, one per table (plans are kept per statement)."""
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = table.insert()
    return stmt


def executemany(conn: Connection, stmt: Insert, rows: Sequence[dict[str, Any]]) -> None:
    """`conn.execute(stmt, rows)`; every row has the keys of the first. `stmt` is kept
    with its plan, so pass statements built once (`table_insert`), not one per call."""
    if not rows:
        return
    plan = _plan(conn, stmt, tuple(rows[0]))
    if plan is None:
        conn.execute(stmt, list(rows))
        return
    sql, names, procs, positional = plan
    columns = [_column([row[n] for row in rows], p) for n, p in zip(names, procs, strict=True)]
    if positional:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    conn.exec_driver_sql(sql, params)


def _column(values: list[Any], process: Processor) -> list[Any]:
    """One column's values through its bind processor. A batch repeats the same objects
    down a column (the push's `now`, a session's ids), so a value that `is` the one above
    reuses its result: the processors are pure, and the values immutable or unchanged
    during the call."""
    if process is None:
        return values
    out: list[Any] = []
    last: Any = _NOTHING
    done: Any = None
    for value in values:
        if value is not last:
            last, done = value, process(value)
        out.append(done)
    return out


_NOTHING = object()


def _plan(conn: Connection, stmt: Insert, keys: tuple[str, ...]) -> _Plan | None:
    """The compiled SQL, its bind names in order and their processors; None where Core
    must do the work (a column default to compute, escaped bind names)."""
    cache_key = (conn.dialect.name, stmt, keys)
    if cache_key in _PLANS:
        return _PLANS[cache_key]
    table = stmt.table
    columns = [k for k in keys if k in table.c]
    compiled = stmt.compile(dialect=conn.dialect, column_keys=columns)
    names = tuple(compiled.positiontup or compiled.binds)
    plan: _Plan | None = None
    # insert_prefetch: columns left out whose Python-side defaults Core would compute.
    if not compiled.insert_prefetch and not compiled.escaped_bind_names and set(names) <= set(keys):
        found = [compiled._bind_processors.get(n) for n in names]
        procs = tuple(p for p in found if p is None or callable(p))
        if len(procs) == len(found):  # a tuple-valued bind has a list of processors
            plan = (str(compiled), names, procs, bool(compiled.positional))
    _PLANS[cache_key] = plan
    return plan
