"""Helpers for the observation API tests: meetings straight in the database (the meetings
API is tested elsewhere), and thin wrappers over the session/intervention routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import select as sm_select

from fieldscope.audit.models import AuditEvent
from fieldscope.changes import set_actor
from fieldscope.codebook.models import Code, CodebookVersion
from fieldscope.common.models import utcnow
from fieldscope.db import transaction
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import FieldNote, Intervention, JournalEntry, ObservationSession
from fieldscope.participants.models import Background, Consent, Participant
from fieldscope.sync.models import ChangeLogEntry
from tests.factories import Actor, World

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    """An ISO instant `minutes` after T0."""
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def api(world: World, path: str = "") -> str:
    return f"/api/v1/studies/{world.study_id}{path}"


def make_meeting(
    engine: Engine,
    study_id: uuid.UUID,
    site_id: uuid.UUID,
    level: str = "executive",
    title: str = "STP board",
) -> uuid.UUID:
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        m = Meeting(
            study_id=study_id, site_id=site_id, level=level, title=title, scheduled_start=T0
        )
        s.add(m)
        s.flush()
        return m.id


def meeting(engine: Engine, world: World, site: str = "A", level: str = "executive") -> uuid.UUID:
    return make_meeting(engine, world.study_id, world.site_ids[site], level)


def make_participant(
    engine: Engine,
    world: World,
    code: str,
    site: str = "A",
    consent: Consent = Consent.consented,
    study_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
) -> uuid.UUID:
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        p = Participant(
            study_id=study_id or world.study_id,
            site_id=site_id or world.site_ids[site],
            code=code,
            background=Background.nursing,
            is_clinical_leader=True,
            consent=consent,
        )
        s.add(p)
        s.flush()
        return p.id


def start(
    client: TestClient,
    world: World,
    actor: Actor,
    meeting_id: uuid.UUID,
    **fields: Any,
) -> dict[str, Any]:
    body = {"meeting_id": str(meeting_id), "started_at": at(0), **fields}
    res = client.post(api(world, "/sessions"), json=body, headers=actor.headers)
    assert res.status_code == 201, res.text
    result: dict[str, Any] = res.json()
    return result


def tag(
    client: TestClient,
    world: World,
    actor: Actor,
    session: dict[str, Any],
    participant: str = "A-EX-01",
    code_key: str = "relational",
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "participant_id": str(world.leaders.get(participant, participant)),
        "codebook_version_id": str(world.codebook_version_id),
        "code_key": code_key,
        "offset_seconds": 60,
        **fields,
    }
    res = client.post(
        api(world, f"/sessions/{session['id']}/interventions"), json=body, headers=actor.headers
    )
    assert res.status_code == 201, res.text
    result: dict[str, Any] = res.json()
    return result


def note(
    client: TestClient, world: World, actor: Actor, session: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body = {"kind": "observation", "text": "Chair opens.", **fields}
    res = client.post(
        api(world, f"/sessions/{session['id']}/notes"), json=body, headers=actor.headers
    )
    assert res.status_code == 201, res.text
    result: dict[str, Any] = res.json()
    return result


def counts(engine: Engine) -> dict[str, int]:
    """Rows in every table a write here could touch: equal before and after = nothing written."""
    tables = (
        ObservationSession,
        Intervention,
        FieldNote,
        JournalEntry,
        ChangeLogEntry,
        AuditEvent,
    )
    with engine.connect() as conn:
        count = select(func.count())
        return {
            str(t.__tablename__): int(conn.execute(count.select_from(t)).scalar_one())
            for t in tables
        }


def publish_version_retiring(engine: Engine, world: World, key: str) -> uuid.UUID:
    """Publish codebook version 2 where `key` is retired; version 1 stays as it was."""
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        v2 = CodebookVersion(study_id=world.study_id, number=2, label="v2", published_at=utcnow())
        s.add(v2)
        s.flush()
        rows = s.exec(
            sm_select(Code).where(Code.codebook_version_id == world.codebook_version_id)
        ).all()
        for row in rows:
            s.add(
                Code(
                    study_id=world.study_id,
                    codebook_version_id=v2.id,
                    parent_key=row.parent_key,
                    key=row.key,
                    label=row.label,
                    group=row.group,
                    sort_order=row.sort_order,
                    retired=row.key == key,
                )
            )
        return v2.id
