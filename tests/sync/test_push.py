"""Push: exactly-once effect, ordering, per-mutation outcomes, limits (SYNC.md 2, 4-6, 13)."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from fieldscope.audit.models import AuditEvent
from fieldscope.auth.models import User
from fieldscope.changes import set_actor
from fieldscope.codebook.models import Code, CodebookVersion
from fieldscope.common.models import new_id, utcnow
from fieldscope.db import open_session, transaction
from fieldscope.observations.models import FieldNote, Intervention
from fieldscope.sync.models import AppliedMutation, ChangeLogEntry, SyncClient
from fieldscope.sync.service import bind_client
from tests.factories import World
from tests.sync.helpers import (
    Device,
    intervention_fields,
    meeting_fields,
    observed_meeting,
    session_fields,
)


def log_rows(engine: Engine, **where: Any) -> list[ChangeLogEntry]:
    with transaction(engine, write=False) as s:
        stmt = select(ChangeLogEntry).order_by(ChangeLogEntry.cursor)
        for key, value in where.items():
            stmt = stmt.where(getattr(ChangeLogEntry, key) == value)
        return list(s.execute(stmt).scalars())


def count(engine: Engine, model: Any, *where: Any) -> int:
    with transaction(engine, write=False) as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def snapshot_counts(engine: Engine) -> tuple[int, ...]:
    return tuple(
        count(engine, m) for m in (ChangeLogEntry, AppliedMutation, Intervention, FieldNote)
    )


# --- exactly once ----------------------------------------------------------------------------


@pytest.mark.parametrize("times", [1, 2, 10])
def test_replay_has_one_effect(
    client: TestClient, world: World, engine: Engine, times: int
) -> None:
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    rec = new_id()
    batch = [
        dev.mutation("intervention", rec, intervention_fields(world, session_id)),
        dev.mutation("intervention", rec, {"quote": "we need the data"}, base_version=1),
    ]
    first = dev.send(batch)
    assert first.status_code == 200, first.text
    before = snapshot_counts(engine)
    for _ in range(times):
        again = dev.send(batch)
        assert again.status_code == 200, again.text
        for original, replay in zip(first.json()["results"], again.json()["results"], strict=True):
            assert replay.pop("replayed") is True
            assert original.pop("replayed") is False
            assert replay == original
    assert snapshot_counts(engine) == before
    for m in batch:
        assert len(log_rows(engine, mutation_id=uuid.UUID(m["mutation_id"]))) == 1
    rows = log_rows(engine, record_id=rec)
    assert [r.version for r in rows] == [1, 2]
    assert rows[-1].data["quote"] == "we need the data"


def test_lost_reply_retry_gets_same_outcome(
    client: TestClient, world: World, engine: Engine
) -> None:
    """The server commits, the reply never arrives (the app raises after the commit, as a
    dropped connection would), the device retries the same batch."""
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    note = new_id()
    batch = [
        dev.mutation(
            "field_note", note, {"session_id": session_id, "kind": "observation", "text": "x"}
        )
    ]

    lost: list[dict[str, Any]] = []
    app = client.app

    async def drop_reply(scope: Any, receive: Any, send: Any) -> None:
        async def swallow(message: Any) -> None:
            if message["type"] == "http.response.body":
                lost.append(json.loads(message["body"]))
                raise ConnectionResetError("connection dropped before the reply")

        await app(scope, receive, swallow if scope["type"] == "http" else send)

    lossy = TestClient(drop_reply, raise_server_exceptions=True)
    with pytest.raises(ConnectionResetError):
        lossy.post("/api/v1/sync/push", json=dev.body(batch), headers=dev.actor.headers)
    assert lost and lost[0]["results"][0]["outcome"] == "applied"  # it did commit
    assert count(engine, FieldNote, FieldNote.id == note) == 1

    retry = dev.send(batch)
    assert retry.status_code == 200, retry.text
    result = retry.json()["results"][0]
    assert result["replayed"] is True
    assert result["outcome"] == lost[0]["results"][0]["outcome"]
    assert result["version"] == lost[0]["results"][0]["version"]
    assert count(engine, FieldNote, FieldNote.id == note) == 1
    assert len(log_rows(engine, record_id=note)) == 1


def test_partial_replay_then_new(client: TestClient, world: World, engine: Engine) -> None:
    """A retry that also carries newer entries: the known ones replay, the rest apply."""
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    a = dev.mutation("intervention", new_id(), intervention_fields(world, session_id))
    assert dev.push(a)[0]["outcome"] == "applied"
    b = dev.mutation("intervention", new_id(), intervention_fields(world, session_id, offset=90))
    res = dev.push(a, b)
    assert [(r["client_seq"], r["replayed"]) for r in res] == [
        (a["client_seq"], True),
        (b["client_seq"], False),
    ]
    assert count(engine, Intervention) == 2


# --- ordering --------------------------------------------------------------------------------


def test_seq_gap_is_refused_with_expected_seq(
    client: TestClient, world: World, engine: Engine
) -> None:
    dev = Device(client, world.fw)
    dev.seq = 1  # pretend seq 1 was lost: the first mutation sent is seq 2
    before = snapshot_counts(engine)
    res = dev.send([dev.mutation("meeting", new_id(), meeting_fields(world))])
    assert res.status_code == 409, res.text
    body = res.json()
    assert body["code"] == "seq_gap" and body["expected_seq"] == 1
    assert res.headers["content-type"].startswith("application/problem+json")
    assert snapshot_counts(engine) == before

    # A gap inside a batch is refused as a whole too.
    dev.seq = 0
    m1 = dev.mutation("meeting", new_id(), meeting_fields(world))
    dev.seq += 1
    m3 = dev.mutation("meeting", new_id(), meeting_fields(world))
    res = dev.send([m1, m3])
    assert res.status_code == 409 and res.json()["expected_seq"] == 2
    assert snapshot_counts(engine) == before


def test_reordered_batch_applies_in_seq_order(client: TestClient, world: World) -> None:
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    rec = new_id()
    create = dev.mutation("intervention", rec, intervention_fields(world, session_id))
    edit1 = dev.mutation("intervention", rec, {"quote": "first"}, base_version=1)
    edit2 = dev.mutation("intervention", rec, {"quote": "second"}, base_version=1)
    res = dev.push(edit2, create, edit1)
    assert [r["client_seq"] for r in res] == sorted(r["client_seq"] for r in res)
    assert [r["outcome"] for r in res] == ["applied"] * 3
    assert [r["version"] for r in res] == [1, 2, 3]
    dev.pull()
    assert dev.pulled[("intervention", str(rec))]["quote"] == "second"


def test_same_seq_other_payload_or_id_is_409(
    client: TestClient, world: World, engine: Engine
) -> None:
    dev = Device(client, world.fw)
    original = dev.mutation("meeting", new_id(), meeting_fields(world, title="Board"))
    dev.push(original)
    before = snapshot_counts(engine)

    other_payload = {**original, "fields": {**original["fields"], "title": "Changed"}}
    res = dev.send([other_payload])
    assert res.status_code == 409 and res.json()["code"] == "seq_conflict", res.text

    other_id = {**original, "mutation_id": str(uuid.uuid4())}
    res = dev.send([other_id])
    assert res.status_code == 409 and res.json()["code"] == "seq_conflict", res.text

    # Two different mutations with one seq in a batch.
    nxt = dev.mutation("meeting", new_id(), meeting_fields(world))
    twin = {**nxt, "mutation_id": str(uuid.uuid4())}
    res = dev.send([nxt, twin])
    assert res.status_code == 409 and res.json()["code"] == "seq_conflict"

    # A known mutation id at a new seq.
    reused = {**original, "client_seq": nxt["client_seq"]}
    res = dev.send([reused])
    assert res.status_code == 409 and res.json()["code"] == "mutation_id_reused", res.text
    assert snapshot_counts(engine) == before


def test_another_users_client_is_refused(client: TestClient, world: World, engine: Engine) -> None:
    mine = Device(client, world.fw)
    mine.push(mine.mutation("meeting", new_id(), meeting_fields(world)))
    before = snapshot_counts(engine)
    thief = Device(client, world.fw2, client_id=mine.client_id, seq=mine.seq)
    res = thief.send([thief.mutation("meeting", new_id(), meeting_fields(world))])
    assert res.status_code == 409 and res.json()["code"] == "client_owned_by_other_user"
    assert snapshot_counts(engine) == before
    with transaction(engine, write=False) as s:
        row = s.get(SyncClient, mine.client_id)
        assert row is not None and row.user_id == world.fw.user_id and row.last_seq == 1


# --- outcomes --------------------------------------------------------------------------------


def test_racing_first_pushes_of_one_client_register_it_once(engine: Engine, world: World) -> None:
    """A device's first push and its retry, on two connections: the second waits for the
    first to commit, then sees its last_seq (so its batch replays instead of applying)."""
    client_id = uuid.uuid4()
    first = open_session(engine, write=True)
    user = first.get(User, world.fw.user_id)
    assert user is not None
    row = bind_client(first, client_id, user, utcnow())
    row.last_seq = 1
    first.add(row)
    first.flush()
    seen: dict[str, Any] = {}

    def second() -> None:
        other = open_session(engine, write=True)
        try:
            seen["last_seq"] = bind_client(other, client_id, user, utcnow()).last_seq
            other.commit()
        except BaseException as exc:
            seen["error"] = exc
        finally:
            other.close()

    racer = threading.Thread(target=second, daemon=True)
    racer.start()
    racer.join(0.5)
    assert racer.is_alive(), seen  # held back by the first push's transaction
    first.commit()
    first.close()
    racer.join(30)
    assert seen == {"last_seq": 1}
    assert count(engine, SyncClient, SyncClient.client_id == client_id) == 1


def test_bad_mutation_mid_batch_is_rejected_and_the_rest_applies(
    client: TestClient, world: World, engine: Engine
) -> None:
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    good1, bad, good2 = new_id(), new_id(), new_id()
    res = dev.push(
        dev.mutation("intervention", good1, intervention_fields(world, session_id)),
        dev.mutation(
            "intervention", bad, intervention_fields(world, session_id, code="not_a_code")
        ),
        dev.mutation(
            "field_note", good2, {"session_id": session_id, "kind": "reflection", "text": "ok"}
        ),
    )
    assert [r["outcome"] for r in res] == ["applied", "rejected", "applied"]
    assert "not_a_code" in res[1]["reason"] and res[1]["reason_code"] == "unknown_code"
    assert count(engine, Intervention, Intervention.id == bad) == 0
    assert count(engine, Intervention, Intervention.id == good1) == 1
    assert count(engine, FieldNote, FieldNote.id == good2) == 1
    with transaction(engine, write=False) as s:
        client_row = s.get(SyncClient, dev.client_id)
        assert client_row is not None and client_row.last_seq == dev.seq
        stored = s.get(AppliedMutation, (dev.client_id, res[1]["client_seq"]))
        assert stored is not None and stored.outcome == "rejected"
        assert stored.payload is not None and stored.payload["fields"]["code_key"] == "not_a_code"
    # The queue goes on after a rejection.
    res = dev.push(dev.mutation("intervention", good1, {"quote": "after"}, base_version=1))
    assert res[0]["outcome"] == "applied"


@pytest.mark.parametrize(
    ("entity", "fields", "code"),
    [
        ("intervention", {"observer_id": "x"}, "field_not_writable"),
        ("intervention", {"quote": "edit of nothing"}, "unknown_record"),
    ],
)
def test_rejections_are_readable(
    client: TestClient, world: World, entity: str, fields: dict[str, Any], code: str
) -> None:
    dev = Device(client, world.fw)
    res = dev.push(dev.mutation(entity, new_id(), fields, base_version=1))
    assert res[0]["outcome"] == "rejected" and res[0]["reason_code"] == code
    assert res[0]["reason"] and len(res[0]["reason"]) > 20


def test_fieldworker_cannot_write_anothers_records(client: TestClient, world: World) -> None:
    mine = Device(client, world.fw)
    _, session_id = observed_meeting(mine, world)
    rec = new_id()
    mine.push(mine.mutation("intervention", rec, intervention_fields(world, session_id)))
    other = Device(client, world.fw2)
    res = other.push(
        other.mutation("intervention", rec, {"quote": "mine now"}, base_version=1),
        other.mutation("intervention", rec, {}, op="delete", base_version=1),
    )
    assert [r["outcome"] for r in res] == ["rejected", "rejected"]
    analyst = Device(client, world.analyst)
    res = analyst.push(analyst.mutation("intervention", rec, {"quote": "x"}, base_version=1))
    assert res[0]["outcome"] == "rejected"


def test_retired_code_is_accepted_and_flagged(
    client: TestClient, world: World, engine: Engine
) -> None:
    """Version 2 retires 'relational'; a tablet still on version 1 tags with it."""
    with transaction(engine) as s:
        set_actor(s, world.pi.user_id, via="cli")
        v2 = CodebookVersion(study_id=world.study_id, number=2, label="v2", published_at=utcnow())
        s.add(v2)
        s.flush()
        old = s.execute(
            select(Code).where(Code.codebook_version_id == world.codebook_version_id)
        ).scalars()
        for code in old:
            s.add(
                Code(
                    study_id=world.study_id,
                    codebook_version_id=v2.id,
                    key=code.key,
                    label=code.label,
                    parent_key=code.parent_key,
                    group=code.group,
                    retired=code.key == "relational",
                )
            )
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    rec = new_id()
    res = dev.push(dev.mutation("intervention", rec, intervention_fields(world, session_id)))
    assert res[0]["outcome"] == "applied"
    with transaction(engine, write=False) as s:
        row = s.get(Intervention, rec)
        assert row is not None and row.code_retired is True
        assert row.codebook_version_id == world.codebook_version_id


def test_clock_skew_is_reported_and_kept_as_data(
    client: TestClient, world: World, engine: Engine
) -> None:
    dev = Device(client, world.fw, clock_offset=-timedelta(days=3))
    m = dev.mutation("meeting", new_id(), meeting_fields(world))
    res = dev.send([m])
    body = res.json()
    assert -3 * 86400 - 60 < body["clock_skew_seconds"] < -3 * 86400 + 60
    with transaction(engine, write=False) as s:
        stored = s.get(AppliedMutation, (dev.client_id, 1))
        assert stored is not None and stored.device_time is not None
        assert stored.received_at - stored.device_time > timedelta(days=2, hours=23)
        client_row = s.get(SyncClient, dev.client_id)
        assert client_row is not None and client_row.last_clock_skew_seconds is not None


# --- limits and malformed batches ----------------------------------------------------------------


def test_too_many_mutations_is_413(client: TestClient, world: World, engine: Engine) -> None:
    dev = Device(client, world.fw)
    batch = [dev.mutation("meeting", new_id(), meeting_fields(world)) for _ in range(501)]
    before = snapshot_counts(engine)
    res = dev.send(batch)
    assert res.status_code == 413 and res.json()["code"] == "batch_too_large"
    assert snapshot_counts(engine) == before


def test_too_many_bytes_is_413(client: TestClient, world: World) -> None:
    dev = Device(client, world.fw)
    big = dev.mutation("meeting", new_id(), {**meeting_fields(world), "theme": "x" * 2_200_000})
    res = dev.send([big])
    assert res.status_code == 413 and res.json()["code"] == "batch_too_large"
    # Without a Content-Length (chunked), the limit still holds.
    payload = json.dumps(dev.body([big])).encode()
    res = client.post(
        "/api/v1/sync/push",
        content=iter([payload[i : i + 65536] for i in range(0, len(payload), 65536)]),
        headers={**dev.actor.headers, "content-type": "application/json"},
    )
    assert res.status_code == 413


def test_protocol_mismatch_is_426(client: TestClient, world: World, engine: Engine) -> None:
    dev = Device(client, world.fw)
    before = snapshot_counts(engine)
    res = dev.send([dev.mutation("meeting", new_id(), meeting_fields(world))], protocol=2)
    assert res.status_code == 426 and res.json()["code"] == "protocol_mismatch"
    # A future protocol may change the body's shape: still 426, not 422.
    res = client.post(
        "/api/v1/sync/push", json={"protocol": 2, "ops": []}, headers=dev.actor.headers
    )
    assert res.status_code == 426
    assert snapshot_counts(engine) == before


def test_malformed_mutation_is_422_naming_it(
    client: TestClient, world: World, engine: Engine
) -> None:
    dev = Device(client, world.fw)
    ok = dev.mutation("meeting", new_id(), meeting_fields(world))
    broken = dev.mutation("meeting", new_id(), meeting_fields(world))
    broken["op"] = "explode"
    before = snapshot_counts(engine)
    res = dev.send([ok, broken])
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["code"] == "malformed_mutation"
    assert body["mutation_id"] == broken["mutation_id"] and broken["mutation_id"] in body["detail"]
    assert snapshot_counts(engine) == before  # nothing partial

    nameless = dev.mutation("meeting", new_id(), meeting_fields(world))
    del nameless["mutation_id"]
    res = dev.send([nameless])
    assert res.status_code == 422 and "position 0" in res.json()["detail"]

    res = client.post(
        "/api/v1/sync/push",
        content=b"{not json",
        headers={**dev.actor.headers, "content-type": "application/json"},
    )
    assert res.status_code == 422 and res.json()["code"] == "malformed_batch"
    res = dev.send([], client_id="nope")
    assert res.status_code == 422 and res.json()["code"] == "malformed_batch"
    assert snapshot_counts(engine) == before


def test_unauthenticated_push_is_401(client: TestClient, world: World) -> None:
    dev = Device(client, world.fw)
    res = client.post("/api/v1/sync/push", json=dev.body([]))
    assert res.status_code == 401


def test_create_update_delete_roundtrip(client: TestClient, world: World, engine: Engine) -> None:
    dev = Device(client, world.fw)
    meeting_id, _ = observed_meeting(dev, world)
    other_session = new_id()
    res = dev.push(
        dev.mutation("observation_session", other_session, session_fields(meeting_id, minutes=30)),
        dev.mutation("observation_session", other_session, {}, op="delete", base_version=1),
        dev.mutation("observation_session", other_session, {}, op="delete", base_version=2),
    )
    assert [r["outcome"] for r in res] == ["applied"] * 3
    assert [r["version"] for r in res] == [1, 2, 2]  # deleting a tombstone changes nothing
    rows = log_rows(engine, record_id=other_session)
    assert [r.op for r in rows] == ["upsert", "delete"]


def test_refused_optimistic_pass_leaves_no_misattribution(
    client: TestClient, world: World, engine: Engine
) -> None:
    """A PI deletes a session (its interventions go with it) and, in the same push, edits one
    of those interventions, which is then refused. The cascade's change-log rows belong to
    the delete, never to the refused edit (a regression the model test found)."""
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    child = new_id()
    dev.push(dev.mutation("intervention", child, intervention_fields(world, session_id)))
    pi = Device(client, world.pi)
    delete = pi.mutation("observation_session", session_id, {}, op="delete", base_version=1)
    edit = pi.mutation("intervention", child, {"quote": "too late"}, base_version=1)
    res = pi.push(delete, edit)
    assert [r["outcome"] for r in res] == ["applied", "rejected"]
    assert res[1]["reason_code"] == "session_deleted"
    rows = log_rows(engine, record_id=child)
    assert [r.op for r in rows] == ["upsert", "delete"]
    assert rows[-1].mutation_id == uuid.UUID(delete["mutation_id"])
    assert log_rows(engine, mutation_id=uuid.UUID(edit["mutation_id"])) == []


def test_bulk_written_creates_keep_the_flush_hooks_bookkeeping(
    client: TestClient, world: World, engine: Engine
) -> None:
    """New records of a push are written in bulk (changes.insert_new), not by the unit of
    work: each still gets its change-log row (the snapshot, every key as changed) and its
    audit event, attributed to its own mutation, with cursors in seq order."""
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    ids = [new_id() for _ in range(3)]
    sent = [
        dev.mutation("intervention", rid, intervention_fields(world, session_id, quote=f"q{i}"))
        for i, rid in enumerate(ids)
    ]
    res = dev.push(*sent)
    assert [r["outcome"] for r in res] == ["applied"] * 3
    with transaction(engine, write=False) as s:
        rows = [log_rows(engine, record_id=rid) for rid in ids]
        assert [len(r) for r in rows] == [1, 1, 1]
        cursors = [r[0].cursor for r in rows]
        assert cursors == sorted(cursors) and cursors[-1] - cursors[0] == 2
        for (row,), mutation, rid in zip(rows, sent, ids, strict=True):
            record = s.get(Intervention, rid)
            assert record is not None and record.version == 1
            assert row.data == record.snapshot() and row.version == 1 and row.op == "upsert"
            assert row.changed_fields == sorted(row.data)
            assert row.mutation_id == uuid.UUID(mutation["mutation_id"])
            assert row.client_id == dev.client_id and row.actor_id == world.fw.user_id
            audit = s.execute(select(AuditEvent).where(AuditEvent.entity_id == rid)).scalars()
            (event,) = list(audit)
            assert event.action == "create" and event.via == "sync" and event.before is None
            assert event.after == row.data
            assert event.mutation_id == uuid.UUID(mutation["mutation_id"])


def test_refused_pass_after_a_bulk_write_reapplies_cleanly(
    client: TestClient, world: World, engine: Engine
) -> None:
    """A create written in bulk, then a refused edit of it: the optimistic pass rolls back
    and the batch is applied again one mutation at a time. The re-created record must not
    clash with the rolled-back one, which the refused edit left modified in the session (a
    regression the model test found), and each change is logged once."""
    dev = Device(client, world.fw)
    _, session_id = observed_meeting(dev, world)
    good, other = new_id(), new_id()
    res = dev.push(
        dev.mutation("intervention", good, intervention_fields(world, session_id)),
        dev.mutation("intervention", good, {"quote": "edited"}, base_version=1),
        dev.mutation("intervention", good, {"code_key": "nope"}, base_version=2),
        dev.mutation("intervention", other, intervention_fields(world, session_id)),
    )
    assert [r["outcome"] for r in res] == ["applied", "applied", "rejected", "applied"]
    assert [r["version"] for r in res] == [1, 2, 2, 1]
    assert [(r.op, r.version) for r in log_rows(engine, record_id=good)] == [
        ("upsert", 1),
        ("upsert", 2),
    ]
    assert count(engine, AuditEvent, AuditEvent.entity_id == good) == 2
    assert count(engine, Intervention, Intervention.id == other) == 1
    res = dev.push(dev.mutation("intervention", good, {"quote": "again"}, base_version=2))
    assert res[0]["outcome"] == "applied" and res[0]["version"] == 3
