"""Field notes and the session timeline (interventions and notes interleaved by offset)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.registry import specs
from tests.factories import World
from tests.observation_helpers import api, meeting, note, start, tag


def _path(world: World, session: dict[str, Any], tail: str = "") -> str:
    return api(world, f"/sessions/{session['id']}/notes{tail}")


@pytest.mark.parametrize("kind", ["observation", "reflection", "informal_interview", "method"])
def test_every_kind(client: TestClient, engine: Engine, world: World, kind: str) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    n = note(client, world, world.fw, s, kind=kind, text="Text\n  kept as typed  ")
    assert n["kind"] == kind
    assert n["text"] == "Text\n  kept as typed  "
    assert n["site_id"] == str(world.site_ids["A"])
    assert n["observer_id"] == str(world.fw.user_id)


def test_crud(client: TestClient, engine: Engine, world: World) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    n = note(client, world, world.fw, s, offset_seconds=30, device_time="2026-11-22T09:00:30Z")
    url = _path(world, s, f"/{n['id']}")
    assert client.get(url, headers=world.analyst.headers).json() == n
    res = client.patch(
        url, json={"kind": "reflection", "offset_seconds": None}, headers=world.fw.headers
    )
    assert res.status_code == 200, res.text
    assert (res.json()["kind"], res.json()["offset_seconds"], res.json()["version"]) == (
        "reflection",
        None,
        2,
    )
    assert client.patch(url, json={"text": "x"}, headers=world.fw2.headers).status_code == 403
    assert client.delete(url, headers=world.analyst.headers).status_code == 403
    assert client.delete(url, headers=world.fw.headers).status_code == 204
    assert client.get(url, headers=world.fw.headers).status_code == 404
    assert client.get(_path(world, s), headers=world.fw.headers).json()["total"] == 0


def test_list_by_offset_with_unplaced_notes_last(
    client: TestClient, engine: Engine, world: World
) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    unplaced = note(client, world, world.fw, s, kind="reflection")
    late = note(client, world, world.fw, s, offset_seconds=600)
    early = note(client, world, world.fw, s, offset_seconds=5)
    res = client.get(_path(world, s), headers=world.fw.headers).json()
    assert [r["id"] for r in res["items"]] == [early["id"], late["id"], unplaced["id"]]


def test_timeline_interleaves_by_offset_then_creation(
    client: TestClient, engine: Engine, world: World
) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    n_tie = note(client, world, world.fw, s, offset_seconds=60)
    i_tie = tag(client, world, world.fw, s, offset_seconds=60)
    i_first = tag(client, world, world.fw, s, offset_seconds=10)
    n_after = note(client, world, world.fw, s, offset_seconds=61)
    unplaced = note(client, world, world.fw, s, kind="method", text="Sat by the door.")
    n_tie2 = note(client, world, world.fw, s, offset_seconds=60)
    res = client.get(api(world, f"/sessions/{s['id']}/timeline"), headers=world.pi.headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["session"]["id"] == s["id"]
    order = [
        (item["type"], (item["intervention"] or item["field_note"])["id"]) for item in body["items"]
    ]
    assert order == [
        ("intervention", i_first["id"]),
        ("field_note", n_tie["id"]),
        ("intervention", i_tie["id"]),
        ("field_note", n_tie2["id"]),
        ("field_note", n_after["id"]),
        ("field_note", unplaced["id"]),
    ]
    assert [i["offset_seconds"] for i in body["items"]] == [10, 60, 60, 60, 61, None]
    assert (
        client.get(
            api(world, f"/sessions/{s['id']}/timeline"), headers=world.fw2.headers
        ).status_code
        == 403
    )


def test_spec_writable_fields_match_protocol() -> None:
    assert specs()["field_note"].writable == {
        "session_id",
        "kind",
        "offset_seconds",
        "device_time",
        "text",
    }
