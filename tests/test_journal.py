"""The field-journal write-up: one per session, written and replaced with PUT."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.auth.models import User
from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.errors import AppError
from fieldscope.observations.models import JournalEntry
from fieldscope.registry import specs
from tests.factories import World
from tests.observation_helpers import api, counts, meeting, start


def _url(world: World, session: dict[str, Any]) -> str:
    return api(world, f"/sessions/{session['id']}/journal")


def test_put_creates_then_replaces(client: TestClient, engine: Engine, world: World) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    url = _url(world, s)
    assert client.get(url, headers=world.fw.headers).status_code == 404
    first = client.put(
        url, json={"text": "Board met; CCG lead pushed back."}, headers=world.fw.headers
    )
    assert first.status_code == 200, first.text
    j = first.json()
    assert (j["session_id"], j["observer_id"], j["version"]) == (s["id"], str(world.fw.user_id), 1)
    second = client.put(url, json={"text": "Revised write-up."}, headers=world.fw.headers).json()
    assert (second["id"], second["version"], second["text"]) == (j["id"], 2, "Revised write-up.")
    assert client.get(url, headers=world.analyst.headers).json() == second


def test_delete_then_put_revives_the_same_entry(
    client: TestClient, engine: Engine, world: World
) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    url = _url(world, s)
    j = client.put(url, json={"text": "One."}, headers=world.fw.headers).json()
    assert client.delete(url, headers=world.analyst.headers).status_code == 403
    assert client.delete(url, headers=world.fw.headers).status_code == 204
    assert client.get(url, headers=world.fw.headers).status_code == 404
    back = client.put(url, json={"text": "Two."}, headers=world.fw.headers).json()
    assert (back["id"], back["text"], back["version"]) == (j["id"], "Two.", 3)


def test_roles(client: TestClient, engine: Engine, world: World) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    url = _url(world, s)
    body = {"text": "Mine."}
    assert client.put(url, json=body, headers=world.fw2.headers).status_code == 403
    assert client.put(url, json=body, headers=world.analyst.headers).status_code == 403
    assert client.put(url, json=body, headers=world.outsider.headers).status_code == 404
    assert client.put(url, json=body).status_code == 401
    assert client.put(url, json=body, headers=world.pi.headers).status_code == 200
    assert client.get(url, headers=world.fw2.headers).status_code == 403


def test_a_second_entry_for_a_session_is_refused(
    client: TestClient, engine: Engine, world: World
) -> None:
    """A device that wrote its own write-up offline cannot make a second one."""
    s = start(client, world, world.fw, meeting(engine, world))
    client.put(_url(world, s), json={"text": "From the web."}, headers=world.fw.headers)
    before = counts(engine)
    spec = specs()["journal_entry"]
    assert spec.writable == {"session_id", "text"}
    with pytest.raises(AppError) as err, transaction(engine) as db:
        set_actor(db, world.fw.user_id, via="sync")
        actor = db.get(User, world.fw.user_id)
        assert actor is not None
        rec = JournalEntry(id=uuid.uuid4(), **{"session_id": s["id"], "text": "From a tablet."})
        spec.check(db, rec, actor, True)
        db.add(rec)
    assert err.value.code == "journal_exists"
    assert counts(engine) == before
