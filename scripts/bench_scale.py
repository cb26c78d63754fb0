"""National-scale benchmark: totals, dashboard and the interventions CSV export.

Builds a synthetic study with `scale_data.generate` (42 sites, 20,000 meetings, ~25,000
sessions, ~1,000,000 interventions at --scale 1) on SQLite and on PostgreSQL, then times
what PIs and analysts wait for, through the real app (FastAPI TestClient, in-process, so
the numbers include routing, auth, the queries and JSON):

- site totals (GET /studies/{id}/totals; target p95 <= 50 ms);
- contribution matrices (GET .../dashboard/contributions/{dimension}; target p95 <= 200 ms):
  the first request (which builds the derived counts), then with the result cache off
  ("uncached"), right after 100 new tags (the counts catch up from the change log),
  with dates (counted from the interventions), and served from the cache ("cached");
- the other dashboard endpoints (progress, participants, quality, agreement), cold;
- the interventions CSV export streamed by `exports.tidy.iter_interventions_csv`, in a
  subprocess that reports rows per second and its peak resident memory (VmHWM from
  /proc/self/status; target <= 300 MB).

Usage:
    uv run python scripts/bench_scale.py                      # both backends, scale 1
    uv run python scripts/bench_scale.py --scale 0.02 --runs 5  # a quick smoke run
    uv run python scripts/bench_scale.py --backends sqlite --keep
    uv run python scripts/bench_scale.py --url sqlite:////tmp/x.db   # reuse a kept database
PostgreSQL: --pg-url names the server (default 127.0.0.1:5432, user postgres); the script
creates its own database there and drops it at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastapi.testclient import TestClient
from scale_data import PASSWORD, generate
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import col

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGETS = {"totals_ms": 50, "matrix_ms": 200, "export_mb": 300}


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def timed(fn: Callable[[], Any], runs: int, warmup: int = 2) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return {
        "runs": runs,
        "p50_ms": round(p(samples, 0.5), 1),
        "p95_ms": round(p(samples, 0.95), 1),
        "max_ms": round(max(samples), 1),
    }


# --- databases ------------------------------------------------------------------------


def create_database(backend: str, pg_url: str, keep: bool) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="fieldscope-bench-"))
        url = f"sqlite:///{folder / 'bench.db'}"

        def drop_sqlite() -> None:
            if not keep:
                for f in folder.iterdir():
                    f.unlink()
                folder.rmdir()

        return url, drop_sqlite
    name = f"fieldscope_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)

    def drop_pg() -> None:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop_pg


def find_study(engine: Engine) -> uuid.UUID:
    from fieldscope.studies.models import Study

    with engine.connect() as conn:
        found = conn.execute(
            select(col(Study.id)).where(col(Study.slug) == "national")
        ).scalar_one()
    return uuid.UUID(str(found))


def table_counts(engine: Engine) -> dict[str, int]:
    names = ("sites", "meetings", "observation_sessions", "interventions", "participants")
    with engine.connect() as conn:
        return {n: int(conn.execute(text(f"SELECT count(*) FROM {n}")).scalar_one()) for n in names}


# --- the export, in a subprocess ------------------------------------------------------


def export_child(url: str, study_id: str) -> None:
    """Stream the interventions CSV to nowhere; print rows, bytes, seconds and peak RSS."""
    from fieldscope.db import make_engine
    from fieldscope.exports.queries import read_snapshot
    from fieldscope.exports.tidy import iter_interventions_csv

    engine = make_engine(url)
    began = time.perf_counter()
    size = lines = 0
    with open(os.devnull, "wb") as sink, read_snapshot(engine) as session:
        for chunk in iter_interventions_csv(session, uuid.UUID(study_id)):
            sink.write(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - began
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    print(
        json.dumps(
            {
                "rows": lines - 1,  # minus the header; quoted newlines would inflate this
                "bytes": size,
                "seconds": round(seconds, 2),
                "rows_per_second": round((lines - 1) / seconds),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


def run_export(url: str, study_id: uuid.UUID) -> dict[str, Any]:
    try:
        import fieldscope.exports.tidy  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"no streaming interventions export yet ({exc})"}
    out = subprocess.run(
        [sys.executable, __file__, "--export-child", url, str(study_id)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- the HTTP measurements ------------------------------------------------------------


def add_tags(engine: Engine, study_id: uuid.UUID, n: int, seed: int, sessions: int = 10) -> None:
    """`n` new interventions spread over `sessions` random sessions (ten tablets syncing),
    written through the ORM like the API does (change log, audit and coverage hooks)."""
    import random

    from fieldscope.changes import set_actor
    from fieldscope.db import transaction
    from fieldscope.observations.models import Intervention, ObservationSession
    from fieldscope.participants.models import Participant

    rng = random.Random(seed)
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        all_sessions = s.execute(
            select(
                col(ObservationSession.id),
                col(ObservationSession.site_id),
                col(ObservationSession.observer_id),
            ).where(col(ObservationSession.study_id) == study_id)
        ).all()
        people = s.execute(
            select(col(Participant.id), col(Participant.site_id)).where(
                col(Participant.study_id) == study_id, col(Participant.is_clinical_leader).is_(True)
            )
        ).all()
        version = s.execute(text("SELECT id FROM codebook_versions LIMIT 1")).scalar_one()
        chosen = rng.sample(list(all_sessions), sessions)
        for _ in range(n):
            sid, site_id, observer = rng.choice(chosen)
            who = rng.choice([p for p in people if p[1] == site_id] or people)[0]
            s.add(
                Intervention(
                    study_id=study_id,
                    site_id=site_id,
                    observer_id=observer,
                    session_id=sid,
                    participant_id=who,
                    codebook_version_id=uuid.UUID(str(version)),
                    code_key=rng.choice(["analytical_insight", "relational"]),
                    offset_seconds=float(rng.randint(0, 3000)),
                )
            )


def measure(engine: Engine, study_id: uuid.UUID, runs: int) -> dict[str, Any]:
    from fieldscope.app import create_app
    from fieldscope.dashboard import cache

    results: dict[str, Any] = {}
    with TestClient(create_app(engine)) as client:
        token = client.post(
            "/api/v1/auth/login",
            json={"email": "pi@bench.example", "password": PASSWORD, "device_label": "bench"},
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        base = f"/api/v1/studies/{study_id}"
        site = client.get(f"{base}/totals", headers=headers).json()["sites"][0]["site_id"]
        sizes: dict[str, int] = {}

        def get(path: str, **params: Any) -> Callable[[], None]:
            def call() -> None:
                res = client.get(base + path, params=params, headers=headers)
                assert res.status_code == 200, res.text
                sizes[path] = len(res.content)

            return call

        results["totals"] = timed(get("/totals"), runs)
        cache.enabled = False
        # Without derived contribution counts (dropped here, so a rerun measures the same
        # thing), the first matrix request builds them.
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM dashboard_summary_state"))
        results["matrix_level_first_request_builds_counts"] = timed(
            get("/dashboard/contributions/level"), 1, warmup=0
        )
        for dim in ("site", "level", "stage", "participant"):
            results[f"matrix_{dim}_uncached"] = timed(get(f"/dashboard/contributions/{dim}"), runs)
        results["matrix_participant_one_site_uncached"] = timed(
            get("/dashboard/contributions/participant", site_id=site), runs
        )
        after: list[float] = []
        for i in range(max(3, runs // 2)):
            add_tags(engine, study_id, 100, seed=i)
            after.append(timed(get("/dashboard/contributions/participant"), 1, warmup=0)["p50_ms"])
        results["matrix_participant_after_100_new_tags_in_10_sessions"] = {
            "runs": len(after),
            "p50_ms": round(p(after, 0.5), 1),
            "p95_ms": round(p(after, 0.95), 1),
            "max_ms": round(max(after), 1),
        }
        results["matrix_level_one_year_counted"] = timed(
            get("/dashboard/contributions/level", date_from="2023-01-01", date_to="2023-12-31"),
            runs,
        )
        results["matrix_site_all_dates_counted"] = timed(
            get("/dashboard/contributions/site", date_from="2000-01-01"), max(3, runs // 3)
        )
        results["progress_uncached"] = timed(get("/dashboard/progress"), max(3, runs // 3))
        results["participants"] = timed(get("/dashboard/participants"), runs)
        results["quality"] = timed(get("/dashboard/quality"), max(3, runs // 3))
        results["agreement_one_site_uncached"] = timed(
            get("/dashboard/agreement", site_id=site), max(3, runs // 3)
        )
        results["agreement_study_uncached"] = timed(get("/dashboard/agreement"), 2, warmup=0)
        cache.enabled = True
        cache.clear()
        for dim in ("site", "level", "stage", "participant"):
            results[f"matrix_{dim}_cached"] = timed(get(f"/dashboard/contributions/{dim}"), runs)
        results["progress_cached"] = timed(get("/dashboard/progress"), runs)
        results["agreement_study_cached"] = timed(get("/dashboard/agreement"), runs)
        results["response_bytes"] = sizes
    return results


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
        study_id = find_study(engine)
        print(f"[{backend}] {out['rows']}; measuring", flush=True)
        out["load_before"] = [round(x, 2) for x in os.getloadavg()]
        out["http"] = measure(engine, study_id, args.runs)
        print(f"[{backend}] exporting the interventions CSV", flush=True)
        out["export_csv"] = run_export(url, study_id)
        out["load_after"] = [round(x, 2) for x in os.getloadavg()]
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
        lines.append(f"load average (1, 5, 15 min) {r['load_before']} -> {r['load_after']}")
        if "generate_seconds" in r:
            lines.append(f"generated in {r['generate_seconds']} s")
        for name, t in r["http"].items():
            if name == "response_bytes":
                continue
            lines.append(
                f"{name:36} p50 {t['p50_ms']:>8} ms  p95 {t['p95_ms']:>8} ms  (n={t['runs']})"
            )
        lines.append(f"{'export_csv':36} {r['export_csv']}")
    return "\n".join(lines)


def _import_app_now() -> None:
    """Import every route module before the long data generation, so a run measures the
    code as it was when it started."""
    from importlib import import_module

    from fieldscope.app import DOMAINS

    for name in DOMAINS:
        if (Path(import_module("fieldscope").__file__ or "").parent / name / "routes.py").is_file():
            import_module(f"fieldscope.{name}.routes")
    import_module("fieldscope.exports.tidy")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--export-child":
        export_child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description="fieldscope national-scale benchmark")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 interventions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per measurement")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="an admin URL of the server")
    parser.add_argument("--url", help="benchmark this already generated database instead")
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    _import_app_now()
    backends = [b for b in args.backends.split(",") if b]
    if args.url:
        backends = ["postgresql" if args.url.startswith("postgresql") else "sqlite"]
    results = [bench(b, args) for b in backends]
    meta = {
        "scale": args.scale,
        "seed": args.seed,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "targets": TARGETS,
    }
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
