"""The bad-input catalogue of the observation API.

Every case: a 4xx (never a 500), the problem+json `code`, a human message naming the
field, and NOTHING written (row counts, change log and audit log unchanged). The same
semantic cases then go through the EntitySpec checks the way a sync push does.

One world per backend serves the whole module: since no case may write anything, the
cases cannot disturb each other (and a case that does write fails its own assertion).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fieldscope.app import create_app
from fieldscope.auth.models import User
from fieldscope.changes import set_actor
from fieldscope.codebook.models import CodebookVersion
from fieldscope.common.models import utcnow
from fieldscope.db import make_engine, transaction
from fieldscope.errors import AppError
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import ObservationSession
from fieldscope.participants.models import Consent
from fieldscope.registry import specs
from fieldscope.settings import get_settings
from fieldscope.studies.models import Site
from tests.conftest import BACKENDS, _truncate_pg
from tests.factories import World, build_world
from tests.observation_helpers import (
    at,
    counts,
    make_meeting,
    make_participant,
    meeting,
    start,
    tag,
)

MAX = get_settings().max_text_length
UNKNOWN = "0190f5c2-0000-7000-8000-000000000000"


@dataclass
class Ctx:
    engine: Engine
    client: TestClient
    world: World
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.ids[key]

    def url(self, path: str) -> str:
        return f"/api/v1/studies/{self.world.study_id}{path}"


@pytest.fixture(scope="module", params=BACKENDS)
def ctx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctx]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("bad_input") / "fieldscope.db"
        shutil.copyfile(template, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = make_engine(request.getfixturevalue("pg_database"))
        _truncate_pg(engine)
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        world = build_world(engine, client)
        yield _populate(Ctx(engine, client, world))
    engine.dispose()


def _populate(c: Ctx) -> Ctx:
    w, e, cl = c.world, c.engine, c.client
    ids = c.ids
    ids["meeting_a"] = str(meeting(e, w, "A"))
    ids["meeting_b"] = str(meeting(e, w, "B"))
    with transaction(e) as s:
        set_actor(s, None, via="cli")
        other_site = s.execute(select(Site).where(Site.study_id == w.other_study_id)).scalar_one()
        version = s.execute(
            select(CodebookVersion).where(CodebookVersion.study_id == w.other_study_id)
        ).scalar_one()
        ids["other_version"] = str(version.id)
        ids["other_site"] = str(other_site.id)
    assert w.other_study_id is not None
    ids["meeting_other_study"] = str(
        make_meeting(e, w.other_study_id, uuid.UUID(ids["other_site"]))
    )
    ids["meeting_deleted"] = str(meeting(e, w, "A"))
    with transaction(e) as s:
        set_actor(s, None, via="cli")
        m = s.get(Meeting, uuid.UUID(ids["meeting_deleted"]))
        assert m is not None
        m.deleted_at = utcnow()
        s.add(m)
    ids["p_other_site"] = str(w.leaders["B-EX-01"])
    ids["p_other_study"] = str(
        make_participant(
            e, w, "Z-EX-09", study_id=w.other_study_id, site_id=uuid.UUID(ids["other_site"])
        )
    )
    ids["p_declined"] = str(make_participant(e, w, "A-PR-07", consent=Consent.declined))
    ids["p_withdrawn"] = str(make_participant(e, w, "A-PR-08", consent=Consent.withdrawn))
    ma = uuid.UUID(ids["meeting_a"])
    running = start(cl, w, w.fw, ma)
    ids["running"] = running["id"]
    ids["paused"] = start(cl, w, w.fw, ma, pauses=[{"start": at(10), "end": None}])["id"]
    ended = start(cl, w, w.fw, ma, ended_at=at(60))
    ids["ended"] = ended["id"]
    tagged = start(cl, w, w.fw, ma)
    ids["tagged"] = tagged["id"]
    ids["late_tag"] = tag(cl, w, w.fw, tagged, offset_seconds=3000)["id"]
    ids["fw2_session"] = start(cl, w, w.fw2, ma)["id"]
    deleted = start(cl, w, w.fw, ma)
    ids["deleted"] = deleted["id"]
    ids["deleted_session_tag"] = tag(cl, w, w.fw, deleted)["id"]
    res = cl.delete(c.url(f"/sessions/{deleted['id']}"), headers=w.fw.headers)
    assert res.status_code == 204
    gone = tag(cl, w, w.fw, running)
    ids["deleted_tag"] = gone["id"]
    res = cl.delete(
        c.url(f"/sessions/{ids['running']}/interventions/{gone['id']}"), headers=w.fw.headers
    )
    assert res.status_code == 204
    ids["live_tag"] = tag(cl, w, w.fw, running)["id"]
    return c


# --- the catalogue ---------------------------------------------------------------------------

Body = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: Callable[[Ctx], str]
    body: Body | None
    status: int
    code: str
    field: str | None  # the field the message must name (None for 401/403/404)
    says: str  # a fragment of the human message
    actor: str = "fieldworker"
    raw: Callable[[Ctx], tuple[bytes | str, str]] | None = None  # (content, content type)

    def __str__(self) -> str:
        return self.name


def S(c: Ctx, sid: str = "running", tail: str = "") -> str:
    return c.url(f"/sessions/{c[sid]}{tail}")


def session_body(**over: Any) -> Body:
    return lambda c: {"meeting_id": c["meeting_a"], "started_at": at(0), **over}


def iv(**over: Any) -> Body:
    def build(c: Ctx) -> dict[str, Any]:
        body = {
            "participant_id": str(c.world.leaders["A-EX-01"]),
            "codebook_version_id": str(c.world.codebook_version_id),
            "code_key": "relational",
            "offset_seconds": 60,
            **over,
        }
        return {
            k: (c[v[1:]] if isinstance(v, str) and v.startswith("@") else v)
            for k, v in body.items()
        }

    return build


def sessions(c: Ctx) -> str:
    return c.url("/sessions")


def ivs(sid: str = "running") -> Callable[[Ctx], str]:
    return lambda c: S(c, sid, "/interventions")


def notes(sid: str = "running") -> Callable[[Ctx], str]:
    return lambda c: S(c, sid, "/notes")


def running(tail: str = "", sid: str = "running") -> Callable[[Ctx], str]:
    return lambda c: S(c, sid, tail)


# fmt: off
CASES = [
    # -- times and pauses
    Case("end before start", "POST", sessions, session_body(started_at=at(60), ended_at=at(0)),
         422, "end_before_start", "ended_at", "before started_at"),
    Case("patch end before start", "PATCH", running(), lambda c: {"ended_at": at(-5)},
         422, "end_before_start", "ended_at", "before started_at"),
    Case("end action before start", "POST", running("/end"), lambda c: {"at": at(-5)},
         422, "end_before_start", "ended_at", "before started_at"),
    Case("pause before the session", "POST", sessions,
         session_body(pauses=[{"start": at(-10), "end": at(-5)}]),
         422, "pause_outside_session", "pauses.0", "outside the session"),
    Case("pause after the end", "POST", sessions,
         session_body(ended_at=at(60), pauses=[{"start": at(50), "end": at(70)}]),
         422, "pause_outside_session", "pauses.0", "outside the session"),
    Case("pause action before start", "POST", running("/pause"), lambda c: {"at": at(-1)},
         422, "pause_outside_session", "pauses.0", "outside the session"),
    Case("overlapping pauses", "POST", sessions,
         session_body(pauses=[{"start": at(10), "end": at(20)}, {"start": at(15), "end": at(25)}]),
         422, "pauses_overlap", "pauses.1", "before pauses.0 has ended"),
    Case("overlapping pauses sent unsorted", "POST", sessions,
         session_body(pauses=[{"start": at(15), "end": at(25)}, {"start": at(10), "end": at(20)}]),
         422, "pauses_overlap", "pauses.0", "before pauses.1 has ended"),
    Case("two open pauses", "POST", sessions,
         session_body(pauses=[{"start": at(10)}, {"start": at(20)}]),
         422, "pauses_overlap", "pauses.1", "before pauses.0 has ended"),
    Case("pause ending before it starts", "POST", sessions,
         session_body(pauses=[{"start": at(20), "end": at(10)}]),
         422, "pause_end_before_start", "pauses.0", "before it starts"),
    Case("resume before the pause began", "POST", running("/resume", "paused"),
         lambda c: {"at": at(5)}, 422, "pause_end_before_start", "pauses.0", "before it starts"),
    Case("open pause in an ended session", "POST", sessions,
         session_body(ended_at=at(60), pauses=[{"start": at(10), "end": None}]),
         422, "pause_not_ended", "pauses.0", "has no end"),
    Case("too many pauses", "POST", sessions,
         session_body(pauses=[{"start": at(i / 100), "end": at(i / 100)} for i in range(1001)]),
         422, "validation_error", "pauses", "at most 1000"),
    Case("pause an ended session", "POST", running("/pause", "ended"), None,
         409, "session_ended", None, "ended at"),
    Case("end before recorded interventions", "PATCH", running(sid="tagged"),
         lambda c: {"ended_at": at(10)}, 409, "records_after_end", "ended_at", "recorded later"),
    Case("year out of range", "POST", sessions, session_body(started_at="0001-01-01T00:00:00Z"),
         422, "validation_error", "started_at", "between 1900 and 2200"),
    # -- naive datetimes
    Case("naive started_at", "POST", sessions, session_body(started_at="2026-11-22T09:00:00"),
         422, "validation_error", "started_at", "needs a time zone"),
    Case("naive pause start", "POST", sessions,
         session_body(pauses=[{"start": "2026-11-22T09:10:00", "end": at(20)}]),
         422, "validation_error", "pauses.0.start", "needs a time zone"),
    Case("naive device_time", "POST", ivs(), iv(device_time="2026-11-22T09:01:00"),
         422, "validation_error", "device_time", "needs a time zone"),
    Case("naive action time", "POST", running("/pause"), lambda c: {"at": "2026-11-22T09:30"},
         422, "validation_error", "at", "needs a time zone"),
    # -- codes and the codebook
    Case("unknown code", "POST", ivs(), iv(code_key="telepathy"),
         422, "unknown_code", "code_key", "'telepathy' is not a contribution"),
    Case("a form used as the code", "POST", ivs(), iv(code_key="brokering"),
         422, "unknown_code", "code_key", "'brokering' is not a contribution"),
    Case("form of another code", "POST", ivs(), iv(form_key="clinical_evidence"),
         422, "unknown_form", "form_key", "not a form of 'relational'"),
    Case("unknown form", "POST", ivs(), iv(form_key="gossip"),
         422, "unknown_form", "form_key", "'gossip' is not a form"),
    Case("codebook version of another study", "POST", ivs(),
         iv(codebook_version_id="@other_version"),
         422, "unknown_codebook_version", "codebook_version_id", "does not belong to this study"),
    Case("unknown codebook version", "POST", ivs(), iv(codebook_version_id=UNKNOWN),
         422, "unknown_codebook_version", "codebook_version_id", "does not belong to this study"),
    Case("empty code", "POST", ivs(), iv(code_key=""),
         422, "validation_error", "code_key", "at least 1 character"),
    Case("code key too long", "POST", ivs(), iv(code_key="x" * 65),
         422, "validation_error", "code_key", "at most 64 characters"),
    # -- participants
    Case("participant from another site", "POST", ivs(), iv(participant_id="@p_other_site"),
         422, "participant_other_site", "participant_id", "belongs to site B"),
    Case("participant from another study", "POST", ivs(), iv(participant_id="@p_other_study"),
         422, "unknown_participant", "participant_id", "No participant"),
    Case("unknown participant", "POST", ivs(), iv(participant_id=UNKNOWN),
         422, "unknown_participant", "participant_id", "No participant"),
    Case("participant who declined", "POST", ivs(), iv(participant_id="@p_declined"),
         422, "participant_not_consented", "participant_id", "has declined consent"),
    Case("participant who withdrew", "POST", ivs(), iv(participant_id="@p_withdrawn"),
         422, "participant_not_consented", "participant_id", "has withdrawn consent"),
    Case("retag to a withdrawn participant", "PATCH",
         lambda c: S(c, "running", f"/interventions/{c['live_tag']}"),
         lambda c: {"participant_id": c["p_withdrawn"]},
         422, "participant_not_consented", "participant_id", "has withdrawn consent"),
    # -- ids: unknown, foreign, malformed, taken
    Case("unknown session", "POST", lambda c: c.url(f"/sessions/{UNKNOWN}/interventions"),
         iv(), 404, "not_found", None, "Observation session was not found"),
    Case("unknown meeting", "POST", sessions, session_body(meeting_id=UNKNOWN),
         422, "unknown_meeting", "meeting_id", "No meeting"),
    Case("meeting of another study", "POST", sessions,
         lambda c: session_body()(c) | {"meeting_id": c["meeting_other_study"]},
         422, "unknown_meeting", "meeting_id", "No meeting"),
    Case("deleted meeting", "POST", sessions,
         lambda c: session_body()(c) | {"meeting_id": c["meeting_deleted"]},
         422, "unknown_meeting", "meeting_id", "No meeting"),
    Case("malformed session id in the path", "POST",
         lambda c: c.url("/sessions/not-a-uuid/interventions"), iv(),
         422, "validation_error", "session_id", "UUID"),
    Case("malformed study id in the path", "POST", lambda c: "/api/v1/studies/42/sessions",
         session_body(), 422, "validation_error", "study_id", "UUID"),
    Case("malformed meeting id", "POST", sessions, session_body(meeting_id="meeting-1"),
         422, "validation_error", "meeting_id", "UUID"),
    Case("malformed participant id", "POST", ivs(), iv(participant_id="A-EX-01"),
         422, "validation_error", "participant_id", "UUID"),
    Case("intervention under another session", "PATCH",
         lambda c: S(c, "ended", f"/interventions/{c['live_tag']}"), lambda c: {"note": "x"},
         404, "not_found", None, "Intervention was not found"),
    Case("client id already used", "POST", sessions,
         lambda c: session_body()(c) | {"id": c["running"]},
         409, "id_taken", "id", "already exists"),
    # -- lengths and values
    Case("note text over the limit", "POST", notes(), lambda c: {"text": "x" * (MAX + 1)},
         422, "validation_error", "text", f"at most {MAX} characters"),
    Case("quote over the limit", "POST", ivs(), iv(quote="q" * (MAX + 1)),
         422, "validation_error", "quote", f"at most {MAX} characters"),
    Case("journal over the limit", "PUT", running("/journal"),
         lambda c: {"text": "j" * (MAX + 1)},
         422, "validation_error", "text", f"at most {MAX} characters"),
    Case("agenda item over the limit", "POST", ivs(), iv(agenda_item="a" * 201),
         422, "validation_error", "agenda_item", "at most 200 characters"),
    Case("NUL in a note", "POST", notes(), lambda c: {"text": "a\x00b"},
         422, "validation_error", "text", "NUL"),
    Case("negative offset", "POST", ivs(), iv(offset_seconds=-1),
         422, "validation_error", "offset_seconds", "greater than or equal to 0"),
    Case("offset that is not a number", "POST", ivs(), iv(offset_seconds="soon"),
         422, "validation_error", "offset_seconds", "valid number"),
    Case("NaN offset", "POST", ivs(), None, 422, "validation_error", "offset_seconds",
         "finite number",
         raw=lambda c: (
             f'{{"participant_id": "{c.world.leaders["A-EX-01"]}", "codebook_version_id": '
             f'"{c.world.codebook_version_id}", "code_key": "relational", "offset_seconds": NaN}}',
             "application/json",
         )),
    Case("offset after the session ended", "POST", ivs("ended"), iv(offset_seconds=3601),
         422, "offset_after_end", "offset_seconds", "after the end of the session"),
    Case("note offset after the session ended", "POST", notes("ended"),
         lambda c: {"text": "late", "offset_seconds": 4000},
         422, "offset_after_end", "offset_seconds", "after the end of the session"),
    Case("invalid note kind", "POST", notes(), lambda c: {"kind": "gossip", "text": "x"},
         422, "validation_error", "kind", "'informal_interview'"),
    # -- deleted records
    Case("tag in a deleted session", "POST", ivs("deleted"), iv(),
         409, "session_deleted", "session_id", "was deleted"),
    Case("edit a deleted session", "PATCH", running(sid="deleted"),
         lambda c: {"ended_at": at(30)}, 409, "session_deleted", "session_id", "was deleted"),
    Case("journal of a deleted session", "PUT", running("/journal", "deleted"),
         lambda c: {"text": "x"}, 409, "session_deleted", "session_id", "was deleted"),
    Case("edit a tag of a deleted session", "PATCH",
         lambda c: S(c, "deleted", f"/interventions/{c['deleted_session_tag']}"),
         lambda c: {"note": "x"}, 409, "session_deleted", "session_id", "was deleted"),
    Case("edit a deleted intervention", "PATCH",
         lambda c: S(c, "running", f"/interventions/{c['deleted_tag']}"),
         lambda c: {"note": "x"}, 409, "intervention_deleted", None, "was deleted"),
    # -- who may write
    Case("tag in another fieldworker's session", "POST", ivs(), iv(), 403, "forbidden", None,
         "belongs to another fieldworker", actor="fieldworker2"),
    Case("edit another fieldworker's session", "PATCH", running(),
         lambda c: {"ended_at": at(30)}, 403, "forbidden", None,
         "belongs to another fieldworker", actor="fieldworker2"),
    Case("note in another fieldworker's session", "POST", notes(), lambda c: {"text": "x"},
         403, "forbidden", None, "belongs to another fieldworker", actor="fieldworker2"),
    Case("end another fieldworker's session", "POST", running("/end"), None,
         403, "forbidden", None, "belongs to another fieldworker", actor="fieldworker2"),
    Case("delete another fieldworker's session", "DELETE", running(), None,
         403, "forbidden", None, "belongs to another fieldworker", actor="fieldworker2"),
    Case("analyst starts a session", "POST", sessions, session_body(),
         403, "forbidden", None, "Analysts can read", actor="analyst"),
    Case("analyst writes a journal", "PUT", running("/journal"), lambda c: {"text": "x"},
         403, "forbidden", None, "Analysts can read", actor="analyst"),
    Case("outsider starts a session", "POST", sessions, session_body(),
         404, "not_found", None, "Study was not found", actor="outsider"),
    Case("outsider tags", "POST", ivs(), iv(), 404, "not_found", None, "Study was not found",
         actor="outsider"),
    Case("anonymous", "POST", sessions, session_body(), 401, "not_signed_in", None,
         "Sign in", actor="anonymous"),
    # -- the shape of the request
    Case("unknown field", "POST", sessions, session_body(duration_seconds=10),
         422, "validation_error", "duration_seconds", "Extra inputs are not permitted"),
    Case("server-derived field", "POST", sessions,
         lambda c: session_body()(c) | {"observer_id": str(c.world.fw2.user_id)},
         422, "validation_error", "observer_id", "Extra inputs are not permitted"),
    Case("typo in a patch", "PATCH", running(), lambda c: {"endedat": at(30)},
         422, "validation_error", "endedat", "Extra inputs are not permitted"),
    Case("unknown key in a pause", "POST", sessions,
         session_body(pauses=[{"start": at(1), "end": at(2), "reason": "tea"}]),
         422, "validation_error", "pauses.0.reason", "Extra inputs are not permitted"),
    Case("moving a tag to another session", "PATCH",
         lambda c: S(c, "running", f"/interventions/{c['live_tag']}"),
         lambda c: {"session_id": c["ended"]},
         422, "validation_error", "session_id", "Extra inputs are not permitted"),
    Case("no body", "POST", sessions, None, 422, "empty_body", "body", "body is empty"),
    Case("no body on a patch", "PATCH", running(), None, 422, "empty_body", "body",
         "body is empty"),
    Case("empty patch", "PATCH", running(), lambda c: {}, 422, "empty_update", None,
         "at least one field"),
    Case("null for a required field", "PATCH", running(), lambda c: {"started_at": None},
         422, "invalid", "started_at", "cannot be null"),
    Case("missing required field", "POST", sessions, lambda c: {"meeting_id": c["meeting_a"]},
         422, "validation_error", "started_at", "Field required"),
    Case("journal without text", "PUT", running("/journal"), lambda c: {},
         422, "validation_error", "text", "Field required"),
    Case("JSON array", "POST", sessions, lambda c: [1, 2], 422, "validation_error", "request",
         "valid dictionary"),
    Case("invalid JSON", "POST", sessions, None, 422, "validation_error", "body",
         "body: is not valid JSON",
         raw=lambda c: ('{"meeting_id": ', "application/json")),
    Case("text content type", "POST", sessions, None, 415, "unsupported_media_type", None,
         "application/json",
         raw=lambda c: (f'{{"meeting_id": "{c["meeting_a"]}", "started_at": "{at(0)}"}}',
                        "text/plain")),
    Case("form content type", "POST", notes(), None, 415, "unsupported_media_type", None,
         "application/json", raw=lambda c: ("text=hello", "application/x-www-form-urlencoded")),
    # -- list queries
    Case("page larger than the maximum", "GET",
         lambda c: c.url(f"/sessions?limit={get_settings().page_size_max + 1}"), None,
         422, "validation_error", "limit", "less than or equal to"),
    Case("unknown filter", "GET", lambda c: c.url("/sessions?sitee=A"), None,
         422, "validation_error", "sitee", "Extra inputs are not permitted"),
    Case("bad level filter", "GET", lambda c: c.url("/interventions?level=board"), None,
         422, "validation_error", "level", "'executive'"),
    Case("naive date filter", "GET",
         lambda c: c.url("/interventions?started_from=2026-11-22T09:00"), None,
         422, "validation_error", "started_from", "needs a time zone"),
    Case("moving a session with records to another site", "PATCH", running(sid="tagged"),
         lambda c: {"meeting_id": c["meeting_b"]},
         409, "session_has_records", "meeting_id", "same site"),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_and_changes_nothing(ctx: Ctx, case: Case) -> None:
    headers: dict[str, str] = {}
    if case.actor != "anonymous":
        headers.update(ctx.world.actors[case.actor].headers)
    kwargs: dict[str, Any] = {}
    if case.raw is not None:
        content, ctype = case.raw(ctx)
        kwargs["content"] = content
        headers["content-type"] = ctype
    elif case.body is not None:
        kwargs["json"] = case.body(ctx)
    before = counts(ctx.engine)
    res = ctx.client.request(case.method, case.path(ctx), headers=headers, **kwargs)
    assert res.status_code == case.status, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    problem = res.json()
    assert problem["code"] == case.code, problem
    assert case.says.lower() in problem["detail"].lower(), problem
    if case.field is not None:
        fields = [e["field"] for e in problem.get("errors", [])]
        assert case.field in fields, problem
        assert case.field in problem["detail"] or problem["code"] not in (
            "validation_error",
            "invalid",
        ), problem
    assert counts(ctx.engine) == before


# --- the same rules on the sync path ----------------------------------------------------------

PushFields = Callable[[Ctx], dict[str, Any]]


def _iv_push(**over: Any) -> PushFields:
    return lambda c: {"session_id": c["running"], **iv(**over)(c)}


# fmt: off
PUSHES = [
    ("observation_session", "end before start",
     lambda c: {"meeting_id": c["meeting_a"], "started_at": at(60), "ended_at": at(0)},
     "end_before_start"),
    ("observation_session", "overlapping pauses",
     lambda c: {"meeting_id": c["meeting_a"], "started_at": at(0),
                "pauses": [{"start": at(10), "end": at(20)}, {"start": at(15), "end": at(25)}]},
     "pauses_overlap"),
    ("observation_session", "naive start",
     lambda c: {"meeting_id": c["meeting_a"], "started_at": "2026-11-22T09:00:00"},
     "validation_error"),
    ("observation_session", "null pauses (not quietly emptied)",
     lambda c: {"meeting_id": c["meeting_a"], "started_at": at(0), "pauses": None},
     "validation_error"),
    ("observation_session", "meeting of another study",
     lambda c: {"meeting_id": c["meeting_other_study"], "started_at": at(0)}, "unknown_meeting"),
    ("observation_session", "server-derived duration is ignored but bad types are not",
     lambda c: {"meeting_id": c["meeting_a"], "started_at": at(0), "retrospective": "perhaps"},
     "validation_error"),
    ("intervention", "unknown code", _iv_push(code_key="telepathy"), "unknown_code"),
    ("intervention", "form of another code", _iv_push(form_key="clinical_evidence"),
     "unknown_form"),
    ("intervention", "other study's codebook", _iv_push(codebook_version_id="@other_version"),
     "unknown_codebook_version"),
    ("intervention", "participant from another site", _iv_push(participant_id="@p_other_site"),
     "participant_other_site"),
    ("intervention", "participant from another study",
     _iv_push(participant_id="@p_other_study"), "unknown_participant"),
    ("intervention", "declined", _iv_push(participant_id="@p_declined"),
     "participant_not_consented"),
    ("intervention", "withdrawn", _iv_push(participant_id="@p_withdrawn"),
     "participant_not_consented"),
    ("intervention", "negative offset", _iv_push(offset_seconds=-3), "validation_error"),
    ("intervention", "offset after end",
     lambda c: _iv_push(offset_seconds=3601)(c) | {"session_id": c["ended"]}, "offset_after_end"),
    ("intervention", "deleted session", lambda c: _iv_push()(c) | {"session_id": c["deleted"]},
     "session_deleted"),
    ("intervention", "unknown session", lambda c: _iv_push()(c) | {"session_id": UNKNOWN},
     "unknown_session"),
    ("intervention", "another fieldworker's session",
     lambda c: _iv_push()(c) | {"session_id": c["fw2_session"]}, "forbidden"),
    ("intervention", "missing participant",
     lambda c: {k: v for k, v in _iv_push()(c).items() if k != "participant_id"},
     "validation_error"),
    ("field_note", "invalid kind",
     lambda c: {"session_id": c["running"], "kind": "gossip", "text": "x"}, "validation_error"),
    ("field_note", "text over the limit",
     lambda c: {"session_id": c["running"], "text": "x" * (MAX + 1)}, "validation_error"),
    ("journal_entry", "text over the limit",
     lambda c: {"session_id": c["running"], "text": "x" * (MAX + 1)}, "validation_error"),
    ("journal_entry", "another fieldworker's session",
     lambda c: {"session_id": c["fw2_session"], "text": "x"}, "forbidden"),
]
# fmt: on


@pytest.mark.parametrize(
    ("entity", "name", "fields", "code"), PUSHES, ids=[f"{p[0]}: {p[1]}" for p in PUSHES]
)
def test_pushed_bad_input_is_rejected_by_the_spec_check(
    ctx: Ctx, entity: str, name: str, fields: PushFields, code: str
) -> None:
    spec = specs()[entity]
    values = fields(ctx)
    assert set(values) <= spec.writable, "a push may only carry writable fields"
    before = counts(ctx.engine)
    with pytest.raises(AppError) as err, transaction(ctx.engine) as db:
        set_actor(db, ctx.world.fw.user_id, via="sync")
        actor = db.get(User, ctx.world.fw.user_id)
        assert actor is not None
        record = spec.model(id=uuid.uuid4(), **values)
        spec.check(db, record, actor, True)
        db.add(record)
        db.flush()
    assert err.value.code == code, err.value.detail
    assert 400 <= err.value.status < 500
    assert counts(ctx.engine) == before


def test_pushed_edit_of_server_fields_is_refused(ctx: Ctx) -> None:
    """A push may carry only writable fields, but the check also guards derived ones."""
    spec = specs()["observation_session"]
    with pytest.raises(AppError) as err, transaction(ctx.engine) as db:
        set_actor(db, ctx.world.fw.user_id, via="sync")
        actor = db.get(User, ctx.world.fw.user_id)
        assert actor is not None
        record = db.get(ObservationSession, uuid.UUID(ctx["running"]))
        assert record is not None
        record.observer_id = ctx.world.fw2.user_id
        spec.check(db, record, actor, False)
    assert err.value.code == "read_only_field"
