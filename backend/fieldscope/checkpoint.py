"""Background WAL checkpoints for a served SQLite database.

Why: SQLite checkpoints inside the commit that takes the WAL past its threshold, so one
request in a few paid 30-60 ms for copying pages into a large database file (the p95 of a
dashboard matrix after new tags: 220 ms with it, 165 ms with the WAL checkpointed apart).
A thread runs a PASSIVE checkpoint every second instead (settings); it never waits for
readers or writers. Commits still checkpoint past `db.WAL_BACKSTOP_PAGES`, should this
thread fall behind.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

from fieldscope.db import is_sqlite

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(self, engine: Engine, every_seconds: float) -> None:
        self.engine = engine
        self.every = every_seconds
        self.frames_checkpointed = 0  # WAL frames in the database file after the last round
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    @classmethod
    def start_for(cls, engine: Engine, every_seconds: float) -> Checkpointer | None:
        if (
            not is_sqlite(engine)
            or every_seconds <= 0
            or engine.url.database in (None, "", ":memory:")
        ):
            return None
        checkpointer = cls(engine, every_seconds)
        checkpointer._thread.start()
        return checkpointer

    def checkpoint(self) -> None:
        # The driver's connection in autocommit: no BEGIN around the checkpoint.
        conn = self.engine.raw_connection()
        try:
            cur = conn.cursor()
            _busy, _frames, done = cur.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            cur.close()
        finally:
            conn.close()
        self.frames_checkpointed = max(int(done), 0)  # SQLite counts the whole WAL, not new

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.checkpoint()
            except Exception:  # a failed round is retried next time; commits remain a backstop
                log.exception("WAL checkpoint failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
