"""The conflict matrix and PI review (SYNC.md invariants 11-12).

One fieldworker with two devices (a tablet and a phone) edits the same intervention; a PI
edits it on the web. Every accepted value must be found again afterwards.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fieldscope.audit.models import AuditEvent
from fieldscope.common.models import new_id
from fieldscope.db import transaction
from fieldscope.observations.models import Intervention
from fieldscope.sync.models import ChangeLogEntry, SyncConflict
from tests.factories import World
from tests.sync.helpers import Device, intervention_fields, observed_meeting


class Scene:
    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world
        self.tablet = Device(client, world.fw)
        self.phone = Device(client, world.fw)
        _, self.session_id = observed_meeting(self.tablet, world)
        self.rec = str(new_id())
        res = self.tablet.push(
            self.tablet.mutation(
                "intervention", self.rec, intervention_fields(self.world, self.session_id)
            )
        )
        assert res[0]["outcome"] == "applied"
        self.phone.pull()

    def edit(self, dev: Device, fields: dict[str, Any], base: int = 1) -> dict[str, Any]:
        return dev.push(dev.mutation("intervention", self.rec, fields, base_version=base))[0]

    def delete(self, dev: Device, base: int = 1) -> dict[str, Any]:
        return dev.push(dev.mutation("intervention", self.rec, {}, op="delete", base_version=base))[
            0
        ]

    def server(self) -> dict[str, Any]:
        reader = Device(self.client, self.world.pi)
        reader.pull()
        return reader.pulled[("intervention", self.rec)]


def recoverable(engine: Engine, record_id: str, field: str, value: Any) -> bool:
    """The value is in the record's history (any version) or in the conflict log."""
    rid = uuid.UUID(record_id)
    with transaction(engine, write=False) as s:
        versions = s.execute(
            select(ChangeLogEntry.data).where(ChangeLogEntry.record_id == rid)
        ).scalars()
        if any(v.get(field) == value for v in versions):
            return True
        conflicts = s.execute(
            select(SyncConflict).where(SyncConflict.record_id == rid, SyncConflict.field == field)
        ).scalars()
        return any(value in (c.winning_value, c.losing_value) for c in conflicts)


def conflicts_of(engine: Engine, record_id: str) -> list[SyncConflict]:
    with transaction(engine, write=False) as s:
        return list(
            s.execute(
                select(SyncConflict)
                .where(SyncConflict.record_id == uuid.UUID(record_id))
                .order_by(SyncConflict.created_at)
            ).scalars()
        )


def test_edit_edit_same_field(client: TestClient, world: World, engine: Engine) -> None:
    sc = Scene(client, world)
    first = sc.edit(sc.tablet, {"quote": "from the tablet"})
    assert first["outcome"] == "applied" and first["version"] == 2
    second = sc.edit(sc.phone, {"quote": "from the phone"})
    assert second["outcome"] == "applied_with_conflict" and second["version"] == 3
    [note] = second["conflicts"]
    assert note["field"] == "quote"
    assert (note["winning_value"], note["losing_value"]) == ("from the phone", "from the tablet")
    assert note["losing_version"] == 2

    final = sc.server()
    assert final["quote"] == "from the phone" and final["needs_review"] is True
    [row] = conflicts_of(engine, sc.rec)
    assert row.winning_author_id == row.losing_author_id == world.fw.user_id
    assert (row.base_version, row.winning_version, row.losing_version) == (1, 3, 2)
    assert row.study_id == world.study_id and row.resolved_at is None
    for value in ("from the tablet", "from the phone"):
        assert recoverable(engine, sc.rec, "quote", value)


def test_edit_edit_different_fields_merge(client: TestClient, world: World, engine: Engine) -> None:
    sc = Scene(client, world)
    assert sc.edit(sc.tablet, {"quote": "q"})["outcome"] == "applied"
    res = sc.edit(sc.phone, {"note": "n"})
    assert res["outcome"] == "applied" and res["conflicts"] == []
    final = sc.server()
    assert (final["quote"], final["note"], final["needs_review"]) == ("q", "n", False)
    assert conflicts_of(engine, sc.rec) == []


