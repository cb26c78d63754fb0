"""Data-quality checks: open, long and overlapping sessions, device clocks and silence,
sync conflicts and participant stubs awaiting review."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.common.models import utcnow
from fieldscope.db import transaction
from fieldscope.observations.models import ObservationSession
from fieldscope.sync.models import AppliedMutation, SyncClient, SyncConflict
from tests.apitools import assert_problem, fast_passwords
from tests.dashboard.builders import dashboard, data
from tests.factories import World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]


def _sessions(engine: Engine, world: World) -> dict[str, uuid.UUID]:
    now = utcnow()
    two_days = (now - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    ids: dict[str, uuid.UUID] = {}
    with data(engine, world) as d:
        board = d.meeting("A", "executive", title="Board")
        theme = d.meeting("B", "thematic", title="Maternity programme")
        fw, fw2 = world.fw.user_id, world.fw2.user_id
        ids["open_old"] = d.session(board, fw, now - timedelta(hours=20), None)
        ids["open_recent"] = d.session(theme, fw2, now - timedelta(hours=1), None)
        long_start = now - timedelta(days=3)
        ids["long"] = d.session(board, fw, long_start, long_start + timedelta(hours=7))
        # 7 h span with a 2 h pause: 5 h observed, plausible.
        paused_start = now - timedelta(days=4)
        ids["paused"] = d.session(
            theme,
            fw2,
            paused_start,
            paused_start + timedelta(hours=7),
            pauses=((paused_start + timedelta(hours=1), paused_start + timedelta(hours=3)),),
        )
        ids["normal"] = d.session(board, fw, two_days, two_days + timedelta(hours=1))
        ids["overlap"] = d.session(
            theme, fw, two_days + timedelta(minutes=30), two_days + timedelta(minutes=90)
        )
        # Touching end to start is not an overlap; another observer's overlap is fine.
        ids["before"] = d.session(board, fw2, two_days - timedelta(hours=1), two_days)
        ids["after"] = d.session(theme, fw2, two_days, two_days + timedelta(hours=1))
        ids["deleted"] = d.session(board, fw, two_days, two_days + timedelta(hours=9))
        d.soft_delete(ObservationSession, ids["deleted"])
    return ids


def _devices(engine: Engine, world: World) -> dict[str, uuid.UUID]:
    now = utcnow()
    ids = {name: uuid.uuid4() for name in ("fw", "fw2_quiet", "fw2_never", "pi", "outsider")}
    with transaction(engine) as s:
        s.add_all(
            [
                SyncClient(
                    client_id=ids["fw"],
                    user_id=world.fw.user_id,
                    last_push_at=now - timedelta(hours=1),
                    last_clock_skew_seconds=-900.0,
                    user_agent="Tablet fw",
                ),
                SyncClient(
                    client_id=ids["fw2_quiet"],
                    user_id=world.fw2.user_id,
                    last_push_at=now - timedelta(days=12),
                    last_pull_at=now - timedelta(days=10),
                    last_clock_skew_seconds=0.5,
                ),
                SyncClient(client_id=ids["fw2_never"], user_id=world.fw2.user_id),
                SyncClient(
                    client_id=ids["pi"],
                    user_id=world.pi.user_id,
                    last_seq=2,
                    last_push_at=now,
                    last_pull_at=now,
                    last_clock_skew_seconds=0.0,
                ),
                SyncClient(
                    client_id=ids["outsider"],
                    user_id=world.outsider.user_id,
                    last_clock_skew_seconds=99_999.0,
                ),
            ]
        )
        s.flush()
        received = now - timedelta(days=1)
        for seq, device_time in (
            (1, received - timedelta(days=2)),  # made offline two days earlier: not skew
            (2, received + timedelta(hours=1)),  # made "one hour in the future": clock ahead
        ):
            s.add(
                AppliedMutation(
                    client_id=ids["pi"],
                    client_seq=seq,
                    mutation_id=uuid.uuid4(),
                    payload_hash="0" * 64,
                    outcome="applied",
                    received_at=received,
                    device_time=device_time,
                )
            )
    return ids


def _review_items(engine: Engine, world: World) -> None:
    with transaction(engine) as s:
        for study, resolved in (
            (world.study_id, None),
            (world.study_id, utcnow()),
            (world.other_study_id, None),
        ):
            s.add(
                SyncConflict(
                    study_id=study,
                    entity="intervention",
                    record_id=uuid.uuid4(),
                    field="code_key",
                    base_version=1,
                    winning_value="relational",
                    losing_value="representation",
                    winning_author_id=world.fw.user_id,
                    losing_author_id=world.fw2.user_id,
                    winning_version=3,
                    losing_version=2,
                    resolved_at=resolved,
                )
            )
    with data(engine, world) as d:
        d.participant("B-XX-12", "B", None, pending=True)
        d.participant("B-PR-13", "B", "project")


def quality(client: TestClient, world: World, **params: Any) -> dict[str, Any]:
    res = client.get(dashboard(world, "/quality"), params=params, headers=world.pi.headers)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def test_session_checks(client: TestClient, engine: Engine, world: World) -> None:
    ids = _sessions(engine, world)
    body = quality(client, world)
    assert body["params"] == {
        "open_hours": 12.0,
        "max_hours": 6.0,
        "unsynced_days": 7.0,
        "skew_seconds": 300.0,
        "limit": 100,
    }
    opened = body["open_sessions"]
    assert opened["count"] == 1
    item = opened["items"][0]
    assert item["session_id"] == str(ids["open_old"])
    assert (item["meeting_title"], item["site_code"], item["level"]) == ("Board", "A", "executive")
    assert (item["observer_name"], item["ended_at"], item["duration_hours"]) == ("fw1", None, None)
    assert [
        i["session_id"] for i in quality(client, world, open_hours=0.5)["open_sessions"]["items"]
    ] == [
        str(ids["open_old"]),
        str(ids["open_recent"]),
    ]
    longs = body["long_sessions"]
    assert [(i["session_id"], i["duration_hours"]) for i in longs["items"]] == [
        (str(ids["long"]), 7.0)
    ]
    assert quality(client, world, max_hours=4.5)["long_sessions"]["count"] == 2  # + paused (5 h)

    overlaps = body["overlapping_sessions"]
    assert overlaps["count"] == 1
    o = overlaps["items"][0]
    assert (o["observer_name"], o["overlap_minutes"]) == ("fw1", 30.0)
    assert (o["first"]["session_id"], o["second"]["session_id"]) == (
        str(ids["normal"]),
        str(ids["overlap"]),
    )


def test_overlaps_pair_every_overlapping_session(
    client: TestClient, engine: Engine, world: World
) -> None:
    t = datetime(2024, 1, 1, 9, tzinfo=UTC)

    def h(n: float) -> datetime:
        return t + timedelta(hours=n)

    with data(engine, world) as d:
        m = d.meeting("A", "executive")
        fw, fw2 = world.fw.user_id, world.fw2.user_id
        long = d.session(m, fw, h(0), h(4))  # overlaps the next two
        inner = d.session(m, fw, h(1), h(2))
        late = d.session(m, fw, h(3), h(5))
        d.session(m, fw, h(5), h(6))  # touches `late`: no overlap
        twin = d.session(m, fw, h(3), h(3.5))  # same start as `late`
        d.session(m, fw2, h(0), h(9))  # another observer: never compared with fw's
    found = quality(client, world)["overlapping_sessions"]
    pairs = {
        (i["first"]["session_id"], i["second"]["session_id"]): i["overlap_minutes"]
        for i in found["items"]
    }
    first, second = sorted([late, twin], key=str)  # equal starts: the smaller id first
    assert pairs == {
        (str(long), str(inner)): 60.0,
        (str(long), str(late)): 60.0,
        (str(long), str(twin)): 30.0,
        (str(first), str(second)): 30.0,
    }
    assert found["count"] == 4
    # Largest overlap first.
    assert [i["overlap_minutes"] for i in found["items"]] == [60.0, 60.0, 30.0, 30.0]


def test_device_checks(client: TestClient, engine: Engine, world: World) -> None:
    ids = _devices(engine, world)
    body = quality(client, world)
    skew = body["clock_skew"]
    assert [(d["client_id"], d["user_name"]) for d in skew["items"]] == [
        (str(ids["pi"]), "pi"),  # one hour ahead in its mutations
        (str(ids["fw"]), "fw1"),  # 15 minutes behind at its last push
    ]
    assert skew["items"][0]["max_ahead_seconds"] == pytest.approx(3600.0, abs=0.01)
    assert skew["items"][1]["last_clock_skew_seconds"] == -900.0
    assert skew["count"] == 2
    quiet = body["unsynced_devices"]
    assert [d["client_id"] for d in quiet["items"]] == [
        str(ids["fw2_never"]),  # never synced: first
        str(ids["fw2_quiet"]),
    ]
    assert quiet["items"][0]["days_since_sync"] is None
    assert quiet["items"][1]["days_since_sync"] == pytest.approx(10.0, abs=0.01)
    assert str(ids["outsider"]) not in str(body)
    stricter = quality(client, world, skew_seconds=3601, unsynced_days=11)
    assert [d["client_id"] for d in stricter["clock_skew"]["items"]] == []
    assert [d["client_id"] for d in stricter["unsynced_devices"]["items"]] == [
        str(ids["fw2_never"])
    ]


def test_review_checks(client: TestClient, engine: Engine, world: World) -> None:
    _review_items(engine, world)
    body = quality(client, world)
    conflicts = body["unresolved_conflicts"]
    assert conflicts["count"] == 1
    c = conflicts["items"][0]
    assert (c["entity"], c["field"], c["winning_author"], c["losing_author"]) == (
        "intervention",
        "code_key",
        "fw1",
        "fw2",
    )
    stubs = body["pending_participants"]
    assert [(p["code"], p["site_code"], p["level"]) for p in stubs["items"]] == [
        ("B-XX-12", "B", None)
    ]


def test_limit_keeps_the_count(client: TestClient, engine: Engine, world: World) -> None:
    _sessions(engine, world)
    _devices(engine, world)
    body = quality(client, world, limit=1, open_hours=0.5)
    assert body["open_sessions"]["count"] == 2
    assert len(body["open_sessions"]["items"]) == 1
    assert body["unsynced_devices"]["count"] == 2
    assert len(body["unsynced_devices"]["items"]) == 1


def test_clean_study_has_no_findings(client: TestClient, world: World) -> None:
    body = quality(client, world)
    for check in (
        "open_sessions",
        "long_sessions",
        "overlapping_sessions",
        "clock_skew",
        "unsynced_devices",
        "unresolved_conflicts",
        "pending_participants",
    ):
        assert body[check] == {"count": 0, "items": []}, check


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("open_hours", 0),
        ("max_hours", -1),
        ("unsynced_days", "soon"),
        ("skew_seconds", 0),
        ("limit", 0),
        ("limit", 1001),
    ],
)
def test_bad_parameters_are_refused(
    client: TestClient, world: World, param: str, value: Any
) -> None:
    res = client.get(dashboard(world, "/quality"), params={param: value}, headers=world.pi.headers)
    body = assert_problem(res, 422, "validation_error", param)
    assert body["errors"][0]["field"] == param
