"""Engine, sessions and the one transaction boundary per request.

Routes never commit: `get_session` commits once when the route returns, or rolls back
when it raises. On SQLite a writing request starts with BEGIN IMMEDIATE so two writers
queue on the database lock instead of failing half-way with SQLITE_BUSY.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from fieldscope.settings import get_settings

_engines: dict[str, Engine] = {}

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WAL_BACKSTOP_PAGES = 10_000  # ~40 MB of WAL


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    busy_ms = get_settings().sqlite_busy_timeout_ms

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (SQLAlchemy docs,
        # "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        # A backstop only: the served app checkpoints in the background (`checkpoint.py`),
        # so the commit that crosses SQLite's default 1,000 pages no longer pays for it.
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def open_session(engine: Engine, *, write: bool = False) -> Session:
    session = Session(engine, expire_on_commit=False)
    if write and is_sqlite(engine):
        session.connection(execution_options={"sqlite_immediate": True})
    return session


@contextmanager
def transaction(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """One unit of work outside HTTP (CLI, demo loader, benchmarks)."""
    session = open_session(engine or get_engine(), write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    session = open_session(engine, write=request.method in WRITE_METHODS)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
