"""The audit log: every API change is there with who, what, before and after; PIs only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.apitools import API, assert_problem, fast_passwords, unchanged
from tests.factories import World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]


def url(world: World, query: str = "") -> str:
    return f"{API}/studies/{world.study_id}/audit{query}"


def events(client: TestClient, world: World, query: str = "") -> dict[str, Any]:
    res = client.get(url(world, query), headers=world.pi.headers)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def test_changes_are_audited_with_actor_and_values(client: TestClient, world: World) -> None:
    made = client.post(
        f"{API}/studies/{world.study_id}/meetings",
        json={"site_id": str(world.site_ids["A"]), "level": "thematic", "title": "Maternity"},
        headers=world.fw.headers,
    ).json()
    client.patch(
        f"{API}/studies/{world.study_id}/meetings/{made['id']}",
        json={"title": "Maternity programme"},
        headers=world.pi.headers,
    )
    client.delete(f"{API}/studies/{world.study_id}/meetings/{made['id']}", headers=world.pi.headers)
    page = events(client, world, f"?entity=meeting&entity_id={made['id']}")
    assert page["total"] == 3
    delete, update, create = page["items"]  # newest first
    assert (create["action"], create["actor_email"], create["via"]) == (
        "create",
        "fw1@example.org",
        "api",
    )
    assert create["before"] is None and create["after"]["title"] == "Maternity"
    assert (update["action"], update["actor_id"]) == ("update", str(world.pi.user_id))
    assert update["before"] == {"title": "Maternity"}
    assert update["after"] == {"title": "Maternity programme"}
    assert delete["action"] == "delete" and delete["after"]["deleted_at"] is not None


def test_real_names_stay_in_the_pi_only_audit_log(client: TestClient, world: World) -> None:
    pid = world.leaders["A-EX-01"]
    res = client.patch(
        f"{API}/studies/{world.study_id}/participants/{pid}",
        json={"real_name": "Dr Synthetic"},
        headers=world.pi.headers,
    )
    assert res.status_code == 200
    item = events(client, world, f"?entity_id={pid}")["items"][0]
    assert item["after"] == {"real_name": "Dr Synthetic"}
    # An instance admin has PI rights but is not a PI: the value is redacted.
    res = client.get(url(world, f"?entity_id={pid}"), headers=world.admin.headers)
    assert res.status_code == 200
    assert res.json()["items"][0]["after"] == {"real_name": "[redacted]"}
    assert res.json()["items"][0]["before"] == {"real_name": "[redacted]"}


def test_filters_and_pagination(client: TestClient, world: World) -> None:
    for n in range(3):
        res = client.post(
            f"{API}/studies/{world.study_id}/participants",
            json={
                "site_id": str(world.site_ids["B"]),
                "code": f"B-FW-0{n}",
                "background": "nursing",
            },
            headers=world.fw.headers,
        )
        assert res.status_code == 201
    by_fw = events(client, world, f"?actor={world.fw.user_id}")
    assert by_fw["total"] == 3 and {e["entity"] for e in by_fw["items"]} == {"participant"}
    assert events(client, world, f"?actor={world.pi.user_id}")["total"] == 0
    everything = events(client, world)
    # The world was built by the CLI (no actor): study, sites, participants, codebook.
    assert everything["total"] > 3
    assert {e["entity"] for e in everything["items"]} >= {"participant"}
    page = events(client, world, "?entity=participant&limit=2&offset=1")
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (7, 2, 1, 2)
    ids = [e["id"] for e in events(client, world, "?entity=participant")["items"]]
    assert ids == sorted(ids, reverse=True)
    assert [e["id"] for e in page["items"]] == ids[1:3]
    assert events(client, world, "?entity=code")["total"] == 4 + 13 + 8  # default codebook
    assert events(client, world, f"?entity_id={uuid.uuid4()}")["total"] == 0


def test_only_pis_read_the_audit_log(client: TestClient, world: World, engine: Engine) -> None:
    with unchanged(engine):
        for actor in (world.fw, world.analyst):
            res = client.get(url(world), headers=actor.headers)
            assert_problem(res, 403, "forbidden", "only a PI of this study can read the audit log")
        assert_problem(client.get(url(world), headers=world.outsider.headers), 404, "not_found")
        assert_problem(client.get(url(world)), 401, "not_signed_in")
        for query, fragment in [
            ("?entity=participants", "entity"),
            ("?entity_id=42", "entity_id"),
            ("?actor=someone", "actor"),
            ("?limit=501", "limit"),
        ]:
            res = client.get(url(world, query), headers=world.pi.headers)
            assert_problem(res, 422, "validation_error", fragment)
    # The other study's events never show here.
    other = client.get(
        f"{API}/studies/{world.other_study_id}/audit", headers=world.outsider.headers
    )
    mine = events(client, world)
    other_ids = {e["entity_id"] for e in other.json()["items"]}
    assert other_ids and not other_ids & {e["entity_id"] for e in mine["items"]}
