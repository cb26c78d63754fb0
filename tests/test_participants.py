"""Participants: real names PI-only, stubs from the field, consent, filters, refusals."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from fieldscope.audit.models import AuditEvent
from fieldscope.auth.models import User
from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.errors import AppError
from fieldscope.participants.models import Participant
from fieldscope.registry import specs
from tests.apitools import API, assert_problem, fast_passwords, observe, unchanged
from tests.factories import Actor, World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]


def url(world: World, tail: str = "") -> str:
    return f"{API}/studies/{world.study_id}/participants{tail}"


def new(world: World, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": str(world.site_ids["A"]),
        "code": "A-PR-01",
        "role_title": "Project lead (pharmacy)",
        "level": "project",
        "background": "pharmacy",
        "is_clinical_leader": True,
    }
    return body | extra


def create(client: TestClient, world: World, actor: Actor, **extra: Any) -> dict[str, Any]:
    res = client.post(url(world), json=new(world, **extra), headers=actor.headers)
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def test_real_names_are_for_pis_only(client: TestClient, world: World) -> None:
    made = create(client, world, world.pi, real_name="Dr Synthetic Person")
    assert made["real_name"] == "Dr Synthetic Person"
    assert made["pending_review"] is False
    one = url(world, f"/{made['id']}")
    assert client.get(one, headers=world.pi.headers).json()["real_name"] == "Dr Synthetic Person"
    for actor in (world.fw, world.analyst):
        single = client.get(one, headers=actor.headers).json()
        assert single["code"] == "A-PR-01"
        assert "real_name" not in single
        items = client.get(url(world), headers=actor.headers).json()["items"]
        assert items and all("real_name" not in p for p in items)
    pi_items = client.get(url(world), headers=world.pi.headers).json()["items"]
    assert all("real_name" in p for p in pi_items)


def test_a_fieldworkers_participant_is_a_stub_pending_review(
    client: TestClient, world: World
) -> None:
    stub = create(client, world, world.fw, code="A-NEW-01", pending_review=False)
    assert stub["pending_review"] is True  # forced, whatever was sent
    assert "real_name" not in stub
    # The fieldworker may correct their stub while it waits for review...
    res = client.patch(
        url(world, f"/{stub['id']}"), json={"role_title": "Chair"}, headers=world.fw.headers
    )
    assert res.status_code == 200, res.text
    assert res.json()["role_title"] == "Chair"
    # ...only a PI clears the flag...
    res = client.patch(
        url(world, f"/{stub['id']}"), json={"pending_review": False}, headers=world.fw.headers
    )
    assert_problem(res, 403, "forbidden", "only a PI", "reviewed")
    res = client.patch(
        url(world, f"/{stub['id']}"), json={"pending_review": False}, headers=world.pi.headers
    )
    assert res.status_code == 200 and res.json()["pending_review"] is False
    # ...and after review the fieldworker can no longer edit it.
    res = client.patch(
        url(world, f"/{stub['id']}"), json={"role_title": "Vice chair"}, headers=world.fw.headers
    )
    assert_problem(res, 403, "forbidden", "only a PI", "pending review")
    pending = client.get(url(world, "?pending_review=true"), headers=world.pi.headers).json()
    assert pending["total"] == 0


def test_fieldworkers_may_not_record_names_or_consent(
    client: TestClient, world: World, engine: Engine
) -> None:
    with unchanged(engine):
        res = client.post(url(world), json=new(world, real_name="Jo"), headers=world.fw.headers)
        assert_problem(res, 403, "forbidden", "only a PI", "real names")
        res = client.post(
            url(world),
            json=new(world, consent="declined", consent_date="2026-01-05"),
            headers=world.fw.headers,
        )
        assert_problem(res, 403, "forbidden", "only a PI", "consent")
    stub = create(client, world, world.fw)
    one = url(world, f"/{stub['id']}")
    with unchanged(engine):
        res = client.patch(one, json={"real_name": "Jo"}, headers=world.fw.headers)
        assert_problem(res, 403, "forbidden", "real names")
        res = client.patch(
            one,
            json={"consent": "withdrawn", "consent_date": "2026-02-01"},
            headers=world.fw.headers,
        )
        assert_problem(res, 403, "forbidden", "only a PI of this study can change consent")


def test_wrong_roles_and_outsiders(client: TestClient, world: World, engine: Engine) -> None:
    leader = url(world, f"/{world.leaders['A-EX-01']}")
    with unchanged(engine):
        res = client.post(url(world), json=new(world), headers=world.analyst.headers)
        assert_problem(res, 403, "forbidden", "only a PI or fieldworker of this study")
        res = client.patch(leader, json={"role_title": "x"}, headers=world.analyst.headers)
        assert_problem(res, 403, "forbidden", "only a PI or fieldworker")
        for actor in (world.fw, world.analyst):
            assert_problem(
                client.delete(leader, headers=actor.headers),
                403,
                "forbidden",
                "only a PI of this study can delete participants",
            )
        for res in (
            client.get(url(world), headers=world.outsider.headers),
            client.get(leader, headers=world.outsider.headers),
            client.post(url(world), json=new(world), headers=world.outsider.headers),
            client.patch(leader, json={"role_title": "x"}, headers=world.outsider.headers),
            client.delete(leader, headers=world.outsider.headers),
        ):
            assert_problem(res, 404, "not_found", "study")
        assert_problem(client.get(url(world)), 401, "not_signed_in")


def bad_creates(world: World) -> list[tuple[dict[str, Any], int, str, str]]:
    other_site = str(uuid.uuid4())
    return [
        (new(world, code="A-EX-01"), 409, "duplicate_code", "'A-EX-01' is already used"),
        (new(world, code="a-ex-01"), 409, "duplicate_code", "'A-EX-01'"),
        (new(world, site_id=other_site), 422, "unknown_site", "site_id"),
        (new(world, site_id="not-a-uuid"), 422, "validation_error", "site_id"),
        (new(world, code="A EX 01"), 422, "validation_error", "e.g. A-EX-01"),
        (new(world, code="A" * 33), 422, "validation_error", "at most 32"),
        (new(world, code=""), 422, "validation_error", "code"),
        (new(world, role_title="x" * 201), 422, "validation_error", "role_title"),
        (new(world, role_title="a\x00b"), 422, "validation_error", "NUL"),
        (new(world, level="board"), 422, "validation_error", "level"),
        (new(world, background="law"), 422, "validation_error", "background"),
        (new(world, is_clinical_leader="perhaps"), 422, "validation_error", "is_clinical_leader"),
        (new(world, real_name="x" * 201), 422, "validation_error", "real_name"),
        (new(world, consent="maybe"), 422, "validation_error", "consent"),
        (new(world, consent="declined"), 422, "consent_date_required", "declined"),
        (
            new(world, consent="consented", consent_date="2999-01-01"),
            422,
            "validation_error",
            "between 1900 and 2200",
        ),
        (
            new(world, consent="consented", consent_date="2150-01-01"),
            422,
            "future_date",
            "future",
        ),
        (new(world, study_id=str(world.other_study_id)), 422, "validation_error", "extra"),
        (new(world, pending_review="soon"), 422, "validation_error", "pending_review"),
    ]


def test_bad_participants_are_refused_and_change_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    for body, status, code, fragment in bad_creates(world):
        with unchanged(engine):
            res = client.post(url(world), json=body, headers=world.pi.headers)
            assert_problem(res, status, code, fragment)
    body = new(world)
    del body["background"]
    with unchanged(engine):
        res = client.post(url(world), json=body, headers=world.pi.headers)
        assert_problem(res, 422, "validation_error", "background", "required")


def test_a_site_of_another_study_is_refused(
    client: TestClient, world: World, engine: Engine
) -> None:
    other = client.get(
        f"{API}/studies/{world.other_study_id}/sites", headers=world.outsider.headers
    ).json()[0]
    with unchanged(engine):
        res = client.post(
            url(world), json=new(world, site_id=other["id"]), headers=world.pi.headers
        )
        body = assert_problem(res, 422, "unknown_site", "no such site in this study")
        assert body["errors"][0]["field"] == "site_id"


def test_bad_edits_are_refused_and_change_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    one = url(world, f"/{world.leaders['A-EX-01']}")
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"code": "A-TH-02"}, 409, "duplicate_code", "A-TH-02"),
        ({"code": None}, 422, "validation_error", "must not be null"),
        ({"background": None}, 422, "validation_error", "must not be null"),
        ({"consent": "withdrawn"}, 422, "consent_date_required", "consent_date"),
        ({"consent": "withdrawn", "consent_date": None}, 422, "consent_date_required", "withdrawn"),
        ({"site_id": str(world.site_ids["B"]), "extra": 1}, 422, "validation_error", "extra"),
    ]
    for body, status, code, fragment in cases:
        with unchanged(engine):
            res = client.patch(one, json=body, headers=world.pi.headers)
            assert_problem(res, status, code, fragment)
    with unchanged(engine):
        res = client.get(url(world, "/not-a-uuid"), headers=world.pi.headers)
        assert_problem(res, 422, "validation_error", "participant_id")
        res = client.get(url(world, f"/{uuid.uuid4()}"), headers=world.pi.headers)
        assert_problem(res, 404, "not_found", "participant")


def test_consent_withdrawal_and_its_reversal_are_pi_only_and_audited(
    client: TestClient, world: World, engine: Engine
) -> None:
    pid = world.leaders["A-TH-02"]
    one = url(world, f"/{pid}")
    res = client.patch(
        one, json={"consent": "withdrawn", "consent_date": "2026-03-01"}, headers=world.pi.headers
    )
    assert res.status_code == 200, res.text
    assert (res.json()["consent"], res.json()["consent_date"]) == ("withdrawn", "2026-03-01")
    with unchanged(engine):
        res = client.patch(
            one,
            json={"consent": "consented", "consent_date": "2026-03-02"},
            headers=world.fw.headers,
        )
        assert_problem(res, 403, "forbidden", "only a PI of this study can edit A-TH-02")
    res = client.patch(
        one, json={"consent": "consented", "consent_date": "2026-03-09"}, headers=world.pi.headers
    )
    assert res.status_code == 200 and res.json()["consent"] == "consented"
    with transaction(engine) as s:
        events = s.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_id == pid, AuditEvent.action == "update")
            .order_by(col(AuditEvent.id))
        ).all()
    assert [(e.before or {}).get("consent") for e in events] == ["consented", "withdrawn"]
    assert [(e.after or {}).get("consent") for e in events] == ["withdrawn", "consented"]
    assert all(e.actor_id == world.pi.user_id and e.via == "api" for e in events)


def test_filters_and_pagination(client: TestClient, world: World, engine: Engine) -> None:
    create(
        client,
        world,
        world.fw,
        code="B-NC-01",
        site_id=str(world.site_ids["B"]),
        background="non_clinical",
        is_clinical_leader=False,
        level=None,
    )
    client.patch(
        url(world, f"/{world.leaders['B-EX-01']}"),
        json={"consent": "declined", "consent_date": "2026-01-10"},
        headers=world.pi.headers,
    )

    def codes(query: str, actor: Actor = world.analyst) -> list[str]:
        res = client.get(url(world, query), headers=actor.headers)
        assert res.status_code == 200, res.text
        return [p["code"] for p in res.json()["items"]]

    assert codes("") == ["A-EX-01", "A-TH-02", "B-EX-01", "B-NC-01", "B-TH-02"]
    assert codes(f"?site_id={world.site_ids['B']}") == ["B-EX-01", "B-NC-01", "B-TH-02"]
    assert codes("?level=executive") == ["A-EX-01", "B-EX-01"]
    assert codes("?is_clinical_leader=false") == ["B-NC-01"]
    assert codes("?consent=declined") == ["B-EX-01"]
    assert codes("?pending_review=true") == ["B-NC-01"]
    assert codes(f"?site_id={world.site_ids['B']}&is_clinical_leader=true&level=thematic") == [
        "B-TH-02"
    ]
    page = client.get(url(world, "?limit=2&offset=1"), headers=world.fw.headers).json()
    assert [p["code"] for p in page["items"]] == ["A-TH-02", "B-EX-01"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    assert client.get(url(world, "?offset=10"), headers=world.fw.headers).json()["items"] == []
    with unchanged(engine):
        for query, fragment in [
            ("?limit=0", "limit"),
            ("?limit=501", "less than or equal to 500"),
            ("?offset=-1", "offset"),
            ("?level=board", "level"),
            ("?consent=maybe", "consent"),
            ("?site_id=nope", "site_id"),
            ("?pending_review=perhaps", "pending_review"),
        ]:
            res = client.get(url(world, query), headers=world.fw.headers)
            assert_problem(res, 422, "validation_error", fragment)
        res = client.get(url(world, f"?site_id={uuid.uuid4()}"), headers=world.fw.headers)
        assert_problem(res, 422, "unknown_site", "site_id")


def test_deleting_participants(client: TestClient, world: World, engine: Engine) -> None:
    # A participant who attends a meeting: deleting ends the attendance too.
    meeting = client.post(
        f"{API}/studies/{world.study_id}/meetings",
        json={"site_id": str(world.site_ids["A"]), "level": "executive", "title": "Board"},
        headers=world.pi.headers,
    ).json()
    attendees = f"{API}/studies/{world.study_id}/meetings/{meeting['id']}/attendees"
    res = client.post(
        attendees, json={"participant_id": str(world.leaders["A-EX-01"])}, headers=world.pi.headers
    )
    assert res.status_code == 201, res.text
    assert (
        client.delete(
            url(world, f"/{world.leaders['A-EX-01']}"), headers=world.pi.headers
        ).status_code
        == 204
    )
    assert client.get(attendees, headers=world.pi.headers).json() == []
    assert_problem(
        client.get(url(world, f"/{world.leaders['A-EX-01']}"), headers=world.pi.headers),
        404,
        "not_found",
    )
    # The code stays taken.
    res = client.post(url(world), json=new(world, code="A-EX-01"), headers=world.pi.headers)
    assert_problem(res, 409, "duplicate_code", "deleted participant", "never reused")
    # A tagged participant is never deleted, and keeps their site.
    tagged = world.leaders["A-TH-02"]
    observe(
        engine,
        study_id=world.study_id,
        site_id=world.site_ids["A"],
        meeting_id=uuid.UUID(meeting["id"]),
        observer_id=world.fw.user_id,
        participant_id=tagged,
        codebook_version_id=world.codebook_version_id,
    )
    with unchanged(engine):
        res = client.delete(url(world, f"/{tagged}"), headers=world.pi.headers)
        assert_problem(res, 409, "participant_in_use", "A-TH-02", "withdrawal of consent")
        res = client.patch(
            url(world, f"/{tagged}"),
            json={"site_id": str(world.site_ids["B"])},
            headers=world.pi.headers,
        )
        assert_problem(res, 409, "participant_in_use", "tagged 1 time")


def test_pushed_participants_run_the_same_check(world: World, engine: Engine) -> None:
    """What the sync engine does: set raw JSON fields on a record, then call the check."""
    spec = specs()["participant"]
    assert spec.writable == {
        "study_id",
        "site_id",
        "code",
        "role_title",
        "level",
        "background",
        "is_clinical_leader",
    }
    with transaction(engine) as s:
        fw = s.exec(select(User).where(User.id == world.fw.user_id)).one()
        set_actor(s, fw.id, via="sync")

        def push(**fields: Any) -> Participant:
            record = Participant(id=uuid.uuid4())
            for key, value in fields.items():
                setattr(record, key, value)
            spec.check(s, record, fw, True)
            return record

        base = {
            "study_id": str(world.study_id),
            "site_id": str(world.site_ids["B"]),
            "code": "B-PUSH-01",
            "background": "nursing",
            "level": "thematic",
        }
        record = push(**base)
        assert record.pending_review is True
        assert record.site_id == world.site_ids["B"] and record.level == "thematic"
        for fields, status, fragment in [
            (base | {"site_id": "nope"}, 422, "site_id"),
            (base | {"level": "board"}, 422, "level"),
            (base | {"code": "x" * 40}, 422, "at most 32"),
            (base | {"site_id": str(world.site_ids["B"]).replace("-", "")[:-1]}, 422, "site_id"),
            (base | {"study_id": str(world.other_study_id)}, 404, "study"),
            (base | {"code": "B-EX-01"}, 409, "already used"),
        ]:
            with pytest.raises(AppError) as err:
                push(**fields)
            assert err.value.status == status, (fields, err.value.detail)
            assert fragment.lower() in err.value.detail.lower()
        # A pushed edit cannot move a participant to another study.
        s.add(record)
        s.flush()
        record.study_id = world.other_study_id
        with pytest.raises(AppError) as err:
            spec.check(s, record, fw, False)
        assert (err.value.status, err.value.code) == (422, "immutable")
        assert "study_id cannot change" in err.value.detail
        s.rollback()


def test_instance_admins_manage_but_never_see_real_names(
    client: TestClient, world: World, engine: Engine
) -> None:
    made = create(client, world, world.pi, real_name="Dr Synthetic Person")
    one = url(world, f"/{made['id']}")
    single = client.get(one, headers=world.admin.headers).json()
    assert single["code"] == "A-PR-01" and "real_name" not in single
    items = client.get(url(world), headers=world.admin.headers).json()["items"]
    assert all("real_name" not in p for p in items)
    res = client.patch(one, json={"role_title": "Pharmacy lead"}, headers=world.admin.headers)
    assert res.status_code == 200 and "real_name" not in res.json()
    with unchanged(engine):
        res = client.patch(one, json={"real_name": "Someone"}, headers=world.admin.headers)
        assert_problem(res, 403, "forbidden", "only a PI of this study can record real names")
