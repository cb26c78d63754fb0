"""A session's field journal as data, before any format renders it.

`JournalBuilder` reads the study-wide lookups once (participants, observers, codebook
labels, redaction) and then one session at a time, so a bundle of thousands of journals
holds one journal in memory.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from fieldscope.auth.models import User
from fieldscope.codebook.models import Code, CodebookVersion, CodeGroup
from fieldscope.exports import queries
from fieldscope.exports.service import ExportScope
from fieldscope.exports.text import WITHHELD, Redactor, clean
from fieldscope.meetings.models import Meeting, MeetingAttendee
from fieldscope.observations.models import (
    FieldNote,
    Intervention,
    JournalEntry,
    ObservationSession,
)
from fieldscope.participants.models import Consent, Participant
from fieldscope.studies.models import Site, Study

NOTE_KINDS = {
    "observation": "Observation",
    "reflection": "Reflection",
    "informal_interview": "Informal interview",
    "method": "Method note",
}


@dataclass(frozen=True)
class Person:
    code: str
    real_name: str | None  # only when a PI asked for real names

    @property
    def label(self) -> str:
        return f"{self.code} ({self.real_name})" if self.real_name else self.code


@dataclass(frozen=True)
class NoteItem:
    offset_seconds: float | None
    kind: str
    text: str
    sort_id: uuid.UUID


@dataclass(frozen=True)
class InterventionItem:
    offset_seconds: float
    intervention_id: uuid.UUID
    participant_id: uuid.UUID
    person: Person
    code_key: str
    code_label: str
    form_key: str | None
    form_label: str | None
    quote: str
    note: str
    agenda_item: str
    created_at: datetime
    sort_id: uuid.UUID

    @property
    def tag(self) -> str:
        return f"{self.code_label} \u203a {self.form_label}" if self.form_label else self.code_label


TimelineItem = NoteItem | InterventionItem


@dataclass
class Summary:
    """Counts by leader x contribution: rows are pseudonym codes, columns contributions."""

    columns: list[tuple[str, str]]  # (code key, label) in codebook order
    rows: list[tuple[Person, dict[str, int]]]

    def column_total(self, key: str) -> int:
        return sum(counts.get(key, 0) for _, counts in self.rows)

    @property
    def total(self) -> int:
        return sum(sum(counts.values()) for _, counts in self.rows)


@dataclass
class Journal:
    session_id: uuid.UUID
    study_name: str
    site_code: str
    site_name: str
    level: str
    meeting_id: uuid.UUID
    meeting_title: str
    meeting_theme: str
    stage_of_change: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    retrospective: bool
    observer_id: uuid.UUID
    observer_name: str
    created_at: datetime
    attendees: list[Person]
    timeline: list[TimelineItem]
    write_up: str
    summary: Summary
    filters: dict[str, object] = field(default_factory=dict)

    @property
    def interventions(self) -> list[InterventionItem]:
        return [t for t in self.timeline if isinstance(t, InterventionItem)]

    @property
    def slug(self) -> str:
        """A file name stem that sorts by date and says what the meeting was."""
        # The id's last 8 hex digits are random (its first ones are a timestamp).
        when = f"{self.started_at:%Y-%m-%d_%H%M}"
        return f"{when}_{self.site_code}_{self.level}_{self.session_id.hex[-8:]}"


@dataclass(frozen=True)
class CodeInfo:
    key: str
    label: str
    parent_key: str | None
    group: CodeGroup
    description: str
    colour: str
    sort_order: int
    retired: bool


def codebook_catalogue(session: Session, study_id: uuid.UUID) -> dict[str, CodeInfo]:
    """Every code key the study ever published, labelled as its newest version has it.

    Keys are stable across versions, so an intervention tagged under version 1 is shown
    with the label version 3 gives it; a code dropped later keeps its last label.
    """
    rows = session.exec(
        select(Code, CodebookVersion.number)
        .join(CodebookVersion, col(CodebookVersion.id) == col(Code.codebook_version_id))
        .where(
            CodebookVersion.study_id == study_id,
            col(CodebookVersion.published_at).is_not(None),
            col(CodebookVersion.deleted_at).is_(None),
            col(Code.deleted_at).is_(None),
        )
        .order_by(col(CodebookVersion.number), col(Code.sort_order), col(Code.key))
    ).all()
    latest = max((n for _, n in rows), default=0)
    out: dict[str, CodeInfo] = {}
    for code, number in rows:
        out[code.key] = CodeInfo(
            key=code.key,
            label=code.label,
            parent_key=code.parent_key,
            group=code.group,
            description=code.description,
            colour=code.colour,
            sort_order=code.sort_order,
            retired=code.retired or number < latest,
        )
    # Dict order: the newest version's order, then codes only older versions had.
    return dict(sorted(out.items(), key=lambda kv: (kv[1].retired, kv[1].sort_order)))


def redactor_for(
    session: Session, study_id: uuid.UUID, *, include_real_names: bool
) -> tuple[Redactor, dict[uuid.UUID, Participant]]:
    """The study's redactor, and its participants (withdrawn and declined ones included,
    so callers can tell them apart; they are never exported)."""
    people = {
        p.id: p
        for p in session.exec(
            select(Participant).where(
                Participant.study_id == study_id, col(Participant.deleted_at).is_(None)
            )
        ).all()
    }
    replacements: dict[str, str] = {}
    for p in people.values():
        if p.consent is not Consent.consented:
            replacements[p.code] = WITHHELD
            if p.real_name:
                replacements[p.real_name] = WITHHELD
        elif p.real_name and not include_real_names:
            replacements[p.real_name] = p.code
    return Redactor(replacements), people


class JournalBuilder:
    def __init__(self, session: Session, scope: ExportScope) -> None:
        self.session = session
        self.scope = scope
        study = session.get(Study, scope.study_id)
        self.study_name = clean(study.name) if study else ""
        self.redact, self.people = redactor_for(
            session, scope.study_id, include_real_names=scope.include_real_names
        )
        self.codes = codebook_catalogue(session, scope.study_id)
        self.sites = {
            s.id: s for s in session.exec(select(Site).where(Site.study_id == scope.study_id))
        }
        self._users: dict[uuid.UUID, str] = {}

    def text(self, value: str | None) -> str:
        return self.redact(clean(value))

    def person(self, participant_id: uuid.UUID) -> Person | None:
        p = self.people.get(participant_id)
        if p is None or p.consent is not Consent.consented:
            return None
        return Person(p.code, p.real_name if self.scope.include_real_names else None)

    def observer(self, user_id: uuid.UUID) -> str:
        if user_id not in self._users:
            user = self.session.get(User, user_id)
            self._users[user_id] = clean(user.display_name) if user else "unknown observer"
        return self._users[user_id]

    def label(self, key: str | None) -> str | None:
        if key is None:
            return None
        info = self.codes.get(key)
        return info.label if info else key

    def session_ids(self) -> Iterator[uuid.UUID]:
        yield from self.session.exec(queries.session_ids(self.scope)).all()

    def journals(self) -> Iterator[Journal]:
        for session_id in self.session_ids():
            yield self.build(session_id)

    def build(self, session_id: uuid.UUID) -> Journal:
        obs = self.session.get(ObservationSession, session_id)
        if obs is None:
            raise LookupError(session_id)
        meeting = self.session.get(Meeting, obs.meeting_id)
        if meeting is None:
            raise LookupError(obs.meeting_id)
        site = self.sites.get(meeting.site_id)
        timeline: list[TimelineItem] = [*self._notes(obs.id), *self._interventions(obs.id)]
        timeline.sort(key=lambda t: (t.offset_seconds is None, t.offset_seconds or 0.0, t.sort_id))
        entry = self.session.exec(
            select(JournalEntry).where(
                JournalEntry.session_id == obs.id, col(JournalEntry.deleted_at).is_(None)
            )
        ).first()
        interventions = [t for t in timeline if isinstance(t, InterventionItem)]
        return Journal(
            session_id=obs.id,
            study_name=self.study_name,
            site_code=clean(site.code) if site else "",
            site_name=clean(site.name) if site else "",
            level=meeting.level.value,
            meeting_id=meeting.id,
            meeting_title=self.text(meeting.title),
            meeting_theme=self.text(meeting.theme),
            stage_of_change=meeting.stage_of_change.value if meeting.stage_of_change else None,
            started_at=obs.started_at,
            ended_at=obs.ended_at,
            duration_seconds=obs.duration_seconds,
            retrospective=obs.retrospective,
            observer_id=obs.observer_id,
            observer_name=self.observer(obs.observer_id),
            created_at=obs.created_at,
            attendees=self._attendees(meeting.id, interventions),
            timeline=timeline,
            write_up=self.text(entry.text if entry else ""),
            summary=self._summary(interventions),
            filters=self.scope.filters.describe(),
        )

    def _notes(self, session_id: uuid.UUID) -> Iterator[NoteItem]:
        notes = self.session.exec(
            select(FieldNote).where(
                FieldNote.session_id == session_id, col(FieldNote.deleted_at).is_(None)
            )
        ).all()
        for n in notes:
            yield NoteItem(n.offset_seconds, n.kind.value, self.text(n.text), n.id)

    def _interventions(self, session_id: uuid.UUID) -> Iterator[InterventionItem]:
        rows = self.session.exec(
            select(Intervention).where(
                Intervention.session_id == session_id, col(Intervention.deleted_at).is_(None)
            )
        ).all()
        for i in rows:
            person = self.person(i.participant_id)
            if person is None:  # withdrawn, declined or deleted: nothing of theirs leaves
                continue
            yield InterventionItem(
                offset_seconds=i.offset_seconds,
                intervention_id=i.id,
                participant_id=i.participant_id,
                person=person,
                code_key=i.code_key,
                code_label=self.label(i.code_key) or i.code_key,
                form_key=i.form_key,
                form_label=self.label(i.form_key),
                quote=self.text(i.quote),
                note=self.text(i.note),
                agenda_item=self.text(i.agenda_item),
                created_at=i.created_at,
                sort_id=i.id,
            )

    def _attendees(
        self, meeting_id: uuid.UUID, interventions: list[InterventionItem]
    ) -> list[Person]:
        ids = set(
            self.session.exec(
                select(MeetingAttendee.participant_id).where(
                    MeetingAttendee.meeting_id == meeting_id,
                    col(MeetingAttendee.deleted_at).is_(None),
                )
            ).all()
        )
        # Whoever intervened was there, listed as an attendee or not.
        ids.update(i.participant_id for i in interventions)
        people = [p for p in (self.person(pid) for pid in ids) if p is not None]
        return sorted(people, key=lambda p: p.code)

    def _summary(self, interventions: list[InterventionItem]) -> Summary:
        counts: dict[str, Counter[str]] = {}
        people: dict[str, Person] = {}
        for i in interventions:
            counts.setdefault(i.person.code, Counter())[i.code_key] += 1
            people[i.person.code] = i.person
        used = {i.code_key for i in interventions}
        columns = [
            (k, c.label)
            for k, c in self.codes.items()
            if c.parent_key is None
            and c.group is CodeGroup.contribution
            and (not c.retired or k in used)
        ]
        known = {k for k, _ in columns}
        columns += [(k, self.label(k) or k) for k in sorted(used - known)]
        rows = [(people[code], dict(counts[code])) for code in sorted(counts)]
        return Summary(columns, rows)
