"""The served app checkpoints SQLite's WAL in the background (`checkpoint.py`)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fieldscope.app import create_app
from fieldscope.checkpoint import Checkpointer
from fieldscope.db import WAL_BACKSTOP_PAGES


def test_the_app_checkpoints_sqlite_in_the_background(engine: Engine) -> None:
    with TestClient(create_app(engine)) as client:
        checkpointer = client.app.state.checkpointer  # type: ignore[attr-defined]
        if engine.dialect.name != "sqlite":
            assert checkpointer is None  # PostgreSQL checkpoints itself
            return
        assert isinstance(checkpointer, Checkpointer)
        with engine.begin() as conn:
            # Commits leave their pages to it: SQLite's own threshold is only a backstop.
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_BACKSTOP_PAGES
            conn.execute(text("CREATE TABLE scratch (n INTEGER, pad TEXT)"))
            conn.execute(
                text("INSERT INTO scratch VALUES (:n, :pad)"),
                [{"n": i, "pad": "x" * 500} for i in range(2_000)],
            )
        deadline = time.monotonic() + 10
        while checkpointer.frames_checkpointed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.frames_checkpointed > 0
    assert not checkpointer._thread.is_alive()  # stopped with the app
