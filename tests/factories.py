"""Synthetic people and studies for tests. Nothing here is real data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.auth.models import Membership, Role, User
from fieldscope.auth.service import create_user
from fieldscope.changes import set_actor
from fieldscope.codebook.service import seed_default_codebook
from fieldscope.db import transaction
from fieldscope.participants.models import Background, Participant
from fieldscope.studies.models import Site, Study

PASSWORD = "correct horse battery"


@dataclass
class Actor:
    user_id: uuid.UUID
    email: str
    headers: dict[str, str]


@dataclass
class World:
    study_id: uuid.UUID
    site_ids: dict[str, uuid.UUID]
    codebook_version_id: uuid.UUID
    leaders: dict[str, uuid.UUID]
    actors: dict[str, Actor] = field(default_factory=dict)
    other_study_id: uuid.UUID | None = None

    @property
    def pi(self) -> Actor:
        return self.actors["pi"]

    @property
    def fw(self) -> Actor:
        return self.actors["fieldworker"]

    @property
    def fw2(self) -> Actor:
        return self.actors["fieldworker2"]

    @property
    def analyst(self) -> Actor:
        return self.actors["analyst"]

    @property
    def outsider(self) -> Actor:
        """A PI of another study: must see nothing of this one."""
        return self.actors["outsider"]

    @property
    def admin(self) -> Actor:
        return self.actors["admin"]


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    res = client.post(
        "/api/v1/auth/login", json={"email": email, "password": password, "device_label": "test"}
    )
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['token']}"}


def make_study(
    engine: Engine, slug: str, sites: tuple[str, ...] = ("A", "B")
) -> tuple[uuid.UUID, dict[str, uuid.UUID], uuid.UUID, dict[str, uuid.UUID]]:
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        study = Study(name=f"Study {slug}", slug=slug)
        s.add(study)
        s.flush()
        site_ids: dict[str, uuid.UUID] = {}
        leaders: dict[str, uuid.UUID] = {}
        for code in sites:
            site = Site(
                study_id=study.id,
                code=code,
                name=f"Site {code}",
                target_hours=20,
                target_meetings=10,
            )
            s.add(site)
            s.flush()
            site_ids[code] = site.id
            for n, level in enumerate(("executive", "thematic"), start=1):
                p = Participant(
                    study_id=study.id,
                    site_id=site.id,
                    code=f"{code}-{level[:2].upper()}-0{n}",
                    role_title="Clinical lead",
                    level=level,
                    background=Background.medicine,
                    is_clinical_leader=True,
                )
                s.add(p)
                leaders[p.code] = p.id
        version = seed_default_codebook(s, study.id)
        return study.id, site_ids, version.id, leaders


def add_user(
    engine: Engine, email: str, study_id: uuid.UUID | None, role: Role | None, admin: bool = False
) -> uuid.UUID:
    with transaction(engine) as s:
        user: User = create_user(s, email, PASSWORD, admin=admin)
        if study_id and role:
            s.add(Membership(user_id=user.id, study_id=study_id, role=role))
        return user.id


def build_world(engine: Engine, client: TestClient) -> World:
    study_id, site_ids, version_id, leaders = make_study(engine, "study-one")
    other_id, _, _, _ = make_study(engine, "study-two", sites=("Z",))
    world = World(study_id, site_ids, version_id, leaders, other_study_id=other_id)
    people = [
        ("pi", "pi@example.org", study_id, Role.pi, False),
        ("fieldworker", "fw1@example.org", study_id, Role.fieldworker, False),
        ("fieldworker2", "fw2@example.org", study_id, Role.fieldworker, False),
        ("analyst", "analyst@example.org", study_id, Role.analyst, False),
        ("outsider", "outsider@example.org", other_id, Role.pi, False),
        ("admin", "admin@example.org", None, None, True),
    ]
    for key, email, sid, role, admin in people:
        uid = add_user(engine, email, sid, role, admin)
        world.actors[key] = Actor(uid, email, login(client, email))
    return world
