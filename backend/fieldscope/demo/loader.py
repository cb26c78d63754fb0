"""Load the synthetic demo study in one transaction, once.

Idempotent: when a study with the demo's slug exists nothing is written at all. Existing
accounts with a demo email are reused as they are (their password is not touched).
Deterministic: every choice comes from one seeded generator, so two loads of an empty
database produce the same study (ids and timestamps aside). Records are written with the
models, so the flush hooks write their audit events, change-log rows and coverage.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fieldscope.auth.models import Membership, Role, User
from fieldscope.auth.service import check_password_strength, create_user, normalise_email
from fieldscope.changes import set_actor
from fieldscope.codebook.default import CONTRIBUTIONS
from fieldscope.codebook.service import seed_default_codebook
from fieldscope.db import transaction
from fieldscope.demo import plan
from fieldscope.demo.plan import SYNTHETIC, PlannedMeeting
from fieldscope.demo.reference import observation_totals, table1
from fieldscope.meetings.models import Meeting, MeetingAttendee, StageOfChange
from fieldscope.observations.models import FieldNote, Intervention, JournalEntry, NoteKind
from fieldscope.observations.models import ObservationSession as ObsSession
from fieldscope.participants.models import Background, Consent, Level, Participant
from fieldscope.studies.models import Site, Study
from fieldscope.totals.coverage import observed_intervals, union_seconds

SEED = 2023
LEVEL_TAG = {"executive": "EX", "thematic": "TH", "project": "PR"}
FORMS = {key: [form for form, _ in forms] for key, _, _, _, forms in CONTRIBUTIONS}
# Contributions weighted per level: boards hear more analysis and representation.
WEIGHTS = {
    "executive": (4, 4, 2, 2),
    "thematic": (3, 3, 3, 2),
    "project": (2, 2, 3, 4),
}


@dataclass
class Account:
    key: str
    email: str
    display_name: str
    role: str
    password: str | None  # None: the account existed and keeps its password


@dataclass
class DemoResult:
    created: bool
    study_id: uuid.UUID
    slug: str
    accounts: list[Account]
    counts: dict[str, int] = field(default_factory=dict)


def check_plan() -> None:
    """The hand-made plan must reproduce the reference figures exactly."""
    reference = observation_totals()
    minutes: Counter[str] = Counter()
    for m in plan.MEETINGS:
        minutes[m.site] += m.minutes
    for site, figures in reference.items():
        got = sum(minutes.values()) if site == "all" else minutes[site]
        if got != round(figures.hours * 60):
            raise RuntimeError(f"demo plan: site {site} has {got} min, not {figures.hours} h")
    expected_meetings = reference["all"].meetings
    if expected_meetings is not None and len(plan.MEETINGS) != expected_meetings:
        raise RuntimeError(f"demo plan: {len(plan.MEETINGS)} meetings, not {expected_meetings}")


def load_demo(engine: Engine, password: str = plan.DEFAULT_PASSWORD) -> DemoResult:
    check_plan()
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        existing = s.exec(select(Study).where(Study.slug == plan.STUDY_SLUG)).first()
        if existing is not None:
            return DemoResult(False, existing.id, existing.slug, _existing_accounts(s))
        check_password_strength(password)
        return _Builder(s, password).build()


def _existing_accounts(s: Session) -> list[Account]:
    out = []
    for key, email, name, role in plan.ACCOUNTS:
        user = s.exec(select(User).where(User.email == email)).first()
        out.append(Account(key, email, user.display_name if user else name, role, None))
    return out


class _Builder:
    def __init__(self, s: Session, password: str) -> None:
        self.s = s
        self.password = password
        self.rng = random.Random(SEED)
        self.counts: Counter[str] = Counter()
        self.users: dict[str, uuid.UUID] = {}
        self.sites: dict[str, Site] = {}
        self.leaders: dict[tuple[str, str], list[Participant]] = defaultdict(list)
        self.staff: dict[tuple[str, str], list[Participant]] = defaultdict(list)
        self.study_id = uuid.UUID(int=0)
        self.version_id = uuid.UUID(int=0)

    def add(self, obj: Any) -> None:
        self.s.add(obj)
        self.counts[type(obj).__tablename__] += 1

    def build(self) -> DemoResult:
        accounts = self._accounts()
        study = Study(
            name=plan.STUDY_NAME,
            slug=plan.STUDY_SLUG,
            description=plan.STUDY_DESCRIPTION,
            ethics_reference=plan.ETHICS_REFERENCE,
            starts_on=plan.STARTS_ON,
            ends_on=plan.ENDS_ON,
        )
        self.add(study)
        self.s.flush()
        self.study_id = study.id
        for a in accounts:
            self.s.add(Membership(user_id=self.users[a.key], study_id=study.id, role=Role(a.role)))
        self.version_id = seed_default_codebook(self.s, study.id).id
        self._sites_and_people()
        for index, planned in enumerate(plan.MEETINGS):
            self._meeting(index, planned)
        self.s.flush()
        return DemoResult(True, study.id, study.slug, accounts, dict(self.counts))

    def _accounts(self) -> list[Account]:
        out = []
        for key, email, name, role in plan.ACCOUNTS:
            user = self.s.exec(select(User).where(User.email == normalise_email(email))).first()
            secret: str | None = None
            if user is None:
                user = create_user(self.s, email, self.password, name)
                secret = self.password
            self.users[key] = user.id
            out.append(Account(key, email, user.display_name, role, secret))
        return out

    def _sites_and_people(self) -> None:
        consent_dates = {}
        for code, name, hours, meetings, consented in plan.SITES:
            site: Site = Site(
                study_id=self.study_id,
                code=code,
                name=name,
                target_hours=hours,
                target_meetings=meetings,
            )
            self.add(site)
            self.sites[code] = site
            consent_dates[code] = consented
        self.s.flush()
        numbers: Counter[tuple[str, str]] = Counter()

        def person(site: str, level: str, role: str, background: Background) -> Participant:
            numbers[(site, level)] += 1
            p = Participant(
                study_id=self.study_id,
                site_id=self.sites[site].id,
                code=f"{site}-{LEVEL_TAG[level]}-{numbers[(site, level)]:02d}",
                role_title=role,
                level=Level(level),
                background=background,
                is_clinical_leader=background is not Background.non_clinical,
                consent=Consent.consented,
                consent_date=consent_dates[site],
            )
            self.add(p)
            return p

        for row in table1():
            for _ in range(row.count):
                background = Background(row.background.replace(" ", "_"))
                p = person(row.site, row.level, row.role, background)
                self.leaders[(row.site, row.role)].append(p)
        for site_code, levels in plan.NON_CLINICAL.items():
            for level, roles in levels.items():
                for role in roles:
                    p = person(site_code, level, role, Background.non_clinical)
                    self.staff[(site_code, level)].append(p)

    def _meeting(self, index: int, m: PlannedMeeting) -> None:
        site = self.sites[m.site]
        meeting = Meeting(
            study_id=self.study_id,
            site_id=site.id,
            level=Level(m.level),
            title=m.title,
            theme=m.theme,
            scheduled_start=m.start,
            location=m.location,
            stage_of_change=StageOfChange(m.stage),
            created_by=self.users[m.observer],
        )
        self.add(meeting)
        leads: list[Participant] = []
        for role in m.leads:
            found = self.leaders.get((m.site, role))
            if not found:
                raise RuntimeError(f"demo plan: no clinical leader '{role}' at site {m.site}")
            leads.extend(found)
        for p in leads + self.staff[(m.site, m.level)]:
            self.add(
                MeetingAttendee(study_id=self.study_id, meeting_id=meeting.id, participant_id=p.id)
            )
        spans = self._spans(m)
        covered = union_seconds(
            iv
            for start, end, pauses in spans.values()
            for iv in observed_intervals(start, end, pauses)
        )
        if covered != m.minutes * 60:
            raise RuntimeError(f"demo plan: {m.title} covers {covered / 60} min, not {m.minutes}")
        for observer, (start, end, pauses) in spans.items():
            self._session(index, m, meeting, leads, observer, start, end, pauses)

    def _spans(
        self, m: PlannedMeeting
    ) -> dict[str, tuple[datetime, datetime, list[dict[str, Any]]]]:
        """Each observer's session as (start, end, pauses); their union is `m.minutes`."""
        start = m.start + timedelta(minutes=3)
        end = start + timedelta(minutes=m.minutes + m.pause)
        pause_at = start + timedelta(minutes=(m.minutes // 2) // 5 * 5)
        pause = [{"start": _iso(pause_at), "end": _iso(pause_at + timedelta(minutes=m.pause))}]
        pauses = pause if m.pause else []
        main = (start, end, pauses)
        other_key = "fw2" if m.observer == "fw1" else "fw1"
        if m.co is None:
            return {m.observer: main}
        if m.co == "late":  # the second fieldworker arrives 20 minutes in
            other = (start + timedelta(minutes=20), end, pauses)
        elif m.co == "relay":  # the first leaves early; the second arrived mid-way
            main = (start, end - timedelta(minutes=30), pauses)
            other = (start + timedelta(minutes=45), end, pauses)
        else:  # "pause": both pause for the same confidential item
            other = (start + timedelta(minutes=10), end, pauses)
        return {m.observer: main, other_key: other}

    def _session(
        self,
        index: int,
        m: PlannedMeeting,
        meeting: Meeting,
        leads: list[Participant],
        observer: str,
        start: datetime,
        end: datetime,
        pauses: list[dict[str, Any]],
    ) -> None:
        intervals = observed_intervals(start, end, pauses)
        minutes = union_seconds(intervals) / 60
        main = observer == m.observer
        obs = ObsSession(
            study_id=self.study_id,
            site_id=meeting.site_id,
            observer_id=self.users[observer],
            meeting_id=meeting.id,
            started_at=start,
            ended_at=end,
            pauses=pauses,
            retrospective=m.retrospective,
            duration_seconds=minutes * 60,
            device_started_at=None if m.retrospective else start,
        )
        self.add(obs)
        scoped: dict[str, Any] = {
            "study_id": self.study_id,
            "site_id": meeting.site_id,
            "observer_id": obs.observer_id,
            "session_id": obs.id,
        }
        tagged: Counter[str] = Counter()
        for offset in sorted(self._moments(intervals, start, int(minutes / (12 if main else 20)))):
            person = self.rng.choice(leads)
            key = self.rng.choices(list(FORMS), weights=WEIGHTS[m.level])[0]
            tagged[key] += 1
            quote = self.rng.choice(plan.QUOTES[key]) if self.rng.random() < 0.35 else ""
            self.add(
                Intervention(
                    **scoped,
                    participant_id=person.id,
                    codebook_version_id=self.version_id,
                    code_key=key,
                    form_key=self.rng.choice(FORMS[key]) if self.rng.random() < 0.75 else None,
                    offset_seconds=offset,
                    device_time=None if m.retrospective else start + timedelta(seconds=offset),
                    quote=f"{SYNTHETIC} {quote}" if quote else "",
                    note=f"{SYNTHETIC} {person.code} {self.rng.choice(plan.SCENES[key])}.",
                    agenda_item=self.rng.choice(plan.AGENDA[m.level]),
                )
            )
        self._notes(index, m, leads, scoped, intervals, start, main)
        self._journal(m, scoped, minutes, tagged, main)

    def _moments(
        self, intervals: list[tuple[float, float]], start: datetime, n: int
    ) -> list[float]:
        """`n` whole-second offsets from the session start that fall in observed time."""
        t0 = start.timestamp()
        out = []
        for _ in range(max(n, 1)):
            a, b = self.rng.choice(intervals)
            out.append(float(int(self.rng.uniform(a, b) - t0)))
        return out

    def _notes(
        self,
        index: int,
        m: PlannedMeeting,
        leads: list[Participant],
        scoped: dict[str, Any],
        intervals: list[tuple[float, float]],
        start: datetime,
        main: bool,
    ) -> None:
        fill = {"theme": m.theme.lower(), "code": self.rng.choice(leads).code}
        notes: list[tuple[NoteKind, str, float | None]] = []
        for moment in sorted(self._moments(intervals, start, 2 if main else 1)):
            text = self.rng.choice(plan.OBSERVATIONS).format(**fill)
            notes.append((NoteKind.observation, text, moment))
        if main:
            notes.append((NoteKind.reflection, self.rng.choice(plan.REFLECTIONS), None))
            if index % 2 == 0:
                text = self.rng.choice(plan.INTERVIEWS).format(**fill)
                notes.append((NoteKind.informal_interview, text, None))
        if m.co is not None:
            notes.append((NoteKind.method, plan.METHODS[1], 0.0))
        elif m.retrospective:
            notes.append((NoteKind.method, plan.METHODS[2], None))
        elif main and index % 4 == 0:
            notes.append((NoteKind.method, plan.METHODS[0], 0.0))
        for kind, text, offset in notes:
            device_time = None
            if offset is not None and not m.retrospective:
                device_time = start + timedelta(seconds=offset)
            self.add(
                FieldNote(
                    **scoped,
                    kind=kind,
                    offset_seconds=offset,
                    device_time=device_time,
                    text=f"{SYNTHETIC} {text}",
                )
            )

    def _journal(
        self,
        m: PlannedMeeting,
        scoped: dict[str, Any],
        minutes: float,
        tagged: Counter[str],
        main: bool,
    ) -> None:
        labels = {key: label for key, label, _, _, _ in CONTRIBUTIONS}
        summary = ", ".join(f"{labels[k].lower()} {n}" for k, n in tagged.most_common())
        paused = f", with a {m.pause}-minute pause" if m.pause else ""
        role = "" if main else " (second observer)"
        text = (
            f"{SYNTHETIC} Field journal{role}: {m.title}, site {m.site}, "
            f"{m.start:%d %B %Y}.\n\n"
            f"Observed {minutes:g} minutes{paused}. Interventions by clinical leaders tagged: "
            f"{summary or 'none'}.\n\n"
            f"The discussion of {m.theme.lower()} turned on whether the plan was realistic; "
            "clinical leads used examples from their own services to test it.\n\n"
            "This write-up is synthetic and describes no real meeting or person."
        )
        self.add(JournalEntry(**scoped, text=text))


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
