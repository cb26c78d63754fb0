"""Synthetic observation data for export tests, built with the models directly.

Nothing here is real data. The text deliberately carries emoji (outside the BMP, and a
ZWJ sequence), accents, combining marks, CRLF and Markdown/HTML specials, because those
are what break REFI-QDA positions and renderers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.meetings.models import Meeting, MeetingAttendee, StageOfChange
from fieldscope.observations.models import (
    FieldNote,
    Intervention,
    JournalEntry,
    NoteKind,
    ObservationSession,
)
from fieldscope.participants.models import Background, Consent, Level, Participant
from tests.factories import World

WITHDRAWN_QUOTE = "SECRET-WITHDRAWN-QUOTE the budget is a fiction"
DECLINED_QUOTE = "SECRET-DECLINED-QUOTE never record me"
WITHDRAWN_NAME = "Wanda Withheld"
REAL_NAME = "Jane Émile Smith"
EMOJI_QUOTE = "We need the data 📊 before we commit, naïve plans fail"
ZWJ_QUOTE = "Les médecins 👩‍⚕️ ont dit: ça ne marche pas <b>now</b> & *never*"
COMBINING_NOTE = "Cafe\u0301 meeting ran over"  # "Café" with a combining acute accent


@dataclass
class ExportData:
    world: World
    meeting_a: uuid.UUID
    meeting_b: uuid.UUID
    meeting_planned: uuid.UUID
    session_a: uuid.UUID  # fieldworker 1, site A executive, 2024-03-01
    session_a2: uuid.UUID  # fieldworker 2, same meeting (a second observer)
    session_b: uuid.UUID  # fieldworker 2, site B thematic, 2024-04-02
    withdrawn_id: uuid.UUID
    declined_id: uuid.UUID
    interventions: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def study_id(self) -> uuid.UUID:
        return self.world.study_id

    def url(self, path: str) -> str:
        return f"/api/v1/studies/{self.study_id}/exports{path}"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def _session(
    s: Session, w: World, meeting: Meeting, observer: uuid.UUID, start: datetime, hours: float
) -> ObservationSession:
    obs = ObservationSession(
        study_id=w.study_id,
        site_id=meeting.site_id,
        observer_id=observer,
        meeting_id=meeting.id,
        started_at=start,
        ended_at=start.replace(hour=start.hour + int(hours), minute=int(hours % 1 * 60)),
        duration_seconds=hours * 3600,
    )
    s.add(obs)
    return obs


def build_export_data(engine: Engine, w: World) -> ExportData:
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        site_a, site_b = w.site_ids["A"], w.site_ids["B"]
        lead = s.get(Participant, w.leaders["A-EX-01"])
        assert lead is not None
        lead.real_name = REAL_NAME
        s.add(lead)
        withdrawn = Participant(
            study_id=w.study_id, site_id=site_a, code="A-EX-09", level=Level.executive,
            background=Background.nursing, is_clinical_leader=True,
            consent=Consent.withdrawn, real_name=WITHDRAWN_NAME,
        )  # fmt: skip
        declined = Participant(
            study_id=w.study_id, site_id=site_b, code="B-PR-07", level=Level.project,
            background=Background.pharmacy, is_clinical_leader=True, consent=Consent.declined,
        )  # fmt: skip
        s.add_all([withdrawn, declined])
        meeting_a = Meeting(
            study_id=w.study_id, site_id=site_a, level=Level.executive,
            title="STP board: café & <strategy> 😀", theme="urgent care",
            scheduled_start=at(3, 1, 10), stage_of_change=StageOfChange.strategy,
        )  # fmt: skip
        meeting_b = Meeting(
            study_id=w.study_id, site_id=site_b, level=Level.thematic,
            title="Maternity programme", theme="maternity", scheduled_start=at(4, 2, 14),
            stage_of_change=StageOfChange.delivery,
        )  # fmt: skip
        planned = Meeting(
            study_id=w.study_id, site_id=site_a, level=Level.project, title="Frailty project",
            scheduled_start=at(5, 10, 9),
        )  # fmt: skip
        s.add_all([meeting_a, meeting_b, planned])
        for pid in (w.leaders["A-EX-01"], w.leaders["A-TH-02"], withdrawn.id):
            s.add(MeetingAttendee(study_id=w.study_id, meeting_id=meeting_a.id, participant_id=pid))
        for pid in (w.leaders["B-EX-01"], declined.id):
            s.add(MeetingAttendee(study_id=w.study_id, meeting_id=meeting_b.id, participant_id=pid))

        sa = _session(s, w, meeting_a, w.fw.user_id, at(3, 1, 10), 1.5)
        sa2 = _session(s, w, meeting_a, w.fw2.user_id, at(3, 1, 10, 1), 1.25)
        sb = _session(s, w, meeting_b, w.fw2.user_id, at(4, 2, 14), 2.0)
        data = ExportData(w, meeting_a.id, meeting_b.id, planned.id, sa.id, sa2.id, sb.id,
                          withdrawn.id, declined.id)  # fmt: skip

        def tag(
            name: str, obs: ObservationSession, pid: uuid.UUID, code: str, form: str | None,
            offset: float, quote: str = "", note: str = "",
        ) -> None:  # fmt: skip
            i = Intervention(
                study_id=w.study_id, site_id=obs.site_id, observer_id=obs.observer_id,
                session_id=obs.id, participant_id=pid, codebook_version_id=w.codebook_version_id,
                code_key=code, form_key=form, offset_seconds=offset, quote=quote, note=note,
                agenda_item="Item 2: winter plan" if name == "a1" else "",
            )  # fmt: skip
            s.add(i)
            data.interventions[name] = i.id

        ex1, th2 = w.leaders["A-EX-01"], w.leaders["A-TH-02"]
        tag("a1", sa, ex1, "analytical_insight", "clinical_evidence", 300.5, EMOJI_QUOTE,
            f"{REAL_NAME} then agreed with A-TH-02")  # fmt: skip
        tag("a2", sa, th2, "representation", None, 600, ZWJ_QUOTE, COMBINING_NOTE)
        tag("a3", sa, ex1, "relational", "mediating", 1200, "Line one\r\nline two")
        tag("aw", sa, withdrawn.id, "relational", "brokering", 450, WITHDRAWN_QUOTE)
        tag("a2_1", sa2, ex1, "analytical_insight", None, 290, "We need the data")
        tag("b1", sb, w.leaders["B-EX-01"], "translation_communication", "framing", 60, "Frame it")
        tag("bd", sb, declined.id, "representation", None, 120, DECLINED_QUOTE)
        notes = [
            (sa, 100.0, NoteKind.observation, "Room set up; chair opens 🙂"),
            (sa, 455.0, NoteKind.observation, "A-EX-09 left early, upset"),
            (sa, None, NoteKind.reflection, f"Afterwards {WITHDRAWN_NAME} asked to be removed"),
            (sb, 30.0, NoteKind.informal_interview, "Chair: B-PR-07 is new"),
        ]
        for obs, offset, kind, text in notes:
            s.add(
                FieldNote(
                    study_id=w.study_id,
                    site_id=obs.site_id,
                    observer_id=obs.observer_id,
                    session_id=obs.id,
                    kind=kind,
                    offset_seconds=offset,
                    text=text,
                )
            )
        s.add(
            JournalEntry(
                study_id=w.study_id,
                site_id=sa.site_id,
                observer_id=sa.observer_id,
                session_id=sa.id,
                text="The board debated winter.\r\nA-EX-09 was silent.\r\n\r\nSecond paragraph ✅.",
            )
        )
        return data


@pytest.fixture
def data(engine: Engine, world: World) -> ExportData:
    return build_export_data(engine, world)
