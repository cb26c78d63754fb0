"""Meetings and attendees: who writes them, filters, and every refused input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from fieldscope.auth.models import User
from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.errors import AppError
from fieldscope.meetings.models import Meeting, MeetingAttendee
from fieldscope.registry import specs
from tests.apitools import API, assert_problem, fast_passwords, observe, unchanged
from tests.factories import Actor, World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]


def url(world: World, tail: str = "") -> str:
    return f"{API}/studies/{world.study_id}/meetings{tail}"


def new(world: World, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": str(world.site_ids["A"]),
        "level": "executive",
        "title": "ICS board",
        "theme": "Winter pressures",
        "scheduled_start": "2026-03-04T10:00:00+00:00",
        "location": "Room 2",
        "stage_of_change": "strategy",
    }
    return body | extra


def create(client: TestClient, world: World, actor: Actor, **extra: Any) -> dict[str, Any]:
    res = client.post(url(world), json=new(world, **extra), headers=actor.headers)
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def test_fieldworkers_and_pis_add_and_edit_meetings(client: TestClient, world: World) -> None:
    made = create(client, world, world.fw)
    assert made["created_by"] == str(world.fw.user_id)
    assert made["scheduled_start"].startswith("2026-03-04T10:00:00")
    assert (made["level"], made["stage_of_change"], made["version"]) == ("executive", "strategy", 1)
    # Any fieldworker or PI of the study may correct it.
    for actor, title in ((world.fw2, "ICS board (extra)"), (world.pi, "ICS board, March")):
        res = client.patch(
            url(world, f"/{made['id']}"), json={"title": title}, headers=actor.headers
        )
        assert res.status_code == 200, res.text
    res = client.patch(
        url(world, f"/{made['id']}"), json={"stage_of_change": None}, headers=world.pi.headers
    )
    body = res.json()
    assert (body["title"], body["stage_of_change"], body["version"]) == (
        "ICS board, March",
        None,
        4,
    )
    assert body["created_by"] == str(world.fw.user_id)
    got = client.get(url(world, f"/{made['id']}"), headers=world.analyst.headers)
    assert got.status_code == 200 and got.json() == body


def test_analysts_read_only_and_outsiders_see_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    made = create(client, world, world.pi)
    one = url(world, f"/{made['id']}")
    with unchanged(engine):
        res = client.post(url(world), json=new(world), headers=world.analyst.headers)
        assert_problem(res, 403, "forbidden", "only a PI or fieldworker of this study")
        res = client.patch(one, json={"title": "x"}, headers=world.analyst.headers)
        assert_problem(res, 403, "forbidden", "add or edit meetings")
        assert_problem(client.delete(one, headers=world.analyst.headers), 403, "forbidden")
        for res in (
            client.get(url(world), headers=world.outsider.headers),
            client.get(one, headers=world.outsider.headers),
            client.post(url(world), json=new(world), headers=world.outsider.headers),
            client.delete(one, headers=world.outsider.headers),
        ):
            assert_problem(res, 404, "not_found", "study")
        assert_problem(client.post(url(world), json=new(world)), 401, "not_signed_in")


def bad_meetings(world: World) -> list[tuple[dict[str, Any], int, str, str]]:
    return [
        (new(world, site_id=str(uuid.uuid4())), 422, "unknown_site", "site_id"),
        (new(world, site_id="A"), 422, "validation_error", "site_id"),
        (new(world, level="board"), 422, "validation_error", "level"),
        (new(world, title=""), 422, "validation_error", "title"),
        (new(world, title="   "), 422, "validation_error", "title"),
        (new(world, title="t" * 201), 422, "validation_error", "at most 200"),
        (new(world, theme="t" * 201), 422, "validation_error", "theme"),
        (new(world, location="x\x00"), 422, "validation_error", "NUL"),
        (new(world, scheduled_start="2026-03-04T10:00:00"), 422, "validation_error", "timezone"),
        (new(world, scheduled_start="1850-01-01T10:00:00Z"), 422, "validation_error", "1900"),
        (new(world, scheduled_start="next tuesday"), 422, "validation_error", "scheduled_start"),
        (new(world, stage_of_change="later"), 422, "validation_error", "stage_of_change"),
        (new(world, created_by=str(world.pi.user_id)), 422, "validation_error", "extra"),
        ({"site_id": str(world.site_ids["A"]), "title": "x"}, 422, "validation_error", "level"),
    ]


def test_bad_meetings_are_refused_and_change_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    for body, status, code, fragment in bad_meetings(world):
        with unchanged(engine):
            res = client.post(url(world), json=body, headers=world.fw.headers)
            assert_problem(res, status, code, fragment)
    other_site = client.get(
        f"{API}/studies/{world.other_study_id}/sites", headers=world.outsider.headers
    ).json()[0]["id"]
    with unchanged(engine):
        res = client.post(url(world), json=new(world, site_id=other_site), headers=world.fw.headers)
        body = assert_problem(res, 422, "unknown_site", "no such site in this study")
        assert body["errors"] == [
            {"field": "site_id", "message": "site_id: there is no such site in this study."}
        ]
    made = create(client, world, world.fw)
    one = url(world, f"/{made['id']}")
    for patch, status, code, fragment in [
        ({"title": None}, 422, "validation_error", "must not be null"),
        ({"level": None}, 422, "validation_error", "must not be null"),
        ({"site_id": other_site}, 422, "unknown_site", "site_id"),
        ({"scheduled_start": "2026-13-01T00:00:00Z"}, 422, "validation_error", "scheduled_start"),
    ]:
        with unchanged(engine):
            assert_problem(
                client.patch(one, json=patch, headers=world.fw.headers), status, code, fragment
            )
    with unchanged(engine):
        res = client.get(url(world, f"/{uuid.uuid4()}"), headers=world.fw.headers)
        assert_problem(res, 404, "not_found", "meeting")


def test_filters_and_pagination(client: TestClient, world: World, engine: Engine) -> None:
    site_b = str(world.site_ids["B"])
    create(client, world, world.fw, title="m1", scheduled_start="2026-03-01T09:00:00Z")
    create(
        client,
        world,
        world.fw,
        title="m2",
        scheduled_start="2026-03-02T23:30:00Z",
        level="thematic",
        stage_of_change="delivery",
    )
    create(
        client,
        world,
        world.pi,
        title="m3",
        scheduled_start="2026-03-03T08:00:00+02:00",
        site_id=site_b,
        level="project",
    )
    create(client, world, world.pi, title="m0", scheduled_start=None, site_id=site_b)

    def titles(query: str) -> list[str]:
        res = client.get(url(world, query), headers=world.analyst.headers)
        assert res.status_code == 200, res.text
        return [m["title"] for m in res.json()["items"]]

    assert titles("") == ["m1", "m2", "m3", "m0"]  # by start, unscheduled last
    assert titles(f"?site_id={site_b}") == ["m3", "m0"]
    assert titles("?level=thematic") == ["m2"]
    assert titles("?stage_of_change=delivery") == ["m2"]
    assert titles("?date_from=2026-03-02") == ["m2", "m3"]
    assert titles("?date_to=2026-03-02") == ["m1", "m2"]  # inclusive, whole UTC day
    # 08:00 at +02:00 is 06:00 UTC on the 3rd.
    assert titles("?date_from=2026-03-03&date_to=2026-03-03") == ["m3"]
    page = client.get(url(world, "?limit=2&offset=2"), headers=world.fw.headers).json()
    assert [m["title"] for m in page["items"]] == ["m3", "m0"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 2)
    with unchanged(engine):
        for query, code, fragment in [
            ("?date_from=2026-03-05&date_to=2026-03-01", "invalid_date_range", "date_to"),
            ("?date_from=yesterday", "validation_error", "date_from"),
            ("?level=board", "validation_error", "level"),
            ("?stage_of_change=soon", "validation_error", "stage_of_change"),
            ("?limit=100000", "validation_error", "limit"),
            (f"?site_id={uuid.uuid4()}", "unknown_site", "site_id"),
        ]:
            res = client.get(url(world, query), headers=world.fw.headers)
            assert_problem(res, 422, code, fragment)


def test_deleting_meetings(client: TestClient, world: World, engine: Engine) -> None:
    mine = create(client, world, world.fw)
    with unchanged(engine):
        res = client.delete(url(world, f"/{mine['id']}"), headers=world.fw2.headers)
        assert_problem(res, 403, "forbidden", "fieldworker who added this meeting")
    assert client.delete(url(world, f"/{mine['id']}"), headers=world.fw.headers).status_code == 204
    assert_problem(
        client.get(url(world, f"/{mine['id']}"), headers=world.fw.headers), 404, "not_found"
    )
    assert client.get(url(world), headers=world.fw.headers).json()["total"] == 0
    theirs = create(client, world, world.fw)
    assert (
        client.delete(url(world, f"/{theirs['id']}"), headers=world.pi.headers).status_code == 204
    )
    observed = create(client, world, world.fw)
    observe(
        engine,
        study_id=world.study_id,
        site_id=world.site_ids["A"],
        meeting_id=uuid.UUID(observed["id"]),
        observer_id=world.fw.user_id,
    )
    with unchanged(engine):
        res = client.delete(url(world, f"/{observed['id']}"), headers=world.pi.headers)
        assert_problem(res, 409, "meeting_observed", "1 observation session", "cannot be deleted")
        res = client.patch(
            url(world, f"/{observed['id']}"),
            json={"site_id": str(world.site_ids["B"])},
            headers=world.pi.headers,
        )
        assert_problem(res, 409, "meeting_observed", "moved to another site")


# ---- attendees


def attendees(world: World, meeting_id: str, tail: str = "") -> str:
    return url(world, f"/{meeting_id}/attendees{tail}")


def test_attendees_are_added_listed_and_removed(
    client: TestClient, world: World, engine: Engine
) -> None:
    meeting = create(client, world, world.fw)
    where = attendees(world, meeting["id"])
    added = []
    for code in ("A-TH-02", "A-EX-01"):
        res = client.post(
            where, json={"participant_id": str(world.leaders[code])}, headers=world.fw.headers
        )
        assert res.status_code == 201, res.text
        added.append(res.json())
    assert added[0]["participant_code"] == "A-TH-02"
    assert added[0]["study_id"] == str(world.study_id)
    listed = client.get(where, headers=world.analyst.headers).json()
    assert [a["participant_code"] for a in listed] == ["A-EX-01", "A-TH-02"]
    with unchanged(engine):
        res = client.post(
            where, json={"participant_id": str(world.leaders["A-EX-01"])}, headers=world.pi.headers
        )
        assert_problem(res, 409, "already_attending", "A-EX-01 is already an attendee")
    gone = attendees(world, meeting["id"], f"/{added[1]['id']}")
    assert client.delete(gone, headers=world.fw2.headers).status_code == 204
    assert [a["participant_code"] for a in client.get(where, headers=world.fw.headers).json()] == [
        "A-TH-02"
    ]
    assert_problem(client.delete(gone, headers=world.fw.headers), 404, "not_found", "attendee")
    with transaction(engine) as s:
        row = s.get(MeetingAttendee, uuid.UUID(added[1]["id"]))
        assert row is not None and row.deleted_at is not None  # a tombstone, not erased
    # Removed by mistake: adding again is a new attendance.
    res = client.post(
        where, json={"participant_id": str(world.leaders["A-EX-01"])}, headers=world.fw.headers
    )
    assert res.status_code == 201, res.text
    assert res.json()["id"] != added[1]["id"]


def test_bad_attendees_are_refused_and_change_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    meeting = create(client, world, world.fw)
    where = attendees(world, meeting["id"])
    res = client.patch(
        f"{API}/studies/{world.study_id}/participants/{world.leaders['A-TH-02']}",
        json={"consent": "withdrawn", "consent_date": "2026-02-02"},
        headers=world.pi.headers,
    )
    assert res.status_code == 200
    other_study_person = _a_participant_of_the_other_study(engine, world)
    cases: list[tuple[Any, int, str, str]] = [
        (world.leaders["B-EX-01"], 422, "participant_other_site", "B-EX-01 belongs to site B"),
        (other_study_person, 422, "participant_other_study", "not part of this study"),
        (uuid.uuid4(), 422, "participant_other_study", "not part of this study"),
        (world.leaders["A-TH-02"], 422, "consent_not_given", "withdrawn consent"),
        ("A-EX-01", 422, "validation_error", "participant_id"),
    ]
    for participant_id, status, code, fragment in cases:
        with unchanged(engine):
            res = client.post(
                where, json={"participant_id": str(participant_id)}, headers=world.fw.headers
            )
            body = assert_problem(res, status, code, fragment)
            assert body["errors"][0]["field"] == "participant_id"
    with unchanged(engine):
        res = client.post(
            where,
            json={"participant_id": str(world.leaders["A-EX-01"])},
            headers=world.analyst.headers,
        )
        assert_problem(
            res, 403, "forbidden", "only a PI or fieldworker of this study can change attendees"
        )
        res = client.post(
            attendees(world, str(uuid.uuid4())),
            json={"participant_id": str(world.leaders["A-EX-01"])},
            headers=world.fw.headers,
        )
        assert_problem(res, 404, "not_found", "meeting")
        res = client.get(where, headers=world.outsider.headers)
        assert_problem(res, 404, "not_found", "study")


def test_a_meeting_with_attendees_keeps_its_site(
    client: TestClient, world: World, engine: Engine
) -> None:
    meeting = create(client, world, world.fw)
    client.post(
        attendees(world, meeting["id"]),
        json={"participant_id": str(world.leaders["A-EX-01"])},
        headers=world.fw.headers,
    )
    with unchanged(engine):
        res = client.patch(
            url(world, f"/{meeting['id']}"),
            json={"site_id": str(world.site_ids["B"])},
            headers=world.fw.headers,
        )
        assert_problem(res, 409, "meeting_has_attendees", "1 attendee(s)")
    # Deleting the meeting ends its attendances.
    assert (
        client.delete(url(world, f"/{meeting['id']}"), headers=world.fw.headers).status_code == 204
    )
    with transaction(engine) as s:
        rows = s.exec(
            select(MeetingAttendee).where(MeetingAttendee.meeting_id == uuid.UUID(meeting["id"]))
        ).all()
        assert rows and all(r.deleted_at is not None for r in rows)


def _a_participant_of_the_other_study(engine: Engine, world: World) -> uuid.UUID:
    from fieldscope.participants.models import Participant

    with transaction(engine) as s:
        row = s.exec(
            select(Participant).where(Participant.study_id == world.other_study_id)
        ).first()
        assert row is not None
        return row.id


def test_pushed_meetings_and_attendees_run_the_same_checks(
    client: TestClient, world: World, engine: Engine
) -> None:
    registry = specs()
    assert registry["meeting"].writable == {
        "study_id",
        "site_id",
        "level",
        "title",
        "theme",
        "scheduled_start",
        "location",
        "stage_of_change",
    }
    assert registry["meeting_attendee"].writable == {"meeting_id", "participant_id"}
    with transaction(engine) as s:
        fw = s.exec(select(User).where(User.id == world.fw.user_id)).one()
        analyst = s.exec(select(User).where(User.id == world.analyst.user_id)).one()
        set_actor(s, fw.id, via="sync")
        meeting = Meeting()
        for key, value in new(world).items():
            setattr(meeting, key, value)
        meeting.study_id = str(world.study_id)  # type: ignore[assignment]
        registry["meeting"].check(s, meeting, fw, True)
        assert meeting.created_by == fw.id and meeting.level == "executive"
        assert meeting.scheduled_start is not None and meeting.scheduled_start.tzinfo
        s.add(meeting)
        s.flush()
        with pytest.raises(AppError) as err:
            registry["meeting"].check(
                s, Meeting(**{**new(world), "study_id": world.study_id}), analyst, True
            )  # type: ignore[arg-type]
        assert err.value.status == 403
        row = MeetingAttendee(
            meeting_id=str(meeting.id), participant_id=str(world.leaders["A-EX-01"])
        )  # type: ignore[arg-type]
        registry["meeting_attendee"].check(s, row, fw, True)
        assert row.study_id == world.study_id  # derived from the meeting
        for fields, status, fragment in [
            (
                {"meeting_id": "nope", "participant_id": str(world.leaders["A-EX-01"])},
                422,
                "meeting_id",
            ),
            (
                {"meeting_id": str(uuid.uuid4()), "participant_id": str(world.leaders["A-EX-01"])},
                422,
                "no such meeting",
            ),
            (
                {"meeting_id": str(meeting.id), "participant_id": str(world.leaders["B-EX-01"])},
                422,
                "site B",
            ),
        ]:
            with pytest.raises(AppError) as err:
                registry["meeting_attendee"].check(s, MeetingAttendee(**fields), fw, True)
            assert err.value.status == status and fragment in err.value.detail
        # An attendance is never moved to another participant or meeting.
        s.add(row)
        s.flush()
        row.participant_id = world.leaders["A-TH-02"]
        with pytest.raises(AppError) as err:
            registry["meeting_attendee"].check(s, row, fw, False)
        assert (err.value.status, err.value.code) == (422, "immutable")
        assert "remove it and add another" in err.value.detail
        s.rollback()
