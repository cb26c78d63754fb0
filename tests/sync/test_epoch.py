"""Restore from backup: `fieldscope db new-epoch` resets devices and lets seqs continue."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from fieldscope.cli import app as cli
from fieldscope.common.models import new_id
from fieldscope.db import dispose_engines, transaction
from fieldscope.sync.models import AppliedMutation, SyncClient
from tests.factories import World
from tests.sync.helpers import Device, meeting_fields


def _restore(engine: Engine, backup: Path | None, client_id: object, keep_seq: int) -> None:
    """SQLite: copy the backup file back. PostgreSQL: drop what came after the backup."""
    if backup is not None:
        engine.dispose()
        assert engine.url.database
        shutil.copyfile(backup, engine.url.database)
        for suffix in ("-wal", "-shm"):
            Path(engine.url.database + suffix).unlink(missing_ok=True)
        return
    with transaction(engine) as s:
        s.execute(
            delete(AppliedMutation).where(
                AppliedMutation.client_id == client_id,  # type: ignore[arg-type]
                AppliedMutation.client_seq > keep_seq,  # type: ignore[arg-type]
            )
        )
        s.execute(
            update(SyncClient)
            .where(SyncClient.client_id == client_id)  # type: ignore[arg-type]
            .values(last_seq=keep_seq)
        )


def test_restore_then_new_epoch(
    client: TestClient,
    world: World,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    dev = Device(client, world.fw)
    dev.push(dev.mutation("meeting", new_id(), meeting_fields(world, title="before backup")))
    dev.pull()
    old_epoch = dev.epoch

    backup: Path | None = None
    if engine.dialect.name == "sqlite":
        engine.dispose()
        assert engine.url.database
        backup = tmp_path / "backup.db"
        shutil.copyfile(engine.url.database, backup)

    # Two more changes are confirmed after the backup, then the server is restored.
    dev.push(
        dev.mutation("meeting", new_id(), meeting_fields(world, title="lost 1")),
        dev.mutation("meeting", new_id(), meeting_fields(world, title="lost 2")),
    )
    _restore(engine, backup, dev.client_id, keep_seq=1)

    # Without a new epoch the device's next seq is a gap.
    pending = dev.mutation("meeting", new_id(), meeting_fields(world, title="after restore"))
    res = dev.send([pending])
    assert res.status_code == 409 and res.json()["expected_seq"] == 2

    monkeypatch.setenv("FIELDSCOPE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    out = CliRunner().invoke(cli, ["db", "new-epoch"])
    dispose_engines()
    assert out.exit_code == 0, out.output
    assert "new sync epoch" in out.output

    res = dev.send([pending])
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["rebased_from_seq"] == 1 and body["last_seq"] == pending["client_seq"]
    assert body["results"][0]["outcome"] == "applied"
    assert body["server_epoch"] != old_epoch
    # Later pushes are ordinary again: a gap is refused.
    dev.seq += 1
    res = dev.send([dev.mutation("meeting", new_id(), meeting_fields(world))])
    assert res.status_code == 409 and res.json()["code"] == "seq_gap"

    page = dev.pull_page()
    assert page["reset"] is True
    dev.pull()
    titles = {d.get("title") for (e, _), d in dev.pulled.items() if e == "meeting"}
    expected = {"before backup", "after restore"}
    if backup is None:  # the PostgreSQL stand-in for a restore keeps the records themselves
        expected |= {"lost 1", "lost 2"}
    assert titles == expected
