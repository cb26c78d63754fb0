"""Benchmark the paginated list endpoints at national scale: participants, meetings, audit.

Builds a synthetic study (42 sites, 30 participants per site, 20,000 meetings, 200,000
audit events at --scale 1) with bulk Core inserts, then times requests through the real
app (FastAPI TestClient in-process: routing, auth, the page query, the COUNT(*) for
`total`, and JSON), reporting p50 and p95 in milliseconds. Everything is synthetic.

Usage:
    uv run python scripts/bench_lists.py                     # SQLite and PostgreSQL
    uv run python scripts/bench_lists.py --backends sqlite --scale 0.1 --runs 10
PostgreSQL: --pg-url names the server; the script creates and drops its own database.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine, make_url

import fieldscope.models  # noqa: F401  (every table)
from fieldscope.app import create_app
from fieldscope.audit.models import AuditEvent
from fieldscope.auth.models import Membership, Role
from fieldscope.auth.service import create_user
from fieldscope.changes import set_actor
from fieldscope.codebook.service import seed_default_codebook
from fieldscope.db import make_engine, transaction
from fieldscope.meetings.models import Meeting
from fieldscope.migrate import upgrade
from fieldscope.participants.models import Participant
from fieldscope.studies.models import Site, Study

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-1"
LEVELS = ("executive", "thematic", "project")
BACKGROUNDS = ("medicine", "nursing", "pharmacy", "midwifery", "general_practice", "non_clinical")
START = datetime(2022, 1, 3, 9, 0, tzinfo=UTC)


def _record(rng: random.Random) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": uuid.UUID(int=rng.getrandbits(128)),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }


def build(engine: Engine, scale: float, seed: int = 7) -> uuid.UUID:
    rng = random.Random(seed)
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        user = create_user(s, "bench-pi@example.org", PASSWORD)
        study = Study(name="Bench study", slug="bench")
        s.add(study)
        s.flush()
        s.add(Membership(user_id=user.id, study_id=study.id, role=Role.pi))
        sites = [Site(study_id=study.id, code=f"S{n:02}", name=f"Site {n}") for n in range(42)]
        s.add_all(sites)
        seed_default_codebook(s, study.id)
        s.flush()
        study_id, site_ids, user_id = study.id, [x.id for x in sites], user.id
    people, meetings, events = [], [], []
    for n, site_id in enumerate(site_ids):
        for k in range(30):
            people.append(
                _record(rng)
                | {
                    "study_id": study_id,
                    "site_id": site_id,
                    "code": f"S{n:02}-{k:03}",
                    "role_title": "Lead",
                    "level": rng.choice(LEVELS),
                    "background": rng.choice(BACKGROUNDS),
                    "is_clinical_leader": rng.random() < 0.6,
                    "consent": "consented",
                    "consent_date": None,
                    "real_name": None,
                    "pending_review": rng.random() < 0.05,
                }
            )
    for k in range(int(20_000 * scale)):
        meetings.append(
            _record(rng)
            | {
                "study_id": study_id,
                "site_id": rng.choice(site_ids),
                "level": rng.choice(LEVELS),
                "title": f"Meeting {k}",
                "theme": "",
                "location": "",
                "stage_of_change": None,
                "scheduled_start": START + timedelta(hours=rng.randrange(3 * 365 * 24)),
                "created_by": user_id,
            }
        )
    entities = [("participant", p["id"]) for p in people] + [("meeting", m["id"]) for m in meetings]
    for k in range(int(200_000 * scale)):
        entity, entity_id = entities[k % len(entities)]
        events.append(
            {
                "at": START + timedelta(seconds=k),
                "actor_id": user_id,
                "study_id": study_id,
                "entity": entity,
                "entity_id": entity_id,
                "action": "update",
                "before": {"title": "a"},
                "after": {"title": "b"},
                "via": "api",
                "mutation_id": None,
            }
        )
    with engine.begin() as conn:
        for model, rows in ((Participant, people), (Meeting, meetings), (AuditEvent, events)):
            for i in range(0, len(rows), 2000):
                conn.execute(insert(model.__table__), rows[i : i + 2000])  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return study_id


def time_requests(engine: Engine, study_id: uuid.UUID, runs: int) -> dict[str, dict[str, float]]:
    app = create_app(engine)
    out: dict[str, dict[str, float]] = {}
    with TestClient(app) as client:
        token = client.post(
            "/api/v1/auth/login", json={"email": "bench-pi@example.org", "password": PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        sites = client.get(f"/api/v1/studies/{study_id}/sites", headers=headers).json()
        site, base = sites[7]["id"], f"/api/v1/studies/{study_id}"
        some = client.get(f"{base}/meetings?limit=1&offset=123", headers=headers).json()
        entity_id = some["items"][0]["id"] if some["items"] else str(uuid.uuid4())
        d0 = date(2023, 3, 1)
        cases = {
            "participants p1 (50)": f"{base}/participants",
            "participants site+level": f"{base}/participants?site_id={site}&level=project",
            "participants last page": f"{base}/participants?offset=1250",
            "participants 500": f"{base}/participants?limit=500",
            "meetings p1 (50)": f"{base}/meetings",
            "meetings site+month": (
                f"{base}/meetings?site_id={site}&date_from={d0}&date_to={d0 + timedelta(days=30)}"
            ),
            "meetings deep offset": f"{base}/meetings?offset={int(some['total'] * 0.9)}",
            "audit p1 (50)": f"{base}/audit",
            "audit entity=meeting": f"{base}/audit?entity=meeting",
            "audit one record": f"{base}/audit?entity_id={entity_id}",
        }
        for name, url in cases.items():
            samples = []
            for _ in range(runs + 1):
                t0 = time.perf_counter()
                res = client.get(url, headers=headers)
                samples.append((time.perf_counter() - t0) * 1000)
                assert res.status_code == 200, res.text
            samples = sorted(samples[1:])  # the first run warms caches
            p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
            out[name] = {
                "p50_ms": round(statistics.median(samples), 1),
                "p95_ms": round(p95, 1),
                "total": res.json()["total"],
            }
    return out


def run(backend: str, scale: float, runs: int, pg_url: str) -> dict[str, Any]:
    if backend == "sqlite":
        tmp = tempfile.mkdtemp()
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        drop = None
    else:
        name = f"fieldscope_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(make_url(pg_url).set(database=name).render_as_string(False))
        drop = (admin, name)
    try:
        upgrade(engine)
        t0 = time.perf_counter()
        study_id = build(engine, scale)
        built = time.perf_counter() - t0
        return {
            "backend": backend,
            "build_s": round(built, 1),
            "results": time_requests(engine, study_id, runs),
        }
    finally:
        engine.dispose()
        if drop:
            with drop[0].connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{drop[1]}" WITH (FORCE)'))
            drop[0].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        report = run(backend, args.scale, args.runs, args.pg_url)
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
