"""The demo study reproduces the reference study's figures, is synthetic, and loads once."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from fieldscope.auth.models import User
from fieldscope.auth.service import create_user
from fieldscope.codebook.service import validate_tag
from fieldscope.common.models import metadata
from fieldscope.db import make_engine, transaction
from fieldscope.demo import plan
from fieldscope.demo.loader import load_demo
from fieldscope.errors import AppError
from fieldscope.meetings.models import Meeting, MeetingAttendee
from fieldscope.migrate import upgrade
from fieldscope.observations.models import (
    FieldNote,
    Intervention,
    JournalEntry,
    NoteKind,
    ObservationSession,
)
from fieldscope.participants.models import Participant
from fieldscope.studies.models import Site, Study
from fieldscope.totals.coverage import observed_intervals
from fieldscope.totals.service import study_totals
from tests.factories import login

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "backend" / "fieldscope" / "demo" / "figures"
SHARED = ROOT.parent / "shared" / "reference"


def _csv(name: str) -> list[dict[str, str]]:
    with (PACKAGED / name).open(newline="") as f:
        return list(csv.DictReader(f))


TABLE1 = _csv("table1_clinical_leaders.csv")
HOURS = {r["site"]: float(r["hours"]) for r in _csv("observation_totals.csv")}
MEETINGS = int(next(r["meetings"] for r in _csv("observation_totals.csv") if r["site"] == "all"))


@pytest.mark.parametrize("name", ["table1_clinical_leaders.csv", "observation_totals.csv"])
def test_packaged_figures_are_the_reference(name: str) -> None:
    if not (SHARED / name).is_file():
        pytest.skip(f"{SHARED} is not present on this machine")
    assert (PACKAGED / name).read_bytes() == (SHARED / name).read_bytes()


def test_reference_is_what_the_paper_says() -> None:
    per_site = Counter[str]()
    for r in TABLE1:
        per_site[r["site"]] += int(r["count"])
    assert per_site == {"A": 10, "B": 10, "C": 5}
    assert HOURS == {"A": 22, "B": 22, "C": 5, "all": 49} and MEETINGS == 28


def test_demo_totals_reproduce_the_study(engine: Engine) -> None:
    result = load_demo(engine)
    assert result.created
    with transaction(engine, write=False) as s:
        totals = study_totals(s, result.study_id)
    assert totals.total.meetings == MEETINGS == 28
    assert totals.total.hours == HOURS["all"] == 49.0
    assert totals.total.seconds == 49 * 3600
    assert {site.code: site.hours for site in totals.sites} == {"A": 22.0, "B": 22.0, "C": 5.0}
    assert sum(site.meetings for site in totals.sites) == 28
    # Co-observation is exercised and counted once.
    assert totals.total.co_observed_meetings >= 4
    assert totals.total.observer_hours > totals.total.hours
    assert totals.total.open_sessions == 0
    # Table 1: clinical leaders per site x level, exactly as the CSV.
    expected: Counter[tuple[str, str]] = Counter()
    for r in TABLE1:
        expected[(r["site"], r["level"])] += int(r["count"])
    got = {
        (site.code, level): n
        for site in totals.sites
        for level, n in site.clinical_leaders.model_dump().items()
        if level != "total" and n
    }
    assert got == dict(expected)
    assert totals.total.clinical_leaders.total == 25
    assert {s.code: (s.target_hours, s.target_meetings) for s in totals.sites} == {
        "A": (24.0, 12),
        "B": (24.0, 12),
        "C": (12.0, 8),
    }


def test_demo_people_are_table1_plus_non_clinical_attendees(engine: Engine) -> None:
    result = load_demo(engine)
    with transaction(engine, write=False) as s:
        people = s.exec(
            select(Participant, Site)
            .join(Site, col(Site.id) == col(Participant.site_id))
            .where(col(Participant.study_id) == result.study_id)
        ).all()
        attending = set(s.exec(select(MeetingAttendee.participant_id)).scalars())
    leaders = Counter(
        (site.code, p.level, p.role_title, p.background.replace("_", " "))
        for p, site in people
        if p.is_clinical_leader
    )
    expected = Counter()
    for r in TABLE1:
        expected[(r["site"], r["level"], r["role"], r["background"])] += int(r["count"])
    assert leaders == expected
    codes = [p.code for p, _ in people]
    assert len(codes) == len(set(codes))
    for p, site in people:
        tag = {"executive": "EX", "thematic": "TH", "project": "PR"}[p.level or ""]
        assert p.code.startswith(f"{site.code}-{tag}-") and p.real_name is None
        assert p.consent == "consented" and p.consent_date is not None
    others = {p.role_title for p, _ in people if not p.is_clinical_leader}
    for role in ("Independent Chair", "STP Managing Director", "Project Manager"):
        assert role in others
    assert {"Director of Finance", "Finance Manager", "Workforce Lead"} <= others
    assert all(p.background == "non_clinical" for p, _ in people if not p.is_clinical_leader)
    # Every clinical leader of the table attends some meeting, and so do non-clinical people.
    assert all(p.id in attending for p, _ in people if p.is_clinical_leader)
    assert any(p.id in attending for p, _ in people if not p.is_clinical_leader)


def test_demo_records_are_consistent_and_labelled_synthetic(engine: Engine) -> None:
    result = load_demo(engine)
    with transaction(engine, write=False) as s:
        study = s.get(Study, result.study_id)
        assert study is not None and "SYNTHETIC" in study.description
        sessions = {o.id: o for o in s.exec(select(ObservationSession)).scalars()}
        meetings = {m.id: m for m in s.exec(select(Meeting)).scalars()}
        people = {p.id: p for p in s.exec(select(Participant)).scalars()}
        interventions = list(s.exec(select(Intervention)).scalars())
        notes = list(s.exec(select(FieldNote)).scalars())
        journals = list(s.exec(select(JournalEntry)).scalars())
        pairs = {(i.codebook_version_id, i.code_key, i.form_key) for i in interventions}
        for version_id, code, form in pairs:
            validate_tag(s, result.study_id, version_id, code, form)  # raises if unknown
    assert {i.code_key for i in interventions} == {
        "analytical_insight",
        "representation",
        "translation_communication",
        "relational",
    }
    assert any(i.form_key for i in interventions) and any(not i.form_key for i in interventions)
    assert {n.kind for n in notes} == set(NoteKind)
    assert len(journals) == len(sessions) == len({j.session_id for j in journals})
    labelled: list[str] = [i.note for i in interventions] + [n.text for n in notes]
    labelled += [i.quote for i in interventions if i.quote] + [j.text for j in journals]
    assert all(text.startswith(plan.SYNTHETIC) for text in labelled)
    for o in sessions.values():
        meeting = meetings[o.meeting_id]
        assert o.site_id == meeting.site_id and o.ended_at is not None
        assert o.started_at >= meeting.scheduled_start  # type: ignore[operator]
    for i in interventions:
        o = sessions[i.session_id]
        person = people[i.participant_id]
        assert person.is_clinical_leader and person.site_id == o.site_id
        assert o.ended_at is not None
        moment = o.started_at.timestamp() + i.offset_seconds
        assert any(
            a <= moment <= b for a, b in observed_intervals(o.started_at, o.ended_at, o.pauses)
        )
        assert i.observer_id == o.observer_id and i.study_id == result.study_id
    assert any(o.retrospective for o in sessions.values())
    assert any(o.pauses for o in sessions.values())


def _table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
        }


def test_demo_loads_once(engine: Engine) -> None:
    first = load_demo(engine)
    before = _table_counts(engine)
    second = load_demo(engine, password="another-password-entirely")
    assert not second.created and second.study_id == first.study_id
    assert [a.password for a in second.accounts] == [None] * 4
    assert _table_counts(engine) == before
    assert before["change_log"] == before["audit_events"] > 500


def test_demo_reuses_existing_accounts(engine: Engine, client: TestClient) -> None:
    with transaction(engine) as s:
        create_user(s, "demo-pi@example.org", "my own password 1")
    result = load_demo(engine, password="demo password 22")
    by_key = {a.key: a for a in result.accounts}
    assert by_key["pi"].password is None
    assert by_key["fw1"].password == "demo password 22"
    login(client, "demo-pi@example.org", "my own password 1")
    login(client, "demo-fw1@example.org", "demo password 22")


def test_demo_refuses_a_weak_password_and_writes_nothing(engine: Engine) -> None:
    before = _table_counts(engine)
    with pytest.raises(AppError, match="at least"):
        load_demo(engine, password="short")
    assert _table_counts(engine) == before


def _signature(engine: Engine) -> list[Any]:
    with transaction(engine, write=False) as s:
        codes = {p.id: p.code for p in s.exec(select(Participant)).scalars()}
        meetings = {m.id: (m.title, m.scheduled_start) for m in s.exec(select(Meeting)).scalars()}
        sessions = {
            o.id: (
                meetings[o.meeting_id],
                o.started_at,
                o.ended_at,
                json.dumps(o.pauses, sort_keys=True),
            )
            for o in s.exec(select(ObservationSession)).scalars()
        }
        out: list[Any] = sorted(sessions.values())
        out += sorted(
            (
                sessions[i.session_id],
                codes[i.participant_id],
                i.code_key,
                i.form_key or "",
                i.offset_seconds,
                i.quote,
                i.note,
                i.agenda_item,
            )
            for i in s.exec(select(Intervention)).scalars()
        )
        out += sorted(
            (sessions[n.session_id], n.kind, n.offset_seconds or -1.0, n.text)
            for n in s.exec(select(FieldNote)).scalars()
        )
        out += sorted(j.text for j in s.exec(select(JournalEntry)).scalars())
        out += sorted(codes.values())
    return out


def test_demo_is_deterministic(engine: Engine, tmp_path: Path) -> None:
    load_demo(engine)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    load_demo(other)
    try:
        assert _signature(engine) == _signature(other)
    finally:
        other.dispose()


def test_demo_totals_through_the_api(engine: Engine, client: TestClient) -> None:
    result = load_demo(engine)
    for email in ("demo-pi@example.org", "demo-fw2@example.org", "demo-analyst@example.org"):
        headers = login(client, email, plan.DEFAULT_PASSWORD)
        res = client.get(f"/api/v1/studies/{result.study_id}/totals", headers=headers)
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["study"] == "demo"
        assert body["total"]["meetings"] == 28 and body["total"]["hours"] == 49.0
        assert [(x["code"], x["hours"]) for x in body["sites"]] == [
            ("A", 22.0),
            ("B", 22.0),
            ("C", 5.0),
        ]
        assert [x["clinical_leaders"]["total"] for x in body["sites"]] == [10, 10, 5]
    with transaction(engine, write=False) as s:
        demo_users = s.exec(select(func.count()).select_from(User)).scalar_one()
    assert demo_users == 4
