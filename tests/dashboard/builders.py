"""Dashboard test data, made directly with the models (the write APIs are tested elsewhere).

Every write goes through an ORM session, so the change log, the audit and the totals'
coverage hook run as they do in production. All of it is synthetic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

import fieldscope.totals  # noqa: F401  (installs the coverage hook the totals read)
from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import Intervention, ObservationSession
from fieldscope.participants.models import Background, Consent, Participant
from tests.factories import World

T0 = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)  # a Monday, ISO week 2024-W10


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Data:
    """Adds records in one transaction; ids come back at once (client-generated)."""

    def __init__(self, s: Session, world: World) -> None:
        self.s = s
        self.world = world

    def participant(
        self,
        code: str,
        site: str = "A",
        level: str | None = "project",
        *,
        leader: bool = True,
        consent: Consent = Consent.consented,
        pending: bool = False,
        real_name: str | None = None,
    ) -> uuid.UUID:
        p = Participant(
            study_id=self.world.study_id,
            site_id=self.world.site_ids[site],
            code=code,
            level=level,
            background=Background.nursing if leader else Background.non_clinical,
            is_clinical_leader=leader,
            consent=consent,
            pending_review=pending,
            real_name=real_name,
        )
        self.s.add(p)
        self.s.flush()
        return p.id

    def meeting(
        self,
        site: str = "A",
        level: str = "executive",
        title: str = "STP board",
        stage: str | None = None,
        start: datetime = T0,
    ) -> uuid.UUID:
        m = Meeting(
            study_id=self.world.study_id,
            site_id=self.world.site_ids[site],
            level=level,
            title=title,
            stage_of_change=stage,
            scheduled_start=start,
        )
        self.s.add(m)
        self.s.flush()
        return m.id

    def session(
        self,
        meeting_id: uuid.UUID,
        observer: uuid.UUID,
        start: datetime,
        end: datetime | None,
        pauses: tuple[tuple[datetime, datetime], ...] = (),
    ) -> uuid.UUID:
        meeting = self.s.get(Meeting, meeting_id)
        assert meeting is not None
        paused = sum((b - a).total_seconds() for a, b in pauses)
        obs = ObservationSession(
            study_id=self.world.study_id,
            site_id=meeting.site_id,
            observer_id=observer,
            meeting_id=meeting_id,
            started_at=start,
            ended_at=end,
            pauses=[{"start": a.isoformat(), "end": b.isoformat()} for a, b in pauses],
            duration_seconds=None if end is None else (end - start).total_seconds() - paused,
        )
        self.s.add(obs)
        self.s.flush()
        return obs.id

    def tag(
        self,
        session_id: uuid.UUID,
        participant: str | uuid.UUID,
        code: str,
        offset: float,
        **extra: Any,
    ) -> uuid.UUID:
        obs = self.s.get(ObservationSession, session_id)
        assert obs is not None
        pid = self.world.leaders[participant] if isinstance(participant, str) else participant
        i = Intervention(
            study_id=self.world.study_id,
            site_id=obs.site_id,
            observer_id=obs.observer_id,
            session_id=session_id,
            participant_id=pid,
            codebook_version_id=self.world.codebook_version_id,
            code_key=code,
            offset_seconds=offset,
            **extra,
        )
        self.s.add(i)
        self.s.flush()
        return i.id

    def soft_delete(self, model: type[Any], record_id: uuid.UUID) -> None:
        row = self.s.get(model, record_id)
        assert row is not None
        row.deleted_at = datetime.now(UTC)
        self.s.add(row)
        self.s.flush()

    def update(self, model: type[Any], record_id: uuid.UUID, **values: Any) -> None:
        row = self.s.get(model, record_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        self.s.add(row)
        self.s.flush()


@contextmanager
def data(engine: Engine, world: World) -> Iterator[Data]:
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        yield Data(s, world)


def dashboard(world: World, path: str, study_id: uuid.UUID | None = None) -> str:
    return f"/api/v1/studies/{study_id or world.study_id}/dashboard{path}"
