"""Pull: bounded pages in commit order, visibility, tombstones, epoch and reset (SYNC.md 8-10)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.auth.models import Membership, Role
from fieldscope.changes import set_actor
from fieldscope.common.models import new_id
from fieldscope.db import transaction
from fieldscope.participants.models import Participant
from fieldscope.sync.limits import PULL_PAGE_BYTES
from fieldscope.sync.state import new_epoch
from tests.factories import World
from tests.sync.helpers import Device, intervention_fields, observed_meeting


def note(session_id: str, text: str = "n") -> dict[str, Any]:
    return {"session_id": session_id, "kind": "observation", "text": text}


def test_many_pages_every_change_once(client: TestClient, world: World) -> None:
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    for _ in range(3):
        dev.push(*[dev.mutation("field_note", new_id(), note(session_id)) for _ in range(150)])
    everything = Device(client, world.fw).pull(limit=1000)
    assert len(everything) > 450

    for limit in (1, 7, 100):
        reader = Device(client, world.fw)
        seen: list[int] = []
        pages = 0
        while True:
            page = reader.pull_page(limit)
            pages += 1
            assert len(page["changes"]) <= limit
            seen.extend(c["cursor"] for c in page["changes"])
            if page["changes"]:
                assert page["next_cursor"] == page["changes"][-1]["cursor"]
            reader.cursor = page["next_cursor"]
            if not page["has_more"]:
                assert page["totals"] is not None
                break
            assert "totals" not in page
        assert seen == sorted(set(seen)), "a change was repeated or out of order"
        assert seen == [c["cursor"] for c in everything], "a change was skipped"
        assert pages >= len(everything) // limit


def test_page_is_bounded_by_bytes(client: TestClient, world: World) -> None:
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    big = "x" * 15_000
    for _ in range(3):
        dev.push(*[dev.mutation("field_note", new_id(), note(session_id, big)) for _ in range(50)])
    reader = Device(client, world.fw)
    sizes = []
    total = 0
    while True:
        res = client.get(
            "/api/v1/sync/pull",
            params={"cursor": reader.cursor, "limit": 1000},
            headers=reader.actor.headers,
        )
        page = res.json()
        sizes.append(len(res.content))
        total += len(page["changes"])
        reader.cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert len(sizes) >= 3
    assert max(sizes) < PULL_PAGE_BYTES + 64_000
    assert total >= 150


def test_visibility(client: TestClient, world: World, engine: Engine) -> None:
    with transaction(engine) as s:
        set_actor(s, world.pi.user_id, via="cli")
        p = s.get(Participant, world.leaders["A-EX-01"])
        assert p is not None
        p.real_name = "Dr Realname Secret"
        s.add(p)
    mine = Device(client, world.fw)
    _, session_id = observed_meeting(mine, world)
    iv = new_id()
    mine.push(mine.mutation("intervention", iv, intervention_fields(world, session_id)))

    def pulled(actor_key: str) -> dict[tuple[str, str], dict[str, Any]]:
        dev = Device(client, world.actors[actor_key])
        changes = dev.pull()
        assert "Realname" not in str(changes) and "real_name" not in str(changes)
        return dev.pulled

    own = pulled("fieldworker")
    assert ("intervention", str(iv)) in own and ("observation_session", session_id) in own
    other_fw = pulled("fieldworker2")
    assert ("intervention", str(iv)) not in other_fw
    assert ("observation_session", session_id) not in other_fw
    assert any(k[0] == "meeting" for k in other_fw)  # meetings are shared in the study
    assert any(k[0] == "participant" for k in other_fw)
    for lead in ("pi", "analyst"):
        assert ("intervention", str(iv)) in pulled(lead)
    outsider = pulled("outsider")
    assert all(
        v.get("study_id") in (None, str(world.other_study_id))
        and v.get("id") != str(world.study_id)
        for v in outsider.values()
    )
    assert ("intervention", str(iv)) not in outsider


def test_tombstones_are_pulled(client: TestClient, world: World) -> None:
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    rec = new_id()
    dev.push(dev.mutation("field_note", rec, note(session_id)))
    reader = Device(client, world.fw)
    reader.pull()
    assert reader.pulled[("field_note", str(rec))]["deleted_at"] is None
    dev.push(dev.mutation("field_note", rec, {}, op="delete", base_version=1))
    changes = reader.pull()
    assert [(c["op"], c["record_id"], c["version"]) for c in changes] == [("delete", str(rec), 2)]
    assert changes[0]["data"]["deleted_at"] is not None


def test_reset_on_new_epoch_cursor_beyond_and_membership(
    client: TestClient, world: World, engine: Engine
) -> None:
    dev = Device(client, world.fw)
    observed_meeting(dev, world)
    reader = Device(client, world.fw)
    reader.pull()
    epoch = reader.epoch
    assert reader.pull_page()["reset"] is False

    # A cursor the server never handed out (e.g. the server was restored from a backup).
    ahead = Device(client, world.fw, cursor=reader.cursor + 1000, epoch=epoch)
    page = ahead.pull_page()
    assert page["reset"] is True and page["changes"] == []

    # Restore from backup: `fieldscope db new-epoch`.
    with transaction(engine) as s:
        new_epoch(s)
    page = reader.pull_page()
    assert page["reset"] is True and page["server_epoch"] != epoch
    reader.pull()
    assert reader.epoch != epoch and len(reader.pulled) > 0

    # Joining another study changes what the user may see: a reset, then its records.
    epoch = reader.epoch
    with transaction(engine) as s:
        s.add(Membership(user_id=world.fw.user_id, study_id=world.other_study_id, role=Role.pi))
    assert reader.pull_page()["reset"] is True
    reader.pull()
    assert reader.epoch != epoch
    assert ("study", str(world.other_study_id)) in reader.pulled


@pytest.mark.parametrize(
    "params", [{"limit": 1001}, {"limit": 0}, {"cursor": -1}, {"epoch": "not-a-uuid"}]
)
def test_bad_pull_parameters_are_422(
    client: TestClient, world: World, params: dict[str, Any]
) -> None:
    res = client.get("/api/v1/sync/pull", params=params, headers=world.fw.headers)
    assert res.status_code == 422, res.text


def test_totals_on_last_page_count_only_server_data(client: TestClient, world: World) -> None:
    dev = Device(client, world.fw)
    observed_meeting(dev, world)  # 90 minutes at site A
    dev.pull()
    assert dev.totals is not None
    site_a = next(s for s in dev.totals["sites"] if s["code"] == "A")
    assert site_a["seconds"] == 5400 and site_a["meetings"] == 1
    assert site_a["study_id"] == str(world.study_id)
    assert dev.totals["studies"][0]["total"]["seconds"] == 5400
    assert uuid.UUID(dev.totals["studies"][0]["study_id"]) == world.study_id
