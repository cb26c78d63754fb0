"""Interventions: tagging against the codebook version in use, retired codes, study-wide
lists with filters, ownership and soft delete."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.participants.models import Consent, Participant
from fieldscope.registry import specs
from tests.factories import World
from tests.observation_helpers import api, at, meeting, publish_version_retiring, start, tag


def _path(world: World, session: dict[str, Any], tail: str = "") -> str:
    return api(world, f"/sessions/{session['id']}/interventions{tail}")


def test_tag_derives_scope_and_keeps_device_time(
    client: TestClient, engine: Engine, world: World
) -> None:
    s = start(client, world, world.fw, meeting(engine, world, "A"))
    i = tag(
        client,
        world,
        world.fw,
        s,
        "A-TH-02",
        "analytical_insight",
        form_key="clinical_evidence",
        offset_seconds=125.5,
        device_time="2031-01-01T00:00:00Z",  # a tablet years ahead: kept as data
        quote="The waiting list doubled.",
        note="Shows the audit.",
        agenda_item="Item 3: urgent care",
    )
    assert i["study_id"] == str(world.study_id)
    assert i["site_id"] == str(world.site_ids["A"])
    assert i["observer_id"] == str(world.fw.user_id)
    assert i["session_id"] == s["id"]
    assert i["participant_id"] == str(world.leaders["A-TH-02"])
    assert i["codebook_version_id"] == str(world.codebook_version_id)
    assert i["offset_seconds"] == 125.5
    assert i["device_time"] == "2031-01-01T00:00:00Z"
    assert i["code_retired"] is False
    got = client.get(_path(world, s, f"/{i['id']}"), headers=world.analyst.headers)
    assert got.json() == i


def test_retired_code_is_accepted_and_flagged(
    client: TestClient, engine: Engine, world: World
) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    publish_version_retiring(engine, world, "mediating")
    # A tablet still on version 1 tags a form retired in version 2: accepted, flagged.
    old = tag(client, world, world.fw, s, code_key="relational", form_key="mediating")
    assert old["code_retired"] is True
    fine = tag(client, world, world.fw, s, code_key="relational", form_key="brokering")
    assert fine["code_retired"] is False
    # Moving the tag off the retired form clears the flag.
    res = client.patch(
        _path(world, s, f"/{old['id']}"), json={"form_key": None}, headers=world.fw.headers
    )
    assert res.status_code == 200, res.text
    assert res.json()["code_retired"] is False


def test_session_list_is_by_offset(client: TestClient, engine: Engine, world: World) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    late = tag(client, world, world.fw, s, offset_seconds=300)
    early = tag(client, world, world.fw, s, offset_seconds=10)
    same = tag(client, world, world.fw, s, offset_seconds=300)
    res = client.get(_path(world, s), headers=world.fw.headers)
    assert [r["id"] for r in res.json()["items"]] == [early["id"], late["id"], same["id"]]
    page = client.get(_path(world, s, "?limit=1&offset=2"), headers=world.fw.headers).json()
    assert page["total"] == 3
    assert [r["id"] for r in page["items"]] == [same["id"]]


def test_study_list_filters(client: TestClient, engine: Engine, world: World) -> None:
    a_exec = start(client, world, world.fw, meeting(engine, world, "A", "executive"))
    b_proj = start(
        client, world, world.fw2, meeting(engine, world, "B", "project"), started_at=at(60 * 24)
    )
    i1 = tag(client, world, world.fw, a_exec, "A-EX-01", "relational")
    i2 = tag(client, world, world.fw, a_exec, "A-TH-02", "representation")
    i3 = tag(client, world, world.fw2, b_proj, "B-EX-01", "relational")
    h = world.pi.headers

    def ids(query: str, headers: dict[str, str] = h) -> list[str]:
        res = client.get(api(world, f"/interventions?{query}"), headers=headers)
        assert res.status_code == 200, res.text
        return [r["id"] for r in res.json()["items"]]

    assert ids("") == [i1["id"], i2["id"], i3["id"]]  # in recording order
    assert ids(f"site_id={world.site_ids['B']}") == [i3["id"]]
    assert ids("level=executive") == [i1["id"], i2["id"]]
    assert ids("level=project") == [i3["id"]]
    assert ids(f"participant_id={world.leaders['A-TH-02']}") == [i2["id"]]
    assert ids("code_key=relational") == [i1["id"], i3["id"]]
    assert ids(f"started_from={at(60)}") == [i3["id"]]
    assert ids(f"started_before={at(60)}&code_key=relational") == [i1["id"]]
    assert ids(f"session_id={a_exec['id']}&level=executive") == [i1["id"], i2["id"]]
    # Fieldworkers see their own; analysts all.
    assert ids("", world.fw2.headers) == [i3["id"]]
    assert len(ids("", world.analyst.headers)) == 3
    page = client.get(api(world, "/interventions?limit=2"), headers=h).json()
    assert (page["total"], len(page["items"]), page["limit"]) == (3, 2, 2)


def test_edit_and_delete(client: TestClient, engine: Engine, world: World) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    i = tag(client, world, world.fw, s)
    url = _path(world, s, f"/{i['id']}")
    res = client.patch(
        url, json={"note": "Brokers a meeting.", "offset_seconds": 90}, headers=world.fw.headers
    )
    assert res.status_code == 200, res.text
    assert (res.json()["note"], res.json()["offset_seconds"], res.json()["version"]) == (
        "Brokers a meeting.",
        90,
        2,
    )
    assert client.patch(url, json={"note": "x"}, headers=world.fw2.headers).status_code == 403
    assert client.patch(url, json={"note": "x"}, headers=world.analyst.headers).status_code == 403
    assert client.patch(url, json={"note": "PI fix"}, headers=world.pi.headers).status_code == 200
    assert client.delete(url, headers=world.fw2.headers).status_code == 403
    assert client.delete(url, headers=world.fw.headers).status_code == 204
    assert client.get(url, headers=world.fw.headers).status_code == 404
    again = client.patch(url, json={"note": "late"}, headers=world.fw.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "intervention_deleted"
    assert client.get(_path(world, s), headers=world.fw.headers).json()["total"] == 0


def test_pi_tagging_on_a_fieldworkers_session_stays_theirs(
    client: TestClient, engine: Engine, world: World
) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    i = tag(client, world, world.pi, s)
    # The record hangs off the fieldworker's session, so it syncs to their device.
    assert i["observer_id"] == str(world.fw.user_id)


def test_withdrawal_after_tagging_does_not_block_edits(
    client: TestClient, engine: Engine, world: World
) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    i = tag(client, world, world.fw, s)
    with transaction(engine) as db:
        set_actor(db, None, via="cli")
        person = db.get(Participant, world.leaders["A-EX-01"])
        assert person is not None
        person.consent = Consent.withdrawn
        db.add(person)
    url = _path(world, s, f"/{i['id']}")
    assert (
        client.patch(url, json={"note": "typo fixed"}, headers=world.fw.headers).status_code == 200
    )
    # ... but nobody can tag them again.
    body = {
        "participant_id": str(world.leaders["A-EX-01"]),
        "codebook_version_id": str(world.codebook_version_id),
        "code_key": "relational",
        "offset_seconds": 5,
    }
    res = client.post(_path(world, s), json=body, headers=world.fw.headers)
    assert res.status_code == 422
    assert res.json()["code"] == "participant_not_consented"


def test_spec_writable_fields_match_protocol() -> None:
    assert specs()["intervention"].writable == {
        "session_id",
        "participant_id",
        "codebook_version_id",
        "code_key",
        "form_key",
        "offset_seconds",
        "device_time",
        "quote",
        "note",
        "agenda_item",
    }


def test_spec_check_on_a_raw_push(client: TestClient, engine: Engine, world: World) -> None:
    from fieldscope.auth.models import User
    from fieldscope.observations.models import Intervention

    s = start(client, world, world.fw, meeting(engine, world))
    spec = specs()["intervention"]
    rid = uuid.uuid4()
    with transaction(engine) as db:
        set_actor(db, world.fw.user_id, via="sync")
        actor = db.get(User, world.fw.user_id)
        assert actor is not None
        rec = Intervention(
            id=rid,
            **{
                "session_id": s["id"],
                "participant_id": str(world.leaders["A-TH-02"]),
                "codebook_version_id": str(world.codebook_version_id),
                "code_key": "representation",
                "form_key": "",
                "offset_seconds": "12.5",
                "device_time": "2026-11-22T09:00:12.5Z",
            },
        )
        spec.check(db, rec, actor, True)
        db.add(rec)
    got = client.get(_path(world, s, f"/{rid}"), headers=world.fw.headers).json()
    assert got["offset_seconds"] == 12.5
    assert got["form_key"] is None
    assert got["observer_id"] == str(world.fw.user_id)
