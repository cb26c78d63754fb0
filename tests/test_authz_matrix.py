"""Authorisation matrix: EVERY route of the app x {pi, fieldworker, analyst, outsider,
anonymous} with the status each must get.

`test_every_route_is_in_the_matrix` fails when the app has a route this table lacks (or
the table names a route that no longer exists): whoever adds a route adds its row here,
saying who may call it. Each row prepares a valid request with fresh targets per call
(a delete deletes something made for it), so the status reflects authorisation alone:
outsiders (a PI of another study) get 404 for everything of this study, a wrong role 403
with a message saying who can, and no token 401.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.app import API_PREFIX, create_app
from fieldscope.auth.models import Membership, Role
from fieldscope.db import transaction
from tests.apitools import fast_passwords
from tests.factories import Actor, World, add_user, login, make_study

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]

ROLES = ("pi", "fieldworker", "analyst", "outsider", "anonymous")
# Routes with no authorisation to test: they are how one gets a token in the first place.
UNGUARDED = {("GET", "/health"), ("POST", "/auth/login"), ("POST", "/auth/setup")}


def expect(pi: int, fw: int, analyst: int, outsider: int = 404, anon: int = 401) -> dict[str, int]:
    return {
        "pi": pi,
        "fieldworker": fw,
        "analyst": analyst,
        "outsider": outsider,
        "anonymous": anon,
    }


READ = expect(200, 200, 200)  # any member of the study
EXPORT = expect(200, 403, 200)  # PIs and analysts
ADMIN = expect(403, 403, 403, 403)  # instance administrators only


def pi_only(ok: int) -> dict[str, int]:
    return expect(ok, 403, 403)


def writers(ok: int) -> dict[str, int]:
    return expect(ok, ok, 403)


def anyone(ok: int) -> dict[str, int]:
    """Not study-scoped: every signed-in user, each about themselves."""
    return expect(ok, ok, ok, ok)


@dataclass
class Req:
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] | None = None  # instead of the role's own
    query: str = ""


class Ctx:
    """The world plus makers of fresh targets, created through the API as their owners."""

    def __init__(self, client: TestClient, engine: Engine, world: World) -> None:
        self.client, self.engine, self.world = client, engine, world
        self.study = str(world.study_id)
        self.actors: dict[str, Actor] = {
            "pi": world.pi,
            "fieldworker": world.fw,
            "analyst": world.analyst,
            "outsider": world.outsider,
        }
        self.n = 0
        self._meeting: str | None = None
        self._session: str | None = None

    def uid(self, prefix: str = "x") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def headers(self, role: str) -> dict[str, str]:
        return self.actors[role].headers if role in self.actors else {}

    def post(self, path: str, body: Any = None, who: Actor | None = None) -> dict[str, Any]:
        res = self.client.post(
            f"{API_PREFIX}/studies/{self.study}{path}",
            json=body,
            headers=(who or self.world.pi).headers,
        )
        assert res.status_code in (200, 201), f"setup {path}: {res.text}"
        out: dict[str, Any] = res.json()
        return out

    def p(self, **params: Any) -> dict[str, Any]:
        return {"study_id": self.study, **params}

    # ---- study-level targets

    def fresh_study(self) -> str:
        """A study where pi, fieldworker and analyst have the same roles as in the world."""
        study_id, _, _, _ = make_study(self.engine, self.uid("matrix-"), sites=("A",))
        with transaction(self.engine) as s:
            for role, actor in (
                (Role.pi, self.world.pi),
                (Role.fieldworker, self.world.fw),
                (Role.analyst, self.world.analyst),
            ):
                s.add(Membership(user_id=actor.user_id, study_id=study_id, role=role))
        return str(study_id)

    def site(self) -> str:
        return str(self.post("/sites", {"code": self.uid("S"), "name": "Spare"})["id"])

    def participant(self, stub: bool = False) -> str:
        body = {
            "site_id": str(self.world.site_ids["A"]),
            "code": self.uid("A-P-"),
            "background": "nursing",
        }
        return str(self.post("/participants", body, self.world.fw if stub else None)["id"])

    def meeting_body(self) -> dict[str, Any]:
        return {"site_id": str(self.world.site_ids["A"]), "level": "project", "title": self.uid()}

    def meeting(self, fresh: bool = False) -> str:
        if fresh or self._meeting is None:
            made = str(self.post("/meetings", self.meeting_body(), self.world.fw)["id"])
            if fresh:
                return made
            self._meeting = made
        return self._meeting

    def attendee(self) -> tuple[str, str]:
        meeting = self.meeting(fresh=True)
        body = {"participant_id": str(self.world.leaders["A-EX-01"])}
        return meeting, str(self.post(f"/meetings/{meeting}/attendees", body)["id"])

    # ---- codebook

    def draft(self) -> str:
        versions = self.client.get(
            f"{API_PREFIX}/studies/{self.study}/codebook/versions", headers=self.world.pi.headers
        ).json()
        open_drafts = [v for v in versions if v["published_at"] is None]
        if open_drafts:
            return str(open_drafts[0]["id"])
        return str(self.post("/codebook/versions", {})["id"])

    def no_draft(self) -> None:
        versions = self.client.get(
            f"{API_PREFIX}/studies/{self.study}/codebook/versions", headers=self.world.pi.headers
        ).json()
        for v in versions:
            if v["published_at"] is None:
                res = self.client.delete(
                    f"{API_PREFIX}/studies/{self.study}/codebook/versions/{v['id']}",
                    headers=self.world.pi.headers,
                )
                assert res.status_code == 204

    def draft_code(self) -> tuple[str, str]:
        version = self.draft()
        body = {"key": self.uid("k"), "label": "Matrix"}
        return version, str(self.post(f"/codebook/versions/{version}/codes", body)["id"])

    # ---- observation (sessions belong to the world's fieldworker)

    def session(self, fresh: bool = False, paused: bool = False) -> str:
        if not fresh and self._session is not None:
            return self._session
        started = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        body = {"meeting_id": self.meeting(), "started_at": started}
        made = str(self.post("/sessions", body, self.world.fw)["id"])
        if paused:
            self.post(f"/sessions/{made}/pause", None, self.world.fw)
        if not fresh:
            self._session = made
        return made

    def intervention(self, session: str) -> str:
        body = {
            "participant_id": str(self.world.leaders["A-EX-01"]),
            "codebook_version_id": str(self.world.codebook_version_id),
            "code_key": "relational",
            "offset_seconds": 30,
        }
        return str(self.post(f"/sessions/{session}/interventions", body, self.world.fw)["id"])

    def note(self, session: str) -> str:
        body = {"kind": "reflection", "text": "Synthetic note.", "offset_seconds": 40}
        return str(self.post(f"/sessions/{session}/notes", body, self.world.fw)["id"])

    def journal(self, session: str) -> None:
        res = self.client.put(
            f"{API_PREFIX}/studies/{self.study}/sessions/{session}/journal",
            json={"text": "Synthetic write-up."},
            headers=self.world.fw.headers,
        )
        assert res.status_code == 200, res.text

    # ---- accounts

    def member(self) -> str:
        user = add_user(self.engine, f"{self.uid('m')}@example.org", None, None)
        with transaction(self.engine) as s:
            row = Membership(user_id=user, study_id=self.world.study_id, role=Role.analyst)
            s.add(row)
            s.flush()
            return str(row.id)

    def token(self, role: str) -> tuple[dict[str, str], str]:
        """A second sign-in of the role, to log out or revoke without losing the first."""
        if role == "anonymous":
            return {}, str(uuid.uuid4())
        headers = login(self.client, self.actors[role].email)
        me = self.client.get(f"{API_PREFIX}/auth/tokens", headers=headers).json()
        current = next(t for t in me if t["current"])
        return headers, str(current["id"])

    # ---- sync

    def push(
        self, who: Actor, client_id: str, seq: int, record: str, title: str, base: int
    ) -> None:
        body = {
            "protocol": 1,
            "client_id": client_id,
            "mutations": [
                {
                    "mutation_id": str(uuid.uuid4()),
                    "client_seq": seq,
                    "entity": "meeting",
                    "op": "upsert",
                    "record_id": record,
                    "base_version": base,
                    "fields": {"title": title},
                }
            ],
        }
        res = self.client.post(f"{API_PREFIX}/sync/push", json=body, headers=who.headers)
        assert res.status_code == 200, res.text

    def conflict(self) -> str:
        """Two fieldworkers edit the same meeting title from version 1: one conflict."""
        meeting = self.meeting(fresh=True)
        self.push(self.world.fw, str(uuid.uuid4()), 1, meeting, "One title", 1)
        self.push(self.world.fw2, str(uuid.uuid4()), 1, meeting, "Other title", 1)
        page = self.client.get(
            f"{API_PREFIX}/studies/{self.study}/conflicts?unresolved=true&record_id={meeting}",
            headers=self.world.pi.headers,
        ).json()
        return str(page["items"][0]["id"])


Prepare = Callable[[Ctx, str], Req]
S = "/studies/{study_id}"
SES = S + "/sessions/{session_id}"


def _logout(c: Ctx, role: str) -> Req:
    return Req(headers=c.token(role)[0])


def _revoke(c: Ctx, role: str) -> Req:
    headers, token_id = c.token(role)
    return Req(params={"token_id": token_id}, headers=headers)


def _session_req(c: Ctx, fresh: bool = False, paused: bool = False, **extra: Any) -> Req:
    return Req(params=c.p(session_id=c.session(fresh=fresh, paused=paused)), **extra)


def _intervention_req(c: Ctx, fresh: bool, **extra: Any) -> Req:
    session = c.session()
    return Req(params=c.p(session_id=session, intervention_id=c.intervention(session)), **extra)


def _note_req(c: Ctx, **extra: Any) -> Req:
    session = c.session()
    return Req(params=c.p(session_id=session, note_id=c.note(session)), **extra)


def _journal_req(c: Ctx, fresh: bool) -> Req:
    session = c.session(fresh=fresh)
    c.journal(session)
    return Req(params=c.p(session_id=session))


def _attendee_req(c: Ctx) -> Req:
    meeting, attendee = c.attendee()
    return Req(params=c.p(meeting_id=meeting, attendee_id=attendee))


def _code_params(c: Ctx) -> dict[str, Any]:
    version, code = c.draft_code()
    return c.p(version_id=version, code_id=code)


def _create_draft(c: Ctx, role: str) -> Req:
    if role == "pi":
        c.no_draft()
    return Req(params=c.p(), json={"label": "Matrix draft"})


def _fresh_draft(c: Ctx, role: str) -> Req:
    if role == "pi":
        c.no_draft()
    return Req(params=c.p(version_id=c.draft()))


MATRIX: dict[tuple[str, str], tuple[dict[str, int], Prepare]] = {
    # ---- auth
    ("POST", "/auth/logout"): (anyone(204), _logout),
    ("GET", "/auth/me"): (anyone(200), lambda c, r: Req()),
    ("GET", "/auth/tokens"): (anyone(200), lambda c, r: Req()),
    ("DELETE", "/auth/tokens/{token_id}"): (anyone(204), _revoke),
    ("POST", "/users"): (
        ADMIN,
        lambda c, r: Req(json={"email": f"{c.uid('u')}@example.org", "password": "x" * 12}),
    ),
    ("GET", S + "/members"): (pi_only(200), lambda c, r: Req(params=c.p())),
    ("POST", S + "/members"): (
        pi_only(201),
        lambda c, r: Req(params=c.p(), json={"email": _new_account(c), "role": "analyst"}),
    ),
    ("DELETE", S + "/members/{member_id}"): (
        pi_only(204),
        lambda c, r: Req(params=c.p(member_id=c.member())),
    ),
    # ---- studies and sites
    ("POST", "/studies"): (ADMIN, lambda c, r: Req(json={"name": "New", "slug": c.uid("new-")})),
    ("GET", "/studies"): (anyone(200), lambda c, r: Req()),
    ("GET", S): (READ, lambda c, r: Req(params=c.p())),
    ("PATCH", S): (pi_only(200), lambda c, r: Req(params=c.p(), json={"description": "Edited"})),
    ("DELETE", S): (pi_only(204), lambda c, r: Req(params={"study_id": c.fresh_study()})),
    ("GET", S + "/sites"): (READ, lambda c, r: Req(params=c.p())),
    ("POST", S + "/sites"): (
        pi_only(201),
        lambda c, r: Req(params=c.p(), json={"code": c.uid("N"), "name": "New site"}),
    ),
    ("GET", S + "/sites/{site_id}"): (
        READ,
        lambda c, r: Req(params=c.p(site_id=c.world.site_ids["A"])),
    ),
    ("PATCH", S + "/sites/{site_id}"): (
        pi_only(200),
        lambda c, r: Req(params=c.p(site_id=c.world.site_ids["B"]), json={"target_hours": 30}),
    ),
    ("DELETE", S + "/sites/{site_id}"): (
        pi_only(204),
        lambda c, r: Req(params=c.p(site_id=c.site())),
    ),
    # ---- participants
    ("GET", S + "/participants"): (READ, lambda c, r: Req(params=c.p())),
    ("POST", S + "/participants"): (
        writers(201),
        lambda c, r: Req(
            params=c.p(),
            json={
                "site_id": str(c.world.site_ids["B"]),
                "code": c.uid("B-N-"),
                "background": "midwifery",
            },
        ),
    ),
    ("GET", S + "/participants/{participant_id}"): (
        READ,
        lambda c, r: Req(params=c.p(participant_id=c.world.leaders["A-EX-01"])),
    ),
    ("PATCH", S + "/participants/{participant_id}"): (
        writers(200),  # a fieldworker edits a stub pending review (see test_participants)
        lambda c, r: Req(
            params=c.p(participant_id=c.participant(stub=True)), json={"role_title": "Chair"}
        ),
    ),
    ("DELETE", S + "/participants/{participant_id}"): (
        pi_only(204),
        lambda c, r: Req(params=c.p(participant_id=c.participant())),
    ),
    # ---- meetings and attendees
    ("GET", S + "/meetings"): (READ, lambda c, r: Req(params=c.p())),
    ("POST", S + "/meetings"): (
        writers(201),
        lambda c, r: Req(params=c.p(), json=c.meeting_body()),
    ),
    ("GET", S + "/meetings/{meeting_id}"): (
        READ,
        lambda c, r: Req(params=c.p(meeting_id=c.meeting())),
    ),
    ("PATCH", S + "/meetings/{meeting_id}"): (
        writers(200),
        lambda c, r: Req(params=c.p(meeting_id=c.meeting()), json={"theme": "Urgent care"}),
    ),
    ("DELETE", S + "/meetings/{meeting_id}"): (
        writers(204),  # the fieldworker who added it, or a PI
        lambda c, r: Req(params=c.p(meeting_id=c.meeting(fresh=True))),
    ),
    ("GET", S + "/meetings/{meeting_id}/attendees"): (
        READ,
        lambda c, r: Req(params=c.p(meeting_id=c.meeting())),
    ),
    ("POST", S + "/meetings/{meeting_id}/attendees"): (
        writers(201),
        lambda c, r: Req(
            params=c.p(meeting_id=c.meeting(fresh=True)),
            json={"participant_id": str(c.world.leaders["A-TH-02"])},
        ),
    ),
    ("DELETE", S + "/meetings/{meeting_id}/attendees/{attendee_id}"): (
        writers(204),
        lambda c, r: _attendee_req(c),
    ),
    # ---- codebook
    ("GET", S + "/codebook/versions"): (READ, lambda c, r: Req(params=c.p())),
    ("POST", S + "/codebook/versions"): (pi_only(201), _create_draft),
    ("GET", S + "/codebook/versions/{version_id}"): (
        READ,
        lambda c, r: Req(params=c.p(version_id=c.world.codebook_version_id)),
    ),
    ("PATCH", S + "/codebook/versions/{version_id}"): (
        pi_only(200),
        lambda c, r: Req(params=c.p(version_id=c.draft()), json={"label": "Relabelled"}),
    ),
    ("DELETE", S + "/codebook/versions/{version_id}"): (pi_only(204), _fresh_draft),
    ("POST", S + "/codebook/versions/{version_id}/publish"): (pi_only(200), _fresh_draft),
    ("POST", S + "/codebook/versions/{version_id}/codes"): (
        pi_only(201),
        lambda c, r: Req(
            params=c.p(version_id=c.draft()), json={"key": c.uid("code"), "label": "New"}
        ),
    ),
    ("PATCH", S + "/codebook/versions/{version_id}/codes/{code_id}"): (
        pi_only(200),
        lambda c, r: Req(
            params=_code_params(c),
            json={"label": "Renamed"},
        ),
    ),
    # ---- audit and totals
    ("GET", S + "/audit"): (pi_only(200), lambda c, r: Req(params=c.p())),
    ("GET", S + "/totals"): (READ, lambda c, r: Req(params=c.p())),
    # ---- observation sessions (owned by the world's fieldworker)
    ("POST", S + "/sessions"): (
        writers(201),
        lambda c, r: Req(
            params=c.p(),
            json={"meeting_id": c.meeting(), "started_at": datetime.now(UTC).isoformat()},
        ),
    ),
    ("GET", S + "/sessions"): (READ, lambda c, r: Req(params=c.p())),
    ("GET", SES): (READ, lambda c, r: _session_req(c)),
    ("PATCH", SES): (writers(200), lambda c, r: _session_req(c, json={"retrospective": True})),
    ("DELETE", SES): (writers(204), lambda c, r: _session_req(c, fresh=True)),
    ("POST", SES + "/pause"): (writers(200), lambda c, r: _session_req(c, fresh=True)),
    ("POST", SES + "/resume"): (
        writers(200),
        lambda c, r: _session_req(c, fresh=True, paused=True),
    ),
    ("POST", SES + "/end"): (writers(200), lambda c, r: _session_req(c, fresh=True)),
    ("GET", SES + "/timeline"): (READ, lambda c, r: _session_req(c)),
    ("POST", SES + "/interventions"): (
        writers(201),
        lambda c, r: _session_req(
            c,
            json={
                "participant_id": str(c.world.leaders["A-EX-01"]),
                "codebook_version_id": str(c.world.codebook_version_id),
                "code_key": "representation",
                "offset_seconds": 12,
            },
        ),
    ),
    ("GET", SES + "/interventions"): (READ, lambda c, r: _session_req(c)),
    ("GET", SES + "/interventions/{intervention_id}"): (
        READ,
        lambda c, r: _intervention_req(c, False),
    ),
    ("PATCH", SES + "/interventions/{intervention_id}"): (
        writers(200),
        lambda c, r: _intervention_req(c, True, json={"note": "Edited"}),
    ),
    ("DELETE", SES + "/interventions/{intervention_id}"): (
        writers(204),
        lambda c, r: _intervention_req(c, True),
    ),
    ("GET", S + "/interventions"): (READ, lambda c, r: Req(params=c.p())),
    ("POST", SES + "/notes"): (
        writers(201),
        lambda c, r: _session_req(c, json={"kind": "method", "text": "Sat at the back."}),
    ),
    ("GET", SES + "/notes"): (READ, lambda c, r: _session_req(c)),
    ("GET", SES + "/notes/{note_id}"): (READ, lambda c, r: _note_req(c)),
    ("PATCH", SES + "/notes/{note_id}"): (
        writers(200),
        lambda c, r: _note_req(c, json={"text": "Edited"}),
    ),
    ("DELETE", SES + "/notes/{note_id}"): (writers(204), lambda c, r: _note_req(c)),
    ("PUT", SES + "/journal"): (
        writers(200),
        lambda c, r: _session_req(c, json={"text": "Write-up."}),
    ),
    ("GET", SES + "/journal"): (READ, lambda c, r: _journal_req(c, False)),
    ("DELETE", SES + "/journal"): (writers(204), lambda c, r: _journal_req(c, True)),
    # ---- exports: PIs and analysts; fieldworkers only their own sessions' journals
    ("GET", S + "/exports/journals/{session_id}"): (READ, lambda c, r: _session_req(c)),
    ("GET", S + "/exports/journals"): (READ, lambda c, r: Req(params=c.p())),
    ("GET", S + "/exports/datapackage"): (EXPORT, lambda c, r: Req(params=c.p())),
    ("GET", S + "/exports/tables/{table}.csv"): (
        EXPORT,
        lambda c, r: Req(params=c.p(table="meetings")),
    ),
    ("GET", S + "/exports/json"): (EXPORT, lambda c, r: Req(params=c.p())),
    ("GET", S + "/exports/qdpx"): (EXPORT, lambda c, r: Req(params=c.p())),
    ("GET", S + "/exports/qdc"): (EXPORT, lambda c, r: Req(params=c.p())),
    # ---- sync: every signed-in user syncs their own device; PIs review conflicts
    ("POST", "/sync/push"): (
        anyone(200),
        lambda c, r: Req(json={"protocol": 1, "client_id": str(uuid.uuid4()), "mutations": []}),
    ),
    ("GET", "/sync/pull"): (anyone(200), lambda c, r: Req()),
    ("GET", S + "/conflicts"): (pi_only(200), lambda c, r: Req(params=c.p())),
    ("POST", S + "/conflicts/{conflict_id}/resolve"): (
        pi_only(200),
        lambda c, r: Req(params=c.p(conflict_id=c.conflict()), json={"resolution": "keep_current"}),
    ),
    # ---- dashboard: PIs and analysts
    ("GET", S + "/dashboard/progress"): (EXPORT, lambda c, r: Req(params=c.p())),
    ("GET", S + "/dashboard/participants"): (EXPORT, lambda c, r: Req(params=c.p())),
    ("GET", S + "/dashboard/contributions/{dimension}"): (
        EXPORT,
        lambda c, r: Req(params=c.p(dimension="site")),
    ),
    ("GET", S + "/dashboard/quality"): (EXPORT, lambda c, r: Req(params=c.p())),
    ("GET", S + "/dashboard/agreement"): (EXPORT, lambda c, r: Req(params=c.p())),
}


def _new_account(c: Ctx) -> str:
    email = f"{c.uid('acct')}@example.org"
    add_user(c.engine, email, None, None)
    return email


def app_routes(app: FastAPI | None = None) -> set[tuple[str, str]]:
    """(method, path below /api/v1) of every API route the app serves, however deeply
    routers are included."""
    found = set()
    for route in iter_route_contexts((app or create_app()).routes):
        path = route.path or ""
        if not path.startswith(API_PREFIX + "/") or path in (
            f"{API_PREFIX}/openapi.json",
            f"{API_PREFIX}/docs",
        ):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, path.removeprefix(API_PREFIX)))
    return found - UNGUARDED


def test_every_route_is_in_the_matrix() -> None:
    routes = app_routes()
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, (
        "Routes without a row in tests/test_authz_matrix.py MATRIX (say who may call them): "
        f"{missing}"
    )
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"
    assert len(routes) > 40


def test_an_unlisted_route_is_caught() -> None:
    app = create_app()
    extra = APIRouter()

    @extra.post("/studies/{study_id}/something-new")
    def something_new(study_id: uuid.UUID) -> None: ...

    app.include_router(extra, prefix=API_PREFIX)
    assert app_routes(app) - MATRIX.keys() == {("POST", "/studies/{study_id}/something-new")}


def test_authorisation_matrix(client: TestClient, engine: Engine, world: World) -> None:
    ctx = Ctx(client, engine, world)
    failures: list[str] = []
    calls = 0
    # Refusals first, so a successful delete never removes another role's target.
    order = ("anonymous", "outsider", "analyst", "fieldworker", "pi")
    for (method, template), (expected, prepare) in sorted(MATRIX.items()):
        if (method, template) not in app_routes_cached():
            continue  # reported by test_every_route_is_in_the_matrix
        for role in order:
            req = prepare(ctx, role)
            path = API_PREFIX + template.format(**{k: str(v) for k, v in req.params.items()})
            headers = ctx.headers(role) if req.headers is None else req.headers
            res = client.request(method, path + req.query, json=req.json, headers=headers)
            calls += 1
            want = expected[role]
            where = f"{method} {template} as {role}"
            if res.status_code != want:
                failures.append(
                    f"{where}: expected {want}, got {res.status_code}: {res.text[:200]}"
                )
                continue
            if want >= 400:
                problem = res.json()
                if not res.headers["content-type"].startswith("application/problem+json"):
                    failures.append(f"{where}: not problem+json")
                elif want == 403 and not str(problem.get("detail", "")).lower().startswith(
                    ("only", "fieldworkers can", "analysts can")
                ):
                    failures.append(f"{where}: 403 without saying who can: {problem['detail']}")
                elif want == 404 and problem.get("code") != "not_found":
                    failures.append(f"{where}: 404 code {problem.get('code')}")
    assert not failures, "\n".join(failures)
    assert calls == len(ROLES) * len(MATRIX.keys() & app_routes_cached())


_ROUTES: set[tuple[str, str]] = set()


def app_routes_cached() -> set[tuple[str, str]]:
    if not _ROUTES:
        _ROUTES.update(app_routes())
    return _ROUTES
