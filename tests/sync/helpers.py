"""A scripted device for sync tests: queues mutations with gap-free seqs, pushes, pulls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from fieldscope.common.models import new_id
from tests.factories import Actor, World

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Device:
    """One installed app of one user."""

    http: TestClient
    actor: Actor
    client_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seq: int = 0
    clock_offset: timedelta = timedelta(0)
    cursor: int = 0
    epoch: str | None = None
    pulled: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    totals: dict[str, Any] | None = None

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def mutation(
        self,
        entity: str,
        record_id: uuid.UUID | str,
        fields: dict[str, Any] | None = None,
        *,
        op: str = "upsert",
        base_version: int | None = None,
    ) -> dict[str, Any]:
        self.seq += 1
        return {
            "mutation_id": str(uuid.uuid4()),
            "client_seq": self.seq,
            "entity": entity,
            "op": op,
            "record_id": str(record_id),
            "base_version": base_version,
            "fields": fields or {},
            "device_time": iso(self.now()),
        }

    def body(self, mutations: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "protocol": 1,
            "client_id": str(self.client_id),
            "device_time": iso(self.now()),
            "mutations": mutations,
            **extra,
        }

    def send(self, mutations: list[dict[str, Any]], **extra: Any) -> Response:
        return self.http.post(
            "/api/v1/sync/push", json=self.body(mutations, **extra), headers=self.actor.headers
        )

    def push(self, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
        res = self.send(list(mutations))
        assert res.status_code == 200, res.text
        results: list[dict[str, Any]] = res.json()["results"]
        return results

    def pull_page(self, limit: int = 500) -> dict[str, Any]:
        params: dict[str, Any] = {"cursor": self.cursor, "limit": limit}
        if self.epoch:
            params["epoch"] = self.epoch
        res = self.http.get("/api/v1/sync/pull", params=params, headers=self.actor.headers)
        assert res.status_code == 200, res.text
        page: dict[str, Any] = res.json()
        return page

    def pull(self, limit: int = 500) -> list[dict[str, Any]]:
        """Pull to the end, applying each page; returns every change seen."""
        seen: list[dict[str, Any]] = []
        for _ in range(10_000):
            page = self.pull_page(limit)
            if page["reset"]:
                self.cursor, self.epoch = 0, page["server_epoch"]
                self.pulled.clear()
                continue
            self.epoch = page["server_epoch"]
            for change in page["changes"]:
                self.pulled[(change["entity"], change["record_id"])] = change["data"]
            seen.extend(page["changes"])
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                self.totals = page["totals"]
                return seen
        raise AssertionError("pull never ended")


def meeting_fields(world: World, site: str = "A", title: str = "STP board") -> dict[str, Any]:
    return {
        "study_id": str(world.study_id),
        "site_id": str(world.site_ids[site]),
        "level": "executive",
        "title": title,
        "scheduled_start": iso(T0),
    }


def session_fields(
    meeting_id: uuid.UUID | str,
    start: datetime = T0,
    minutes: float | None = 90,
    pauses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "meeting_id": str(meeting_id),
        "started_at": iso(start),
        "ended_at": iso(start + timedelta(minutes=minutes)) if minutes is not None else None,
        "pauses": pauses or [],
    }


def intervention_fields(
    world: World,
    session_id: uuid.UUID | str,
    *,
    leader: str = "A-EX-01",
    code: str = "relational",
    offset: float = 60.0,
    quote: str = "",
) -> dict[str, Any]:
    return {
        "session_id": str(session_id),
        "participant_id": str(world.leaders[leader]),
        "codebook_version_id": str(world.codebook_version_id),
        "code_key": code,
        "offset_seconds": offset,
        "quote": quote,
    }


def observed_meeting(device: Device, world: World, site: str = "A") -> tuple[str, str]:
    """Create a meeting and a 90-minute session through a push; returns their ids."""
    meeting_id, session_id = str(new_id()), str(new_id())
    results = device.push(
        device.mutation("meeting", meeting_id, meeting_fields(world, site)),
        device.mutation("observation_session", session_id, session_fields(meeting_id)),
    )
    assert [r["outcome"] for r in results] == ["applied", "applied"], results
    return meeting_id, session_id