def test_edit_after_delete_is_a_conflict(client: TestClient, world: World, engine: Engine) -> None:
    sc = Scene(client, world)
    assert sc.delete(sc.tablet)["outcome"] == "applied"
    res = sc.edit(sc.phone, {"quote": "still said it"})
    assert res["outcome"] == "applied_with_conflict"
    assert [c["field"] for c in res["conflicts"]] == ["deleted_at"]
    assert res["conflicts"][0]["winning_value"] is None
    assert res["conflicts"][0]["losing_value"] is not None  # the deletion time
    final = sc.server()
    assert final["deleted_at"] is None and final["quote"] == "still said it"
    assert final["needs_review"] is True
    assert recoverable(engine, sc.rec, "quote", "still said it")


def test_delete_after_edit_is_a_conflict(client: TestClient, world: World, engine: Engine) -> None:
    sc = Scene(client, world)
    assert sc.edit(sc.tablet, {"quote": "edited first"})["outcome"] == "applied"
    res = sc.delete(sc.phone)
    assert res["outcome"] == "applied_with_conflict"
    [note] = res["conflicts"]
    assert note["field"] == "deleted_at" and note["losing_value"] is None
    assert note["losing_version"] == 2
    final = sc.server()
    assert final["deleted_at"] is not None and final["needs_review"] is True
    assert final["quote"] == "edited first"  # the edit survives in the tombstone
    assert recoverable(engine, sc.rec, "quote", "edited first")


def test_delete_after_own_edit_is_not_a_conflict(client: TestClient, world: World) -> None:
    sc = Scene(client, world)
    sc.edit(sc.tablet, {"quote": "mine"})
    res = sc.delete(sc.tablet)
    assert res["outcome"] == "applied" and res["conflicts"] == []


def test_long_offline_chain_after_a_server_edit(
    client: TestClient, world: World, engine: Engine
) -> None:
    sc = Scene(client, world)
    # A PI edits the note on the web while the tablet is offline.
    res = client.patch(
        f"/api/v1/studies/{world.study_id}/sessions/{sc.session_id}/interventions/{sc.rec}",
        json={"note": "PI's note"},
        headers=world.pi.headers,
    )
    assert res.status_code == 200, res.text
    t = sc.tablet
    chain = [
        t.mutation("intervention", sc.rec, {"quote": "q1"}, base_version=1),
        t.mutation("intervention", sc.rec, {"note": "n1"}, base_version=1),
        t.mutation("intervention", sc.rec, {"note": "n2"}, base_version=1),
        t.mutation("intervention", sc.rec, {"quote": "q2"}, base_version=1),
        t.mutation("intervention", sc.rec, {"agenda_item": "Item 4"}, base_version=1),
        t.mutation("intervention", sc.rec, {"offset_seconds": 120}, base_version=1),
    ]
    results = t.push(*chain)
    assert [r["outcome"] for r in results] == [
        "applied",
        "applied_with_conflict",  # n1 replaces the PI's note
        "applied",  # n2 replaces the tablet's own n1: no conflict
        "applied",
        "applied",
        "applied",
    ]
    assert [r["version"] for r in results] == [3, 4, 5, 6, 7, 8]
    [row] = conflicts_of(engine, sc.rec)
    assert (row.field, row.losing_value, row.winning_value) == ("note", "PI's note", "n1")
    assert row.losing_author_id == world.pi.user_id and row.winning_author_id == world.fw.user_id
    final = sc.server()
    assert (final["quote"], final["note"], final["agenda_item"]) == ("q2", "n2", "Item 4")
    assert final["offset_seconds"] == 120
    for field, value in [
        ("note", "PI's note"),
        ("quote", "q1"),
        ("note", "n1"),
        ("note", "n2"),
        ("quote", "q2"),
    ]:
        assert recoverable(engine, sc.rec, field, value), (field, value)


def test_queued_edits_before_first_ack_are_not_conflicts(client: TestClient, world: World) -> None:
    """A device creates and edits a record several times before anything is acknowledged."""
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    rec = new_id()
    results = dev.push(
        dev.mutation("intervention", rec, intervention_fields(world, session_id)),
        dev.mutation("intervention", rec, {"quote": "a"}),
        dev.mutation("intervention", rec, {"quote": "b"}),
        dev.mutation("intervention", rec, {"note": "c"}, base_version=1),
    )
    assert [r["outcome"] for r in results] == ["applied"] * 4


