"""Studies and sites: who creates, reads, edits and deletes them; every refused input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from fieldscope.auth.models import User
from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.errors import AppError
from fieldscope.registry import specs
from fieldscope.studies.models import Site, Study
from tests.apitools import API, assert_problem, fast_passwords, unchanged, write_count
from tests.factories import World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]


def study_url(world: World, tail: str = "") -> str:
    return f"{API}/studies/{world.study_id}{tail}"


def test_admin_creates_a_study_and_becomes_its_pi_with_the_default_codebook(
    client: TestClient, world: World
) -> None:
    body = {
        "name": "  Governance study  ",
        "slug": "gov-2026",
        "description": "Synthetic.",
        "ethics_reference": "REC 26/01",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    res = client.post(f"{API}/studies", json=body, headers=world.admin.headers)
    assert res.status_code == 201, res.text
    study = res.json()
    assert study["name"] == "Governance study"  # stripped
    assert study["my_role"] == "pi" and study["version"] == 1
    me = client.get(f"{API}/auth/me", headers=world.admin.headers).json()
    assert {"study_id": study["id"], "role": "pi"} in me["memberships"]
    versions = client.get(
        f"{API}/studies/{study['id']}/codebook/versions", headers=world.admin.headers
    ).json()
    assert [(v["number"], v["published_at"] is not None) for v in versions] == [(1, True)]


@pytest.mark.parametrize("who", ["pi", "fw", "analyst", "outsider"])
def test_only_an_admin_creates_studies(
    client: TestClient, world: World, engine: Engine, who: str
) -> None:
    actor = {"pi": world.pi, "fw": world.fw, "analyst": world.analyst, "outsider": world.outsider}
    with unchanged(engine):
        res = client.post(
            f"{API}/studies", json={"name": "X", "slug": "x"}, headers=actor[who].headers
        )
        assert_problem(res, 403, "forbidden", "only an instance administrator")


def test_list_shows_my_studies_only_and_admins_all(client: TestClient, world: World) -> None:
    def slugs(actor: Any, query: str = "") -> list[str]:
        res = client.get(f"{API}/studies{query}", headers=actor.headers)
        assert res.status_code == 200, res.text
        return [s["slug"] for s in res.json()["items"]]

    assert slugs(world.fw) == ["study-one"]
    assert slugs(world.analyst) == ["study-one"]
    assert slugs(world.outsider) == ["study-two"]
    assert slugs(world.admin) == ["study-one", "study-two"]
    page = client.get(f"{API}/studies?limit=1&offset=1", headers=world.admin.headers).json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    assert [s["slug"] for s in page["items"]] == ["study-two"]
    assert page["items"][0]["my_role"] is None  # admin, not a member
    fw_item = client.get(f"{API}/studies", headers=world.fw.headers).json()["items"][0]
    assert fw_item["my_role"] == "fieldworker"


def test_read_a_study(client: TestClient, world: World) -> None:
    for actor in (world.pi, world.fw, world.analyst, world.admin):
        assert client.get(study_url(world), headers=actor.headers).status_code == 200
    assert_problem(
        client.get(study_url(world), headers=world.outsider.headers), 404, "not_found", "study"
    )
    assert_problem(client.get(study_url(world)), 401, "not_signed_in", "sign in")
    assert_problem(
        client.get(f"{API}/studies/not-a-uuid", headers=world.pi.headers),
        422,
        "validation_error",
        "study_id",
    )


def test_pi_edits_the_study_and_others_cannot(
    client: TestClient, world: World, engine: Engine
) -> None:
    before = write_count(engine)
    res = client.patch(
        study_url(world),
        json={"description": "Observing ICS boards.", "starts_on": "2026-02-01"},
        headers=world.pi.headers,
    )
    assert res.status_code == 200, res.text
    assert write_count(engine) == (before[0] + 1, before[1] + 1)  # one change, one audit
    body = res.json()
    assert body["description"] == "Observing ICS boards." and body["version"] == 2
    assert body["name"] == "Study study-one"  # untouched keys keep their value
    with unchanged(engine):
        for actor in (world.fw, world.analyst):
            res = client.patch(study_url(world), json={"name": "Mine"}, headers=actor.headers)
            assert_problem(res, 403, "forbidden", "only a PI of this study can edit the study")
        res = client.patch(study_url(world), json={"name": "Mine"}, headers=world.outsider.headers)
        assert_problem(res, 404, "not_found", "study")


STUDY_BAD = [
    ({"name": ""}, 422, "validation_error", "name"),
    ({"name": "   "}, 422, "validation_error", "name"),
    ({"name": None}, 422, "validation_error", "must not be null"),
    ({"name": "x" * 201}, 422, "validation_error", "at most 200"),
    ({"slug": "Bad Slug"}, 422, "validation_error", "lowercase letters"),
    ({"slug": "a" * 65}, 422, "validation_error", "at most 64"),
    ({"slug": "study-two"}, 409, "slug_taken", "study-two"),
    ({"description": "x" * 5001}, 422, "validation_error", "at most 5000"),
    ({"description": "nul\x00byte"}, 422, "validation_error", "NUL"),
    ({"ethics_reference": "x" * 121}, 422, "validation_error", "ethics_reference"),
    ({"starts_on": "2026-05-01", "ends_on": "2026-04-01"}, 422, "validation_error", "before"),
    ({"starts_on": "1066-10-14"}, 422, "validation_error", "between 1900 and 2200"),
    ({"starts_on": "not a date"}, 422, "validation_error", "starts_on"),
    ({"colour": "red"}, 422, "validation_error", "extra inputs"),
]


def test_bad_study_edits_are_refused_and_change_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    for body, status, code, fragment in STUDY_BAD:
        with unchanged(engine):
            res = client.patch(study_url(world), json=body, headers=world.pi.headers)
            assert_problem(res, status, code, fragment)


def test_a_new_study_needs_a_name_and_a_free_slug(
    client: TestClient, world: World, engine: Engine
) -> None:
    with unchanged(engine):
        res = client.post(f"{API}/studies", json={"slug": "new"}, headers=world.admin.headers)
        assert_problem(res, 422, "validation_error", "name", "required")
        res = client.post(
            f"{API}/studies",
            json={"name": "Again", "slug": "study-one"},
            headers=world.admin.headers,
        )
        assert_problem(res, 409, "slug_taken", "study-one")


def test_pi_soft_deletes_a_study(client: TestClient, world: World, engine: Engine) -> None:
    assert_problem(
        client.delete(study_url(world), headers=world.fw.headers),
        403,
        "forbidden",
        "only a PI of this study can delete the study",
    )
    assert client.delete(study_url(world), headers=world.pi.headers).status_code == 204
    for actor in (world.pi, world.fw):
        assert_problem(client.get(study_url(world), headers=actor.headers), 404, "not_found")
        assert_problem(
            client.get(study_url(world, "/participants"), headers=actor.headers), 404, "not_found"
        )
    assert client.get(f"{API}/studies", headers=world.pi.headers).json()["total"] == 0
    with transaction(engine) as s:
        study = s.get(Study, world.study_id)
        assert study is not None and study.deleted_at is not None  # kept, tombstoned


# ---- sites


def test_members_list_sites_with_targets(client: TestClient, world: World) -> None:
    for actor in (world.pi, world.fw, world.analyst):
        res = client.get(study_url(world, "/sites"), headers=actor.headers)
        assert res.status_code == 200, res.text
        assert [(s["code"], s["target_hours"], s["target_meetings"]) for s in res.json()] == [
            ("A", 20.0, 10),
            ("B", 20.0, 10),
        ]
    site = client.get(
        study_url(world, f"/sites/{world.site_ids['B']}"), headers=world.analyst.headers
    ).json()
    assert site["name"] == "Site B"
    assert_problem(
        client.get(study_url(world, "/sites"), headers=world.outsider.headers), 404, "not_found"
    )


def test_pi_creates_updates_and_deletes_a_site(client: TestClient, world: World) -> None:
    res = client.post(
        study_url(world, "/sites"),
        json={"code": "C", "name": "Site C", "target_hours": 12.5, "target_meetings": 6},
        headers=world.pi.headers,
    )
    assert res.status_code == 201, res.text
    site = res.json()
    assert (site["code"], site["target_hours"], site["target_meetings"]) == ("C", 12.5, 6)
    url = study_url(world, f"/sites/{site['id']}")
    res = client.patch(url, json={"target_hours": 5}, headers=world.pi.headers)
    assert res.status_code == 200 and res.json()["target_hours"] == 5.0
    assert res.json()["version"] == 2
    assert client.delete(url, headers=world.pi.headers).status_code == 204
    assert_problem(client.get(url, headers=world.pi.headers), 404, "not_found", "site")
    codes = [
        s["code"] for s in client.get(study_url(world, "/sites"), headers=world.pi.headers).json()
    ]
    assert codes == ["A", "B"]


def test_only_pis_manage_sites(client: TestClient, world: World, engine: Engine) -> None:
    url = study_url(world, f"/sites/{world.site_ids['A']}")
    with unchanged(engine):
        for actor in (world.fw, world.analyst):
            res = client.post(
                study_url(world, "/sites"), json={"code": "C", "name": "C"}, headers=actor.headers
            )
            assert_problem(res, 403, "forbidden", "only a PI of this study can manage sites")
            res = client.patch(url, json={"name": "Renamed"}, headers=actor.headers)
            assert_problem(res, 403, "forbidden", "manage sites")
            assert_problem(client.delete(url, headers=actor.headers), 403, "forbidden")
        res = client.patch(url, json={"name": "Renamed"}, headers=world.outsider.headers)
        assert_problem(res, 404, "not_found", "study")


SITE_BAD = [
    ({"code": "A", "name": "Again"}, 409, "duplicate_site_code", "'A'"),
    ({"code": "a b", "name": "Space"}, 422, "validation_error", "letters, digits"),
    ({"code": "", "name": "Empty"}, 422, "validation_error", "code"),
    ({"code": "C" * 17, "name": "Long"}, 422, "validation_error", "at most 16"),
    ({"code": "C", "name": ""}, 422, "validation_error", "name"),
    ({"code": "C", "name": "C", "target_hours": -1}, 422, "validation_error", "target_hours"),
    ({"code": "C", "name": "C", "target_hours": 1e12}, 422, "validation_error", "target_hours"),
    ({"code": "C", "name": "C", "target_hours": "NaN"}, 422, "validation_error", "finite"),
    ({"code": "C", "name": "C", "target_meetings": 2.5}, 422, "validation_error", "integer"),
    ({"code": "C", "name": "C", "target_meetings": 10**20}, 422, "validation_error", "100000"),
    ({"code": "C", "name": "C", "study_id": "x"}, 422, "validation_error", "extra inputs"),
]


def test_bad_sites_are_refused_and_change_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    for body, status, code, fragment in SITE_BAD:
        with unchanged(engine):
            res = client.post(study_url(world, "/sites"), json=body, headers=world.pi.headers)
            assert_problem(res, status, code, fragment)
    url = study_url(world, f"/sites/{world.site_ids['B']}")
    with unchanged(engine):
        assert_problem(
            client.patch(url, json={"code": "A"}, headers=world.pi.headers),
            409,
            "duplicate_site_code",
        )
        assert_problem(
            client.patch(url, json={"target_hours": None}, headers=world.pi.headers),
            422,
            "validation_error",
            "must not be null",
        )
        # A site of another study is not found here.
        other = client.get(
            f"{API}/studies/{world.other_study_id}/sites", headers=world.outsider.headers
        ).json()[0]
        res = client.get(study_url(world, f"/sites/{other['id']}"), headers=world.pi.headers)
        assert_problem(res, 404, "not_found", "site")


def test_a_site_in_use_is_not_deleted(client: TestClient, world: World, engine: Engine) -> None:
    with unchanged(engine):
        res = client.delete(
            study_url(world, f"/sites/{world.site_ids['A']}"), headers=world.pi.headers
        )
        assert_problem(res, 409, "site_in_use", "Site A", "2 participant(s)")


def test_devices_cannot_write_studies_or_sites(world: World, engine: Engine) -> None:
    """Pushed mutations run the same checks; studies and sites are read-only for devices."""
    registry = specs()
    assert registry["study"].writable == frozenset() and not registry["study"].deletable
    assert registry["site"].writable == frozenset() and not registry["site"].deletable
    with transaction(engine) as s:
        pi = s.exec(select(User).where(User.id == world.pi.user_id)).one()
        set_actor(s, pi.id, via="sync")
        site = Site(study_id=world.study_id, code="Z", name="From a tablet")
        with pytest.raises(AppError) as err:
            registry["site"].check(s, site, pi, True)
        assert err.value.status == 403 and "devices only read them" in err.value.detail
        study = s.get(Study, world.study_id)
        assert study is not None
        study.name = "Renamed offline"
        with pytest.raises(AppError) as err:
            registry["study"].check(s, study, pi, False)
        assert err.value.status == 403
        s.rollback()
