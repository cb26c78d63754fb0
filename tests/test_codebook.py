"""Codebook versions: the default tree, drafts edited by PIs, publishing freezes them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from fieldscope.auth.models import User
from fieldscope.changes import set_actor
from fieldscope.codebook.models import Code
from fieldscope.codebook.service import validate_tag
from fieldscope.db import transaction
from fieldscope.errors import AppError
from fieldscope.registry import specs
from tests.apitools import API, assert_problem, fast_passwords, unchanged
from tests.factories import World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]

IMMUTABLE = "published codebook versions are immutable"


def url(world: World, tail: str = "") -> str:
    return f"{API}/studies/{world.study_id}/codebook/versions{tail}"


def draft(client: TestClient, world: World, label: str = "") -> dict[str, Any]:
    res = client.post(url(world), json={"label": label}, headers=world.pi.headers)
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def code_id(version: dict[str, Any], key: str) -> str:
    for c in version["contributions"]:
        if c["key"] == key:
            return str(c["id"])
        for f in c["forms"]:
            if f["key"] == key:
                return str(f["id"])
    for g in version["other_groups"]:
        for c in g["codes"]:
            if c["key"] == key:
                return str(c["id"])
    raise KeyError(key)


def test_the_default_codebook_as_a_tree(client: TestClient, world: World) -> None:
    for actor in (world.pi, world.fw, world.analyst):
        versions = client.get(url(world), headers=actor.headers).json()
        assert [(v["number"], v["published_at"] is not None) for v in versions] == [(1, True)]
    res = client.get(url(world, f"/{world.codebook_version_id}"), headers=world.analyst.headers)
    assert res.status_code == 200, res.text
    tree = res.json()
    assert [(c["key"], len(c["forms"])) for c in tree["contributions"]] == [
        ("analytical_insight", 3),
        ("representation", 3),
        ("translation_communication", 3),
        ("relational", 4),
    ]
    assert tree["contributions"][3]["forms"][3]["key"] == "mediating"
    assert all(f["parent_key"] == "relational" for f in tree["contributions"][3]["forms"])
    assert [(g["group"], [c["key"] for c in g["codes"]]) for g in tree["other_groups"]] == [
        (
            "source_of_influence",
            ["expertise", "networks", "formal_authority", "informal_influence"],
        ),
        ("secondary_effect", ["shared_vision", "legitimacy", "engagement", "resource_sharing"]),
    ]
    assert_problem(
        client.get(url(world), headers=world.outsider.headers), 404, "not_found", "study"
    )
    assert_problem(
        client.get(url(world, f"/{uuid.uuid4()}"), headers=world.pi.headers),
        404,
        "not_found",
        "codebook version",
    )


def test_a_draft_copies_the_latest_version_and_only_one_is_open(
    client: TestClient, world: World, engine: Engine
) -> None:
    v2 = draft(client, world, "Adds a form")
    assert (v2["number"], v2["published_at"], v2["label"]) == (2, None, "Adds a form")
    assert [len(c["forms"]) for c in v2["contributions"]] == [3, 3, 3, 4]
    assert code_id(v2, "relational") != str(world.codebook_version_id)
    with unchanged(engine):
        assert_problem(
            client.post(url(world), json={}, headers=world.pi.headers),
            409,
            "draft_exists",
            "version 2 is already a draft",
        )
        for actor in (world.fw, world.analyst):
            res = client.post(url(world), json={}, headers=actor.headers)
            assert_problem(res, 403, "forbidden", "only a PI of this study can edit the codebook")
        res = client.post(url(world), json={}, headers=world.outsider.headers)
        assert_problem(res, 404, "not_found", "study")
        res = client.post(url(world), json={"label": "x" * 201}, headers=world.pi.headers)
        assert_problem(res, 422, "validation_error", "label")


def test_editing_a_draft_then_publishing_freezes_it(
    client: TestClient, world: World, engine: Engine
) -> None:
    v2 = draft(client, world)
    codes = url(world, f"/{v2['id']}/codes")
    # add a contribution, a form of it, and a secondary effect
    for body in (
        {"key": "boundary_spanning", "label": "Boundary spanning", "colour": "#123abc"},
        {"key": "convening", "label": "Convening", "parent_key": "boundary_spanning"},
        {"key": "trust", "label": "Trust", "group": "secondary_effect"},
    ):
        res = client.post(codes, json=body, headers=world.pi.headers)
        assert res.status_code == 201, res.text
    # rename and retire
    one = url(world, f"/{v2['id']}/codes/{code_id(v2, 'representation')}")
    res = client.patch(
        one, json={"label": "Representation of clinicians"}, headers=world.pi.headers
    )
    assert res.status_code == 200 and res.json()["label"] == "Representation of clinicians"
    res = client.patch(
        url(world, f"/{v2['id']}/codes/{code_id(v2, 'relational')}"),
        json={"retired": True},
        headers=world.pi.headers,
    )
    assert res.status_code == 200 and res.json()["retired"] is True
    res = client.patch(
        url(world, f"/{v2['id']}"), json={"label": "Version two"}, headers=world.pi.headers
    )
    assert res.status_code == 200 and res.json()["label"] == "Version two"
    tree = client.get(url(world, f"/{v2['id']}"), headers=world.pi.headers).json()
    relational = next(c for c in tree["contributions"] if c["key"] == "relational")
    assert relational["retired"] and all(f["retired"] for f in relational["forms"])  # cascade
    added = next(c for c in tree["contributions"] if c["key"] == "boundary_spanning")
    assert [f["key"] for f in added["forms"]] == ["convening"]
    assert "trust" in [c["key"] for c in tree["other_groups"][1]["codes"]]
    # publish
    res = client.post(url(world, f"/{v2['id']}/publish"), headers=world.pi.headers)
    assert res.status_code == 200, res.text
    assert res.json()["published_at"] is not None
    # now nothing in it may change
    with unchanged(engine):
        for res in (
            client.post(codes, json={"key": "late", "label": "Late"}, headers=world.pi.headers),
            client.patch(one, json={"label": "Again"}, headers=world.pi.headers),
            client.patch(url(world, f"/{v2['id']}"), json={"label": "x"}, headers=world.pi.headers),
            client.post(url(world, f"/{v2['id']}/publish"), headers=world.pi.headers),
            client.delete(url(world, f"/{v2['id']}"), headers=world.pi.headers),
        ):
            assert_problem(res, 409, "codebook_immutable", IMMUTABLE)
    # A tag entered under version 1 is still valid, flagged as retired since.
    with transaction(engine, write=False) as s:
        v1 = world.codebook_version_id
        assert validate_tag(s, world.study_id, v1, "relational", "brokering") is True
        assert validate_tag(s, world.study_id, v1, "representation", None) is False
        assert (
            validate_tag(s, world.study_id, uuid.UUID(v2["id"]), "boundary_spanning", "convening")
            is False
        )


def test_the_seeded_version_is_immutable(client: TestClient, world: World, engine: Engine) -> None:
    v1 = client.get(url(world, f"/{world.codebook_version_id}"), headers=world.pi.headers).json()
    with unchanged(engine):
        res = client.patch(
            url(world, f"/{v1['id']}/codes/{code_id(v1, 'relational')}"),
            json={"retired": True},
            headers=world.pi.headers,
        )
        assert_problem(res, 409, "codebook_immutable", IMMUTABLE)


def test_bad_codes_are_refused_and_change_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    v2 = draft(client, world)
    codes = url(world, f"/{v2['id']}/codes")
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"key": "relational", "label": "Again"}, 409, "duplicate_code_key", "'relational'"),
        ({"key": "Bad Key", "label": "x"}, 422, "validation_error", "lowercase letters"),
        ({"key": "k" * 65, "label": "x"}, 422, "validation_error", "at most 64"),
        ({"key": "ok", "label": ""}, 422, "validation_error", "label"),
        ({"key": "ok", "label": "x" * 201}, 422, "validation_error", "label"),
        ({"key": "ok", "label": "x", "description": "d" * 2001}, 422, "validation_error", "2000"),
        ({"key": "ok", "label": "x", "colour": "red"}, 422, "validation_error", "hex colour"),
        ({"key": "ok", "label": "x", "group": "mood"}, 422, "validation_error", "group"),
        ({"key": "ok", "label": "x", "parent_key": "nope"}, 422, "unknown_parent", "'nope'"),
        (
            {"key": "ok", "label": "x", "parent_key": "expertise"},
            422,
            "invalid_parent",
            "not a contribution",
        ),
        (
            {"key": "ok", "label": "x", "parent_key": "brokering"},
            422,
            "invalid_parent",
            "not a contribution",
        ),
        (
            {"key": "ok", "label": "x", "parent_key": "relational", "group": "secondary_effect"},
            422,
            "invalid_group",
            "contribution group",
        ),
        ({"key": "ok", "label": "x", "sort_order": 10**9}, 422, "validation_error", "sort_order"),
        ({"key": "ok", "label": "x", "retired": True}, 422, "validation_error", "extra"),
    ]
    for body, status, code, fragment in cases:
        with unchanged(engine):
            res = client.post(codes, json=body, headers=world.pi.headers)
            assert_problem(res, status, code, fragment)
    one = url(world, f"/{v2['id']}/codes/{code_id(v2, 'brokering')}")
    for body, status, code, fragment in [
        ({"key": "renamed"}, 422, "validation_error", "extra"),
        ({"label": None}, 422, "validation_error", "must not be null"),
        ({"retired": None}, 422, "validation_error", "must not be null"),
    ]:
        with unchanged(engine):
            assert_problem(
                client.patch(one, json=body, headers=world.pi.headers), status, code, fragment
            )
    # A form cannot come back while its contribution is retired.
    parent = url(world, f"/{v2['id']}/codes/{code_id(v2, 'relational')}")
    assert client.patch(parent, json={"retired": True}, headers=world.pi.headers).status_code == 200
    with unchanged(engine):
        res = client.patch(one, json={"retired": False}, headers=world.pi.headers)
        assert_problem(res, 422, "retired_parent", "'relational' is retired")
        res = client.post(
            codes,
            json={"key": "ok", "label": "x", "parent_key": "relational"},
            headers=world.pi.headers,
        )
        assert_problem(res, 422, "retired_parent", "retired")
        for actor in (world.fw, world.analyst):
            res = client.patch(one, json={"label": "x"}, headers=actor.headers)
            assert_problem(res, 403, "forbidden", "only a PI of this study can edit the codebook")


def test_publishing_needs_a_contribution_and_drafts_can_be_discarded(
    client: TestClient, world: World, engine: Engine
) -> None:
    v2 = draft(client, world)
    for c in v2["contributions"]:
        res = client.patch(
            url(world, f"/{v2['id']}/codes/{c['id']}"),
            json={"retired": True},
            headers=world.pi.headers,
        )
        assert res.status_code == 200
    with unchanged(engine):
        res = client.post(url(world, f"/{v2['id']}/publish"), headers=world.pi.headers)
        assert_problem(res, 422, "empty_codebook", "no contribution code in use")
    assert client.delete(url(world, f"/{v2['id']}"), headers=world.pi.headers).status_code == 204
    assert [v["number"] for v in client.get(url(world), headers=world.pi.headers).json()] == [1]
    v3 = draft(client, world)
    assert v3["number"] == 3  # numbers are never reused
    assert not any(c["retired"] for c in v3["contributions"])  # copied from version 1


def test_devices_cannot_write_the_codebook(world: World, engine: Engine) -> None:
    registry = specs()
    assert registry["code"].writable == frozenset()
    assert registry["codebook_version"].writable == frozenset()
    with transaction(engine) as s:
        pi = s.exec(select(User).where(User.id == world.pi.user_id)).one()
        set_actor(s, pi.id, via="sync")
        code = Code(
            study_id=world.study_id,
            codebook_version_id=world.codebook_version_id,
            key="from_tablet",
            label="From a tablet",
        )
        with pytest.raises(AppError) as err:
            registry["code"].check(s, code, pi, True)
        assert err.value.status == 403 and "devices only read them" in err.value.detail
        s.rollback()
