"""Helpers for API tests: problem+json assertions, "nothing changed" checks, quick records.

Import `fast_passwords` into a test module (and mark it autouse there) to hash the world's
passwords with cheap argon2 parameters: the production ones cost ~0.3 s per user here,
which is most of a test's setup time. Verification reads parameters from the hash, so
signing in still goes through the real code.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from fieldscope.audit.models import AuditEvent
from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.observations.models import Intervention, ObservationSession

API = "/api/v1"


@pytest.fixture
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    import fieldscope.auth.service as auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


def assert_problem(res: httpx.Response, status: int, code: str, *fragments: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code, and its detail says
    every fragment (case-insensitive): a specific message, not a generic one."""
    assert res.status_code == status, f"expected {status}, got {res.status_code}: {res.text}"
    assert res.headers["content-type"].startswith("application/problem+json"), res.headers
    body: dict[str, Any] = res.json()
    assert body["code"] == code, body
    assert body["status"] == status
    detail = str(body["detail"]).lower()
    for fragment in fragments:
        assert fragment.lower() in detail, f"{fragment!r} not in {body['detail']!r}"
    return body


def write_count(engine: Engine) -> tuple[int, int]:
    """(last change cursor, audit events): both move on any write to any record."""
    with engine.connect() as conn:
        cursor = conn.execute(text("SELECT value FROM change_cursor WHERE id = 1")).scalar_one()
        audits = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return int(cursor), int(audits)


@contextmanager
def unchanged(engine: Engine) -> Iterator[None]:
    """Assert that the block wrote no record, change-log row or audit event."""
    before = write_count(engine)
    yield
    assert write_count(engine) == before, "a refused request changed data"


def observe(
    engine: Engine,
    *,
    study_id: uuid.UUID,
    site_id: uuid.UUID,
    meeting_id: uuid.UUID,
    observer_id: uuid.UUID,
    participant_id: uuid.UUID | None = None,
    codebook_version_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """An ended observation session of a meeting (and one tagged intervention when a
    participant is given), written directly: these tests are about what refers to them."""
    start = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    with transaction(engine) as s:
        set_actor(s, observer_id, via="cli")
        obs = ObservationSession(
            study_id=study_id,
            site_id=site_id,
            observer_id=observer_id,
            meeting_id=meeting_id,
            started_at=start,
            ended_at=start.replace(hour=11),
            duration_seconds=3600.0,
        )
        s.add(obs)
        if participant_id is not None:
            assert codebook_version_id is not None
            s.add(
                Intervention(
                    study_id=study_id,
                    site_id=site_id,
                    observer_id=observer_id,
                    session_id=obs.id,
                    participant_id=participant_id,
                    codebook_version_id=codebook_version_id,
                    code_key="relational",
                    offset_seconds=60.0,
                )
            )
        return obs.id