def _conflicted(client: TestClient, world: World) -> Scene:
    sc = Scene(client, world)
    sc.edit(sc.tablet, {"quote": "tablet quote", "note": "tablet note"})
    res = sc.edit(sc.phone, {"quote": "phone quote", "note": "phone note"})
    assert res["outcome"] == "applied_with_conflict" and len(res["conflicts"]) == 2
    return sc


def test_pi_reviews_and_resolves(client: TestClient, world: World, engine: Engine) -> None:
    sc = _conflicted(client, world)
    base = f"/api/v1/studies/{world.study_id}/conflicts"
    page = client.get(base, params={"unresolved": True}, headers=world.pi.headers).json()
    assert page["total"] == 2
    by_field = {c["field"]: c for c in page["items"]}
    assert by_field["quote"]["losing_value"] == "tablet quote"

    assert client.get(base, headers=world.fw.headers).status_code == 403
    assert client.get(base, headers=world.outsider.headers).status_code == 404
    res = client.post(
        f"{base}/{by_field['quote']['id']}/resolve",
        json={"resolution": "restore_losing"},
        headers=world.fw.headers,
    )
    assert res.status_code == 403

    res = client.post(
        f"{base}/{by_field['quote']['id']}/resolve",
        json={"resolution": "restore_losing"},
        headers=world.pi.headers,
    )
    assert res.status_code == 200, res.text
    assert res.json()["resolution"] == "restore_losing" and res.json()["resolved_at"]
    final = sc.server()
    assert final["quote"] == "tablet quote"
    assert final["needs_review"] is True  # the note conflict is still open
    with transaction(engine, write=False) as s:
        audit = (
            s.execute(
                select(AuditEvent)
                .where(AuditEvent.entity_id == uuid.UUID(sc.rec))
                .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
            )
            .scalars()
            .first()
        )
        assert audit is not None and audit.actor_id == world.pi.user_id
        assert audit.via == "api" and audit.after is not None
        assert audit.after["quote"] == "tablet quote"

    again = client.post(
        f"{base}/{by_field['quote']['id']}/resolve",
        json={"resolution": "keep_current"},
        headers=world.pi.headers,
    )
    assert again.status_code == 409 and again.json()["code"] == "already_resolved"

    res = client.post(
        f"{base}/{by_field['note']['id']}/resolve",
        json={"resolution": "keep_current"},
        headers=world.pi.headers,
    )
    assert res.status_code == 200
    final = sc.server()
    assert final["note"] == "phone note" and final["needs_review"] is False
    page = client.get(base, params={"unresolved": True}, headers=world.pi.headers).json()
    assert page["total"] == 0
    page = client.get(base, params={"unresolved": False}, headers=world.pi.headers).json()
    assert page["total"] == 2
    with transaction(engine, write=False) as s:
        row = s.get(Intervention, uuid.UUID(sc.rec))
        assert row is not None and row.needs_review is False


def test_restore_of_a_deletion_conflict(client: TestClient, world: World) -> None:
    sc = Scene(client, world)
    sc.edit(sc.tablet, {"quote": "edited"})
    res = sc.delete(sc.phone)
    conflict_id = res["conflicts"][0]["conflict_id"]
    out = client.post(
        f"/api/v1/studies/{world.study_id}/conflicts/{conflict_id}/resolve",
        json={"resolution": "restore_losing"},
        headers=world.pi.headers,
    )
    assert out.status_code == 200, out.text
    final = sc.server()
    assert final["deleted_at"] is None and final["quote"] == "edited"
    assert final["needs_review"] is False


def test_bad_resolution_is_422(client: TestClient, world: World) -> None:
    res = client.post(
        f"/api/v1/studies/{world.study_id}/conflicts/{uuid.uuid4()}/resolve",
        json={"resolution": "flip_a_coin"},
        headers=world.pi.headers,
    )
    assert res.status_code == 422
    res = client.post(
        f"/api/v1/studies/{world.study_id}/conflicts/{uuid.uuid4()}/resolve",
        json={"resolution": "keep_current"},
        headers=world.pi.headers,
    )
    assert res.status_code == 404
