"""Observation sessions: derived duration, pauses, retrospective entry, co-observation,
filters, authorisation, and the EntitySpec the sync push shares."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fieldscope.changes import set_actor
from fieldscope.common.models import utcnow
from fieldscope.db import transaction
from fieldscope.errors import AppError
from fieldscope.observations.models import Intervention, ObservationSession
from fieldscope.registry import specs
from fieldscope.sync.models import ChangeLogEntry
from tests.factories import World
from tests.observation_helpers import api, at, counts, meeting, note, start, tag


def _path(world: World, session: dict[str, object], tail: str = "") -> str:
    return api(world, f"/sessions/{session['id']}{tail}")


def test_create_derives_scope_and_owner(client: TestClient, engine: Engine, world: World) -> None:
    m = meeting(engine, world, "B", "thematic")
    s = start(client, world, world.fw, m, device_started_at="2026-11-22T08:59:58Z")
    assert s["study_id"] == str(world.study_id)
    assert s["site_id"] == str(world.site_ids["B"])
    assert s["observer_id"] == str(world.fw.user_id)
    assert s["meeting_id"] == str(m)
    assert s["duration_seconds"] is None
    assert s["retrospective"] is False
    assert s["version"] == 1
    assert s["device_started_at"] == "2026-11-22T08:59:58Z"
    res = client.get(_path(world, s), headers=world.fw.headers)
    assert res.status_code == 200
    assert res.json() == s


def test_client_generated_id_is_kept(client: TestClient, engine: Engine, world: World) -> None:
    sid = uuid.uuid4()
    s = start(client, world, world.fw, meeting(engine, world), id=str(sid))
    assert s["id"] == str(sid)


def test_duration_subtracts_pauses(client: TestClient, engine: Engine, world: World) -> None:
    pauses = [{"start": at(30), "end": at(40)}, {"start": at(10), "end": at(15)}]
    s = start(client, world, world.fw, meeting(engine, world), pauses=pauses)
    # Stored in time order, whatever order they were sent in.
    assert [p["start"] for p in s["pauses"]] == [at(10), at(30)]
    res = client.patch(_path(world, s), json={"ended_at": at(90)}, headers=world.fw.headers)
    assert res.status_code == 200, res.text
    assert res.json()["duration_seconds"] == (90 - 15) * 60
    assert res.json()["version"] == 2
    # Edit the pauses: the duration follows on the same write.
    res = client.patch(_path(world, s), json={"pauses": []}, headers=world.fw.headers)
    assert res.json()["duration_seconds"] == 90 * 60
    # Reopen: running again, no duration.
    res = client.patch(_path(world, s), json={"ended_at": None}, headers=world.fw.headers)
    assert res.json()["duration_seconds"] is None


def test_duration_cannot_be_typed(client: TestClient, engine: Engine, world: World) -> None:
    body = {
        "meeting_id": str(meeting(engine, world)),
        "started_at": at(0),
        "ended_at": at(60),
        "duration_seconds": 99999,
    }
    res = client.post(api(world, "/sessions"), json=body, headers=world.fw.headers)
    assert res.status_code == 422
    assert res.json()["errors"][0]["field"] == "duration_seconds"


def test_pause_resume_end_actions(client: TestClient, engine: Engine, world: World) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    h = world.fw.headers
    res = client.post(_path(world, s, "/pause"), json={"at": at(20)}, headers=h)
    assert res.status_code == 200, res.text
    assert res.json()["pauses"] == [{"start": at(20), "end": None}]
    assert client.post(_path(world, s, "/pause"), json={"at": at(21)}, headers=h).json()[
        "code"
    ] == ("already_paused")
    res = client.post(_path(world, s, "/resume"), json={"at": at(25)}, headers=h)
    assert res.json()["pauses"] == [{"start": at(20), "end": at(25)}]
    assert client.post(_path(world, s, "/resume"), headers=h).json()["code"] == "not_paused"
    client.post(_path(world, s, "/pause"), json={"at": at(50)}, headers=h)
    # Ending while paused closes the pause at the end.
    res = client.post(_path(world, s, "/end"), json={"at": at(70)}, headers=h)
    body = res.json()
    assert body["ended_at"] == at(70)
    assert body["pauses"][-1] == {"start": at(50), "end": at(70)}
    assert body["duration_seconds"] == (70 - 5 - 20) * 60
    again = client.post(_path(world, s, "/end"), json={"at": at(80)}, headers=h)
    assert again.status_code == 409
    assert again.json()["code"] == "session_ended"


def test_actions_default_to_server_time(client: TestClient, engine: Engine, world: World) -> None:
    began = utcnow() - timedelta(hours=1)
    s = start(client, world, world.fw, meeting(engine, world), started_at=began.isoformat())
    res = client.post(_path(world, s, "/end"), headers=world.fw.headers)
    assert res.status_code == 200, res.text
    assert 3600 <= res.json()["duration_seconds"] <= (utcnow() - began).total_seconds()


def test_retrospective_sessions(client: TestClient, engine: Engine, world: World) -> None:
    m = meeting(engine, world)
    live = start(client, world, world.fw, m)
    after = start(client, world, world.fw, m, ended_at=at(45))
    flagged = start(client, world, world.fw, m, retrospective=True)
    assert live["retrospective"] is False
    assert after["retrospective"] is True
    assert after["duration_seconds"] == 45 * 60
    assert flagged["retrospective"] is True
    res = client.get(api(world, "/sessions?retrospective=true"), headers=world.pi.headers)
    assert {r["id"] for r in res.json()["items"]} == {after["id"], flagged["id"]}


def test_co_observed_meeting_has_one_session_per_observer(
    client: TestClient, engine: Engine, world: World
) -> None:
    m = meeting(engine, world)
    mine = start(client, world, world.fw, m, ended_at=at(120))
    theirs = start(client, world, world.fw2, m, started_at=at(10), ended_at=at(120))
    assert mine["observer_id"] != theirs["observer_id"]
    res = client.get(api(world, f"/sessions?meeting_id={m}"), headers=world.pi.headers)
    body = res.json()
    assert body["total"] == 2
    assert {r["duration_seconds"] for r in body["items"]} == {7200, 6600}
    # Fieldworkers list (and read) only their own sessions.
    res = client.get(api(world, f"/sessions?meeting_id={m}"), headers=world.fw.headers)
    assert [r["id"] for r in res.json()["items"]] == [mine["id"]]
    assert client.get(_path(world, theirs), headers=world.fw.headers).status_code == 403


def test_list_filters_and_pagination(client: TestClient, engine: Engine, world: World) -> None:
    a, b = meeting(engine, world, "A"), meeting(engine, world, "B", "project")
    s1 = start(client, world, world.fw, a, started_at=at(0), ended_at=at(60))
    s2 = start(client, world, world.fw, b, started_at=at(60 * 24))
    s3 = start(client, world, world.fw2, b, started_at=at(60 * 48))
    h = world.pi.headers

    def ids(query: str) -> list[str]:
        res = client.get(api(world, f"/sessions?{query}"), headers=h)
        assert res.status_code == 200, res.text
        return [r["id"] for r in res.json()["items"]]

    assert ids("") == [s3["id"], s2["id"], s1["id"]]  # newest first
    assert ids(f"site_id={world.site_ids['A']}") == [s1["id"]]
    assert ids(f"observer_id={world.fw2.user_id}") == [s3["id"]]
    assert ids("ended=true") == [s1["id"]]
    assert ids("ended=false") == [s3["id"], s2["id"]]
    assert ids(f"started_from={at(60)}&started_before={at(60 * 30)}") == [s2["id"]]
    page = client.get(api(world, "/sessions?limit=2&offset=1"), headers=h).json()
    assert page["total"] == 3
    assert page["limit"] == 2
    assert page["offset"] == 1
    assert [r["id"] for r in page["items"]] == [s2["id"], s1["id"]]


def test_roles(client: TestClient, engine: Engine, world: World) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    change = {"started_at": at(1)}
    assert client.patch(_path(world, s), json=change, headers=world.pi.headers).status_code == 200
    assert client.patch(_path(world, s), json=change, headers=world.admin.headers).status_code == (
        200
    )
    for actor, status in ((world.fw2, 403), (world.analyst, 403), (world.outsider, 404)):
        res = client.patch(_path(world, s), json=change, headers=actor.headers)
        assert res.status_code == status, (actor.email, res.text)
    assert client.get(_path(world, s), headers=world.analyst.headers).status_code == 200
    assert client.get(_path(world, s), headers=world.outsider.headers).status_code == 404
    assert client.get(_path(world, s)).status_code == 401
    assert client.get(api(world, "/sessions"), headers=world.outsider.headers).status_code == 404
    # A PI's fix keeps the fieldworker as the observer.
    got = client.get(_path(world, s), headers=world.pi.headers).json()
    assert got["observer_id"] == str(world.fw.user_id)
    assert got["started_at"] == at(1)
    # Analysts cannot start sessions either.
    body = {"meeting_id": s["meeting_id"], "started_at": at(0)}
    res = client.post(api(world, "/sessions"), json=body, headers=world.analyst.headers)
    assert res.status_code == 403


def test_delete_takes_children_along(client: TestClient, engine: Engine, world: World) -> None:
    s = start(client, world, world.fw, meeting(engine, world))
    i = tag(client, world, world.fw, s)
    note(client, world, world.fw, s)
    client.put(_path(world, s, "/journal"), json={"text": "Write-up."}, headers=world.fw.headers)
    res = client.delete(_path(world, s), headers=world.fw.headers)
    assert res.status_code == 204
    assert client.get(_path(world, s), headers=world.fw.headers).status_code == 404
    assert client.get(api(world, "/sessions"), headers=world.pi.headers).json()["total"] == 0
    assert client.get(api(world, "/interventions"), headers=world.pi.headers).json()["total"] == 0
    with engine.connect() as conn:
        row = conn.execute(
            select(Intervention.deleted_at).where(Intervention.id == uuid.UUID(i["id"]))
        )
        assert row.scalar_one() is not None
        ops = conn.execute(
            select(ChangeLogEntry.entity, ChangeLogEntry.op).where(ChangeLogEntry.op == "delete")
        ).all()
    # Devices learn about every tombstone from the change log.
    assert sorted(e for e, _ in ops) == [
        "field_note",
        "intervention",
        "journal_entry",
        "observation_session",
    ]


def test_move_to_other_site_only_without_records(
    client: TestClient, engine: Engine, world: World
) -> None:
    a, b = meeting(engine, world, "A"), meeting(engine, world, "B")
    s = start(client, world, world.fw, a)
    moved = client.patch(_path(world, s), json={"meeting_id": str(b)}, headers=world.fw.headers)
    assert moved.status_code == 200
    assert moved.json()["site_id"] == str(world.site_ids["B"])
    client.patch(_path(world, s), json={"meeting_id": str(a)}, headers=world.fw.headers)
    tag(client, world, world.fw, s)
    res = client.patch(_path(world, s), json={"meeting_id": str(b)}, headers=world.fw.headers)
    assert res.status_code == 409
    assert res.json()["code"] == "session_has_records"


def test_every_write_is_logged_once(client: TestClient, engine: Engine, world: World) -> None:
    m = meeting(engine, world)
    before = counts(engine)
    s = start(client, world, world.fw, m)
    client.post(_path(world, s, "/end"), json={"at": at(30)}, headers=world.fw.headers)
    after = counts(engine)
    assert after["change_log"] - before["change_log"] == 2
    assert after["audit_events"] - before["audit_events"] == 2
    with engine.connect() as conn:
        versions = conn.execute(
            select(ChangeLogEntry.version)
            .where(ChangeLogEntry.record_id == uuid.UUID(s["id"]))
            .order_by(ChangeLogEntry.cursor)
        ).all()
    assert [v for (v,) in versions] == [1, 2]


# --- the EntitySpec a sync push goes through ------------------------------------------------


def test_spec_writable_fields_match_protocol() -> None:
    spec = specs()["observation_session"]
    assert spec.model is ObservationSession
    assert spec.writable == {
        "meeting_id",
        "started_at",
        "ended_at",
        "pauses",
        "retrospective",
        "device_started_at",
    }


def _push(engine: Engine, user_id: uuid.UUID, fields: dict[str, object]) -> ObservationSession:
    """Create a session the way a sync push does: raw JSON values through the spec check."""
    from fieldscope.auth.models import User

    spec = specs()["observation_session"]
    with transaction(engine) as s:
        set_actor(s, user_id, via="sync")
        actor = s.get(User, user_id)
        assert actor is not None
        record = ObservationSession(**fields)
        spec.check(s, record, actor, True)
        s.add(record)
        s.flush()
        return record


def test_spec_check_parses_raw_push_values(engine: Engine, world: World) -> None:
    m = meeting(engine, world, "B")
    record = _push(
        engine,
        world.fw.user_id,
        {
            "meeting_id": str(m),
            "started_at": "2026-11-22T10:00:00+01:00",
            "ended_at": "2026-11-22T10:30:00Z",
            "pauses": [{"start": "2026-11-22T09:10:00Z", "end": "2026-11-22T09:20:00Z"}],
        },
    )
    assert record.site_id == world.site_ids["B"]
    assert record.observer_id == world.fw.user_id
    # 09:00Z to 10:30Z less a 10-minute pause.
    assert record.duration_seconds == 80 * 60
    assert record.retrospective is True
    assert record.pauses == [{"start": "2026-11-22T09:10:00Z", "end": "2026-11-22T09:20:00Z"}]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (
            {"started_at": "2026-11-22T10:00:00Z", "ended_at": "2026-11-22T09:00:00Z"},
            "end_before_start",
        ),
        ({"started_at": "2026-11-22T10:00:00"}, "validation_error"),
        ({"started_at": "not a time"}, "validation_error"),
        ({"started_at": "2026-11-22T10:00:00Z", "pauses": "nope"}, "validation_error"),
        ({"started_at": None}, "validation_error"),
    ],
)
def test_spec_check_rejects_bad_push(
    engine: Engine, world: World, fields: dict[str, object], code: str
) -> None:
    m = meeting(engine, world)
    before = counts(engine)
    with pytest.raises(AppError) as err:
        _push(engine, world.fw.user_id, {"meeting_id": str(m), **fields})
    assert err.value.code == code
    assert counts(engine) == before


def test_spec_check_refuses_analyst_and_outsider(engine: Engine, world: World) -> None:
    m = meeting(engine, world)
    fields = {"meeting_id": str(m), "started_at": "2026-11-22T10:00:00Z"}
    with pytest.raises(AppError) as err:
        _push(engine, world.analyst.user_id, fields)
    assert err.value.status == 403
    with pytest.raises(AppError) as err:
        _push(engine, world.outsider.user_id, fields)
    assert err.value.code == "unknown_meeting"


def test_restoring_a_session_restores_what_its_delete_took(
    client: TestClient, engine: Engine, world: World
) -> None:
    """Sync revives a session edited on a device after a delete: its children come back."""
    from fieldscope.auth.models import User

    s = start(client, world, world.fw, meeting(engine, world))
    kept_deleted = tag(client, world, world.fw, s, offset_seconds=5)
    url = _path(world, s, f"/interventions/{kept_deleted['id']}")
    assert client.delete(url, headers=world.fw.headers).status_code == 204
    revived = tag(client, world, world.fw, s, offset_seconds=9)
    assert client.delete(_path(world, s), headers=world.pi.headers).status_code == 204
    with transaction(engine) as db:
        set_actor(db, world.fw.user_id, via="sync")
        actor = db.get(User, world.fw.user_id)
        record = db.get(ObservationSession, uuid.UUID(s["id"]))
        assert actor is not None and record is not None
        record.deleted_at = None
        record.ended_at = "2026-11-22T10:00:00Z"  # type: ignore[assignment]
        specs()["observation_session"].check(db, record, actor, False)
    back = client.get(_path(world, s, "/interventions"), headers=world.fw.headers).json()
    # Only what the session's delete took along comes back, not the earlier delete.
    assert [i["id"] for i in back["items"]] == [revived["id"]]
    assert client.get(_path(world, s), headers=world.fw.headers).json()["duration_seconds"] == 3600
