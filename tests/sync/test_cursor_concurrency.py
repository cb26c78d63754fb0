"""The change-log cursor is handed out in commit order (SYNC.md invariant 8).

Two writers on real connections in real threads: A takes a cursor and holds its transaction
open; B tries to write meanwhile, so B would hold the higher number. A pull runs in between.
With a raw sequence B could commit first and the pull would move past A's lower number for
ever; here B cannot even take a cursor until A has committed, so the late row still arrives.
A control run with a naive sequence allocator shows the same scenario does skip a row.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession

from fieldscope import changes
from fieldscope.changes import set_actor
from fieldscope.db import open_session
from fieldscope.meetings.models import Meeting
from fieldscope.sync.models import ChangeLogEntry
from tests.factories import World
from tests.sync.helpers import Device


def _write(engine: Engine, world: World, title: str, site: str = "A") -> tuple[Any, int]:
    """Open a writing transaction, add a meeting, flush (takes a cursor); do not commit."""
    s = open_session(engine, write=True)
    set_actor(s, world.pi.user_id, via="cli")
    # Writers at different sites share no row but the cursor counter.
    meeting = Meeting(
        study_id=world.study_id, site_id=world.site_ids[site], level="executive", title=title
    )
    s.add(meeting)
    s.flush()
    cursor = s.execute(
        select(ChangeLogEntry.cursor).where(ChangeLogEntry.record_id == meeting.id)
    ).scalar_one()
    return s, int(cursor)


class Writer(threading.Thread):
    def __init__(self, engine: Engine, world: World, title: str, site: str = "B") -> None:
        super().__init__(daemon=True)
        self.engine, self.world, self.title, self.site = engine, world, title, site
        self.cursor: int | None = None
        self.committed_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            s, self.cursor = _write(self.engine, self.world, self.title, self.site)
            s.commit()
            self.committed_at = time.monotonic()
            s.close()
        except BaseException as exc:
            self.error = exc


def _titles(changes_: list[dict[str, Any]]) -> list[str]:
    return [c["data"]["title"] for c in changes_ if c["entity"] == "meeting"]


def test_late_committer_still_arrives(client: TestClient, world: World, engine: Engine) -> None:
    reader = Device(client, world.pi)
    reader.pull()

    a_session, a_cursor = _write(engine, world, "A")
    b = Writer(engine, world, "B")
    b.start()
    time.sleep(0.8)
    assert b.cursor is None, "B took a cursor while A's transaction was open"
    assert _titles(reader.pull()) == []  # the pull in between sees neither

    a_session.commit()
    a_committed = time.monotonic()
    a_session.close()
    b.join(timeout=30)
    assert b.error is None and b.cursor is not None and b.committed_at is not None
    assert b.cursor > a_cursor and b.committed_at >= a_committed
    late = reader.pull()
    assert _titles(late) == ["A", "B"]
    assert [c["cursor"] for c in late] == sorted(c["cursor"] for c in late)


def test_cursor_race_under_load(client: TestClient, world: World, engine: Engine) -> None:
    """Writers hold their transaction a random moment after taking a cursor while a reader
    pulls continuously: the reader ends with every committed change once, in order."""
    reader = Device(client, world.pi)
    reader.pull()
    rng = random.Random(8)
    writers, per_writer = 4, 12
    errors: list[BaseException] = []
    done = threading.Event()

    def work(n: int) -> None:
        try:
            for i in range(per_writer):
                s, _ = _write(engine, world, f"w{n}-{i}", "AB"[n % 2])
                time.sleep(rng.random() * 0.01)
                s.commit()
                s.close()
        except BaseException as exc:
            errors.append(exc)

    seen: list[str] = []
    cursors: list[int] = []

    def pull_loop() -> None:
        while not done.is_set():
            page = reader.pull_page(limit=3)
            seen.extend(_titles(page["changes"]))
            cursors.extend(c["cursor"] for c in page["changes"])
            reader.cursor = page["next_cursor"]

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(writers)]
    puller = threading.Thread(target=pull_loop, daemon=True)
    puller.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    puller.join(timeout=30)
    assert not errors, errors
    final = reader.pull()
    seen.extend(_titles(final))
    cursors.extend(c["cursor"] for c in final)
    expected = {f"w{n}-{i}" for n in range(writers) for i in range(per_writer)}
    assert len(seen) == len(expected) and set(seen) == expected, "skipped or repeated"
    assert cursors == sorted(set(cursors))


@pytest.mark.postgres_only
def test_control_a_naive_sequence_skips(
    client: TestClient, world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same scenario with cursors from a plain sequence: B commits first, the pull
    moves past A's lower cursor, and A's row is never pulled. (Proves the test can fail.)"""
    with engine.begin() as conn:
        last = conn.execute(text("SELECT value FROM change_cursor")).scalar_one()
        conn.execute(text("DROP SEQUENCE IF EXISTS naive_cursor"))
        conn.execute(text(f"CREATE SEQUENCE naive_cursor START {int(last) + 1}"))

    def naive(session: OrmSession, count: int) -> int:
        assert count == 1
        return int(session.execute(text("SELECT nextval('naive_cursor')")).scalar_one())

    allocate: Callable[[OrmSession, int], int] = naive
    monkeypatch.setattr(changes, "allocate_cursors", allocate)
    reader = Device(client, world.pi)
    reader.pull()

    a_session, a_cursor = _write(engine, world, "A")
    b = Writer(engine, world, "B")
    b.start()
    b.join(timeout=30)
    assert b.error is None and b.cursor is not None and b.cursor > a_cursor  # B committed first
    with engine.begin() as conn:  # the counter the pull trusts for "beyond the end"
        conn.execute(text("UPDATE change_cursor SET value = :v"), {"v": b.cursor})
    assert _titles(reader.pull()) == ["B"]
    a_session.commit()
    a_session.close()
    assert _titles(reader.pull()) == []  # A's row is lost to this device for ever
    fresh = Device(client, world.pi)
    assert set(_titles(fresh.pull())) == {"A", "B"}
    with engine.begin() as conn:
        conn.execute(text("DROP SEQUENCE naive_cursor"))
