"""Client clocks are data, never order (SYNC.md invariant 14).

The same fieldwork from a tablet whose clock is right, days behind, or years ahead gives
the same final state and the same hours: durations come from the device's monotonic
clock anchored to its own wall-clock start, and conflicts are decided by the order the
server applied the writes, not by device times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fieldscope.common.models import new_id
from fieldscope.db import transaction
from fieldscope.sync.models import AppliedMutation
from tests.factories import World
from tests.sync.helpers import Device, intervention_fields, iso, meeting_fields

OFFSETS = {
    "right": timedelta(0),
    "days-behind": -timedelta(days=4, hours=3),
    "years-ahead": timedelta(days=5 * 365 + 17),
}


def fieldwork(client: TestClient, world: World, skew: timedelta) -> dict[str, Any]:
    tablet = Device(client, world.fw, clock_offset=skew)
    phone = Device(client, world.fw)
    meeting_id, session_id, iv = new_id(), new_id(), new_id()
    start = tablet.now().replace(microsecond=0)  # the tablet's (wrong) wall clock
    # 95 minutes by the monotonic clock, with a 5-minute pause: 90 minutes observed.
    pause = {"start": iso(start + timedelta(minutes=40)), "end": iso(start + timedelta(minutes=45))}
    res = tablet.push(
        tablet.mutation("meeting", meeting_id, meeting_fields(world)),
        tablet.mutation(
            "observation_session",
            session_id,
            {
                "meeting_id": str(meeting_id),
                "started_at": iso(start),
                "ended_at": iso(start + timedelta(minutes=95)),
                "pauses": [pause],
                "device_started_at": iso(start),
            },
        ),
        tablet.mutation(
            "intervention",
            iv,
            {**intervention_fields(world, session_id, offset=600), "device_time": iso(start)},
        ),
    )
    assert [r["outcome"] for r in res] == ["applied"] * 3, res
    skew_seen = tablet.send([]).json()["clock_skew_seconds"]

    # The phone (right clock) edits first, the tablet (skewed clock) second: the tablet's
    # write is applied later, so it wins, whatever the two clocks say.
    phone.pull()
    assert phone.push(phone.mutation("intervention", iv, {"quote": "phone"}, base_version=1))[0][
        "outcome"
    ] == ("applied")
    won = tablet.push(tablet.mutation("intervention", iv, {"quote": "tablet"}, base_version=1))[0]
    assert won["outcome"] == "applied_with_conflict"

    reader = Device(client, world.pi)
    reader.pull()
    assert reader.totals is not None
    site_a = next(s for s in reader.totals["sites"] if s["code"] == "A")
    session = reader.pulled[("observation_session", str(session_id))]
    intervention = reader.pulled[("intervention", str(iv))]
    with transaction(client.app.state.engine, write=False) as s:  # type: ignore[attr-defined]
        stored = s.execute(
            select(AppliedMutation.device_time).where(AppliedMutation.client_id == tablet.client_id)
        ).scalars()
        device_times = [t for t in stored if t is not None]
    return {
        "seconds": site_a["seconds"],
        "meetings": site_a["meetings"],
        "duration": session["duration_seconds"],
        "quote": intervention["quote"],
        "offset": intervention["offset_seconds"],
        "needs_review": intervention["needs_review"],
        "conflict": [(c["field"], c["winning_value"], c["losing_value"]) for c in won["conflicts"]],
        "_skew": skew_seen,
        "_device_times": device_times,
        "_start": session["started_at"],
    }


@pytest.mark.parametrize("clock", list(OFFSETS))
def test_skewed_tablet_gives_same_state_and_hours(
    client: TestClient, world: World, engine: Engine, clock: str
) -> None:
    skew = OFFSETS[clock]
    result = fieldwork(client, world, skew)
    assert {k: v for k, v in result.items() if not k.startswith("_")} == {
        "seconds": 5400.0,
        "meetings": 1,
        "duration": 5400.0,
        "quote": "tablet",
        "offset": 600.0,
        "needs_review": True,
        "conflict": [("quote", "tablet", "phone")],
    }
    # The skew is reported to the device, and its clock is kept as data.
    assert abs(result["_skew"] - skew.total_seconds()) < 120
    now = datetime.now(UTC)
    assert all(abs((t - now) - skew) < timedelta(minutes=5) for t in result["_device_times"])
    started = datetime.fromisoformat(result["_start"].replace("Z", "+00:00"))
    assert abs((started - now) - skew) < timedelta(minutes=5)
