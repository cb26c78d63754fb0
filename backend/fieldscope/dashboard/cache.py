"""Dashboard results cached until the data changes.

Every change to a syncable record bumps the global change cursor in its own transaction
(`changes.py`), so "the cursor has not moved" means "no record changed": a result computed
at cursor N is exact for as long as the cursor is N. The server epoch is part of the key
too, so a database restored from a backup never serves results of the old one. The cursor
is read before the result is computed; a result may then include changes committed after
the read, but it is only served while no such change exists, so it is never stale.

Only functions of the data go through here (no `now`); the cache is per process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import select
from sqlmodel import Session, col

from fieldscope.sync.models import ChangeCursor, ServerState

T = TypeVar("T")

MAX_ENTRIES = 64

_lock = threading.Lock()
_entries: OrderedDict[Hashable, object] = OrderedDict()
stats = {"hits": 0, "misses": 0}
enabled = True  # benchmarks switch it off to measure the uncached queries


def data_version(session: Session) -> tuple[str, int]:
    row = session.execute(
        select(
            select(col(ServerState.epoch)).where(col(ServerState.id) == 1).scalar_subquery(),
            select(col(ChangeCursor.value)).where(col(ChangeCursor.id) == 1).scalar_subquery(),
        )
    ).one()
    return str(row[0]), int(row[1] or 0)


def cached(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    if not enabled:
        return compute()
    bind = session.get_bind()
    full_key = (str(bind.engine.url), data_version(session), key)
    with _lock:
        if full_key in _entries:
            _entries.move_to_end(full_key)
            stats["hits"] += 1
            return _entries[full_key]  # type: ignore[return-value]
    value = compute()
    with _lock:
        stats["misses"] += 1
        _entries[full_key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
