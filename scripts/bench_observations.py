"""Observation API benchmark: list filters on a big interventions table, and the cost of a
write through the shared entity checks (REST and the sync path).

Builds the national synthetic study with `scale_data.generate` (~1,000,000 interventions
and ~25,000 sessions at --scale 1) on SQLite and PostgreSQL, then times, through the real
app (FastAPI TestClient in-process: routing, auth, queries and JSON included):

- study-wide intervention lists: first page, each filter, a deep page, a 500-row page;
- session lists with filters, one session's interventions, its timeline;
- creating interventions over REST (one request each);
- applying interventions through `EntitySpec.check` the way a sync push does (one
  transaction, one flush at the end): milliseconds per mutation.

Usage:
    uv run python scripts/bench_observations.py                       # both backends, scale 1
    uv run python scripts/bench_observations.py --scale 0.05 --runs 5  # a quick run
    uv run python scripts/bench_observations.py --backends sqlite --keep
    uv run python scripts/bench_observations.py --backends sqlite --url sqlite:////tmp/x.db
Each run creates its own database (SQLite in a temp dir; a fresh PostgreSQL database on
--pg-url) and drops it afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import DEFAULT_PG, create_database, find_study, table_counts, timed
from fastapi.testclient import TestClient
from scale_data import PASSWORD, generate
from sqlalchemy import func, select
from sqlalchemy.engine import Engine


def _pick(engine: Engine, study_id: uuid.UUID) -> dict[str, Any]:
    """Real ids to filter by: a busy session, a participant, a site, a fieldworker."""
    from fieldscope.auth.models import User
    from fieldscope.observations.models import Intervention, ObservationSession

    with engine.connect() as conn:
        session_id, site_id, observer_id = conn.execute(
            select(Intervention.session_id, Intervention.site_id, Intervention.observer_id)
            .where(Intervention.study_id == study_id)
            .limit(1)
        ).one()
        participant_id = (
            conn.execute(
                select(Intervention.participant_id).where(Intervention.session_id == session_id)
            )
            .scalars()
            .first()
        )
        started = conn.execute(
            select(ObservationSession.started_at).where(ObservationSession.id == session_id)
        ).scalar_one()
        email = conn.execute(select(User.email).where(User.id == observer_id)).scalar_one()
        total = conn.execute(
            select(func.count()).select_from(Intervention).where(Intervention.study_id == study_id)
        ).scalar_one()
    return {
        "session_id": session_id,
        "site_id": site_id,
        "participant_id": participant_id,
        "observer_email": email,
        "started": started,
        "total": int(total),
    }


def measure(engine: Engine, study_id: uuid.UUID, runs: int, writes: int) -> dict[str, Any]:
    from fieldscope.app import create_app

    ids = _pick(engine, study_id)
    results: dict[str, Any] = {}
    with TestClient(create_app(engine)) as client:

        def login(email: str) -> dict[str, str]:
            res = client.post(
                "/api/v1/auth/login",
                json={"email": email, "password": PASSWORD, "device_label": "bench"},
            )
            assert res.status_code == 200, res.text
            return {"Authorization": f"Bearer {res.json()['token']}"}

        pi = login("pi@bench.example")
        fw = login(ids["observer_email"])
        base = f"/api/v1/studies/{study_id}"

        def get(path: str, headers: dict[str, str] = pi, **params: Any) -> Callable[[], None]:
            def call() -> None:
                res = client.get(base + path, params=params, headers=headers)
                assert res.status_code == 200, res.text

            return call

        month = {
            "started_from": ids["started"].isoformat(),
            "started_before": (ids["started"].replace(day=28)).isoformat(),
        }
        results["interventions_first_page"] = timed(get("/interventions"), runs)
        results["interventions_by_site"] = timed(
            get("/interventions", site_id=ids["site_id"]), runs
        )
        results["interventions_by_code"] = timed(get("/interventions", code_key="relational"), runs)
        results["interventions_by_participant"] = timed(
            get("/interventions", participant_id=ids["participant_id"]), runs
        )
        results["interventions_by_level"] = timed(get("/interventions", level="executive"), runs)
        results["interventions_by_month"] = timed(get("/interventions", **month), runs)
        results["interventions_fieldworker_own"] = timed(get("/interventions", headers=fw), runs)
        results["interventions_page_500"] = timed(get("/interventions", limit=500), runs)
        deep = max(0, ids["total"] // 2)
        results["interventions_deep_page"] = timed(
            get("/interventions", offset=deep), max(3, runs // 3)
        )
        results["sessions_first_page"] = timed(get("/sessions"), runs)
        results["sessions_by_site_open"] = timed(
            get("/sessions", site_id=ids["site_id"], ended="false"), runs
        )
        results["sessions_by_month"] = timed(get("/sessions", **month), runs)
        sid = ids["session_id"]
        results["session_interventions"] = timed(get(f"/sessions/{sid}/interventions"), runs)
        results["session_timeline"] = timed(get(f"/sessions/{sid}/timeline"), runs)

        body = {
            "participant_id": str(ids["participant_id"]),
            "codebook_version_id": _version(engine, study_id),
            "code_key": "relational",
            "form_key": "brokering",
            "offset_seconds": 1,
            "quote": "Benchmark write.",
        }
        samples = []
        for _ in range(writes):
            began = time.perf_counter()
            res = client.post(f"{base}/sessions/{sid}/interventions", json=body, headers=pi)
            samples.append((time.perf_counter() - began) * 1000)
            assert res.status_code == 201, res.text
        samples.sort()
        results["rest_create_intervention"] = {
            "runs": writes,
            "p50_ms": round(samples[len(samples) // 2], 1),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
        }
    results["sync_path_check_per_mutation"] = _sync_path(engine, ids, body, writes * 2)
    return results


def _version(engine: Engine, study_id: uuid.UUID) -> str:
    from fieldscope.codebook.models import CodebookVersion

    with engine.connect() as conn:
        found = conn.execute(
            select(CodebookVersion.id).where(CodebookVersion.study_id == study_id)
        ).scalar_one()
    return str(found)


def _sync_path(
    engine: Engine, ids: dict[str, Any], body: dict[str, Any], n: int
) -> dict[str, float]:
    """N interventions through the spec check in one transaction, raw JSON values, one
    flush at the end (the sync push's optimistic pass); rolled back afterwards."""
    from fieldscope.auth.models import User
    from fieldscope.changes import set_actor
    from fieldscope.db import open_session
    from fieldscope.observations.models import Intervention
    from fieldscope.registry import specs

    spec = specs()["intervention"]
    session = open_session(engine, write=True)
    try:
        actor = session.execute(select(User).where(User.email == "pi@bench.example")).scalar_one()
        set_actor(session, actor.id, via="sync")
        began = time.perf_counter()
        for i in range(n):
            record = Intervention()
            record.id = uuid.uuid4()
            fields = {**body, "session_id": str(ids["session_id"]), "offset_seconds": i % 60}
            for key, value in fields.items():
                setattr(record, key, value)
            spec.check(session, record, actor, True)
            session.add(record)
        checked = time.perf_counter()
        session.flush()
        flushed = time.perf_counter()
    finally:
        session.rollback()
        session.close()
    return {
        "mutations": n,
        "check_ms_each": round((checked - began) * 1000 / n, 3),
        "flush_ms_each": round((flushed - checked) * 1000 / n, 3),
    }


def bench(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    from fieldscope.db import make_engine
    from fieldscope.migrate import upgrade

    out: dict[str, Any] = {"backend": backend}
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if args.url:
        url = args.url
    else:
        url, drop = create_database(backend, args.pg_url, args.keep)
    engine = make_engine(url)
    try:
        if not args.url:
            upgrade(engine)
            print(f"[{backend}] generating at scale {args.scale} (seed {args.seed})", flush=True)
            generated = generate(engine, scale=args.scale, seed=args.seed, log=False)
            out["generate_seconds"] = round(generated.seconds, 1)
        out["rows"] = table_counts(engine)
        print(f"[{backend}] {out['rows']}; measuring", flush=True)
        out["http"] = measure(engine, find_study(engine), args.runs, args.writes)
        if args.keep or args.url:
            out["url"] = url
    finally:
        engine.dispose()
        drop()
    return out


def report(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        lines.append(f"\n== {r['backend']} ==  rows: {r['rows']}")
        if "generate_seconds" in r:
            lines.append(f"generated in {r['generate_seconds']} s")
        for name, t in r["http"].items():
            if "p50_ms" in t:
                lines.append(
                    f"{name:34} p50 {t['p50_ms']:>8} ms  p95 {t['p95_ms']:>8} ms  (n={t['runs']})"
                )
            else:
                lines.append(f"{name:34} {t}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--writes", type=int, default=100, help="REST creates to time")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--url", help="measure a kept database instead of generating one")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = [bench(b, args) for b in args.backends.split(",") if b]
    meta = {"python": platform.python_version(), "machine": platform.machine()}
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, default=str, indent=2))
    else:
        print(report(results))


if __name__ == "__main__":
    main()
