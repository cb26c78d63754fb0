#!/usr/bin/env python3
"""Benchmark sync: push ingest vs a raw bulk insert, pull throughput, 100 devices at once.

Rerunnable, not a test. Each run builds a fresh database per backend, so numbers from one
run are comparable with each other. Results: docs/bench-sync.md.

    uv run python scripts/bench_sync.py                      # SQLite and PostgreSQL
    uv run python scripts/bench_sync.py --backend sqlite --pull 20000
    FIELDSCOPE_BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        uv run python scripts/bench_sync.py --backend postgresql

1. Push ingest: 10,000 intervention creates in batches of 100 and of 500 through the HTTP
   app (in-process ASGI, httpx), against a raw bulk insert, in one transaction on the same
   database, of the same rows the push wrote (the records with their change-log, audit and
   applied-mutation rows), and of the records alone. After a warm-up, three rounds of push
   then raw insert per batch size; the median round's ratio is reported.
2. Pull: 100,000 changes, 1,000 per page, through the HTTP app: changes per second.
3. 100 devices each push 100 mutations at the same moment to a served app (uvicorn on
   127.0.0.1): errors and p50/p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import Table, create_engine, delete, insert, select, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from fieldscope.app import create_app, settle_heap  # noqa: E402
from fieldscope.audit.models import AuditEvent  # noqa: E402
from fieldscope.auth import service as auth_service  # noqa: E402
from fieldscope.auth.models import Membership, Role  # noqa: E402
from fieldscope.changes import set_actor  # noqa: E402
from fieldscope.codebook.service import seed_default_codebook  # noqa: E402
from fieldscope.common.bulk import executemany, table_insert  # noqa: E402
from fieldscope.common.models import new_id  # noqa: E402
from fieldscope.db import make_engine, transaction  # noqa: E402
from fieldscope.meetings.models import Meeting  # noqa: E402
from fieldscope.migrate import upgrade  # noqa: E402
from fieldscope.observations.models import Intervention, ObservationSession  # noqa: E402
from fieldscope.participants.models import Background, Level, Participant  # noqa: E402
from fieldscope.studies.models import Site, Study  # noqa: E402
from fieldscope.sync.models import AppliedMutation, ChangeLogEntry  # noqa: E402

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DEFAULT_PG = os.environ.get(
    "FIELDSCOPE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- databases and a study ------------------------------------------------------------------


@contextmanager
def database(backend: str, pg_url: str) -> Iterator[str]:
    if backend == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
        try:
            yield f"sqlite:///{tmp / 'bench.db'}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    name = f"bench_sync_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Device:
    token: str
    user_id: uuid.UUID
    session_id: uuid.UUID
    client_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seq: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "content-type": "application/json"}


@dataclass
class World:
    study_id: uuid.UUID
    version_id: uuid.UUID
    participant_id: uuid.UUID
    pi_token: str
    devices: list[Device]


def build_world(engine: Engine, users: int, devices_per_user: int) -> World:
    # Benchmark accounts: cheap hashes (argon2 keeps its parameters in each hash).
    auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        study = Study(name="Bench study", slug=f"bench-{uuid.uuid4().hex[:6]}")
        s.add(study)
        s.flush()
        site = Site(study_id=study.id, code="A", name="Site A", target_hours=20, target_meetings=10)
        s.add(site)
        s.flush()
        person = Participant(
            study_id=study.id,
            site_id=site.id,
            code="A-EX-01",
            level=Level.executive,
            background=Background.medicine,
            is_clinical_leader=True,
        )
        s.add(person)
        version = seed_default_codebook(s, study.id)
        meeting = Meeting(study_id=study.id, site_id=site.id, level=Level.executive, title="Board")
        s.add(meeting)
        pi = auth_service.create_user(s, "pi@bench.example", "bench password 1")
        s.add(Membership(user_id=pi.id, study_id=study.id, role=Role.pi))
        pi_token, _ = auth_service.issue_token(s, pi, "bench")
        s.flush()
        devices = []
        for u in range(users):
            user = auth_service.create_user(s, f"fw{u}@bench.example", "bench password 1")
            s.add(Membership(user_id=user.id, study_id=study.id, role=Role.fieldworker))
            s.flush()
            for _ in range(devices_per_user):
                token, _ = auth_service.issue_token(s, user, "bench device")
                obs = ObservationSession(
                    study_id=study.id,
                    site_id=site.id,
                    observer_id=user.id,
                    meeting_id=meeting.id,
                    started_at=T0,
                    ended_at=T0 + timedelta(hours=3),
                    duration_seconds=3 * 3600.0,
                )
                s.add(obs)
                devices.append(Device(token, user.id, obs.id))
        s.flush()
        return World(study.id, version.id, person.id, pi_token, devices)


def mutations(world: World, dev: Device, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        dev.seq += 1
        out.append(
            {
                "mutation_id": str(uuid.uuid4()),
                "client_seq": dev.seq,
                "entity": "intervention",
                "op": "upsert",
                "record_id": str(new_id()),
                "base_version": None,
                "fields": {
                    "session_id": str(dev.session_id),
                    "participant_id": str(world.participant_id),
                    "codebook_version_id": str(world.version_id),
                    "code_key": "relational",
                    "form_key": "brokering",
                    "offset_seconds": float(dev.seq % 10000),
                    "quote": f"We should bring the GPs into this early, item {dev.seq}.",
                    "note": "Synthetic benchmark data.",
                },
                "device_time": iso(T0 + timedelta(seconds=dev.seq)),
            }
        )
    return out


def body(dev: Device, batch: list[dict[str, Any]]) -> bytes:
    payload = {"protocol": 1, "client_id": str(dev.client_id), "device_time": iso(T0)}
    return json.dumps({**payload, "mutations": batch}).encode()


# --- 1. push ingest against a raw bulk insert -------------------------------------------------

_TABLES: list[Table] = [
    Intervention.__table__,  # type: ignore[attr-defined]
    ChangeLogEntry.__table__,  # type: ignore[attr-defined]
    AuditEvent.__table__,  # type: ignore[attr-defined]
    AppliedMutation.__table__,  # type: ignore[attr-defined]
]


def _rows_since(
    engine: Engine, cursor: int, client_id: uuid.UUID
) -> dict[Table, list[dict[str, Any]]]:
    """The rows one push run wrote, read back as plain values."""
    iv, log, audit, applied = _TABLES
    with engine.connect() as conn:
        log_rows = [
            dict(r._mapping) for r in conn.execute(select(log).where(log.c.cursor > cursor))
        ]
        ids = [r["record_id"] for r in log_rows]
        out: dict[Table, list[dict[str, Any]]] = {log: log_rows}
        out[iv] = []
        for i in range(0, len(ids), 500):
            out[iv] += [
                dict(r._mapping)
                for r in conn.execute(select(iv).where(iv.c.id.in_(ids[i : i + 500])))
            ]
        out[audit] = []
        for i in range(0, len(ids), 500):
            chunk = conn.execute(select(audit).where(audit.c.entity_id.in_(ids[i : i + 500])))
            out[audit] += [dict(r._mapping) for r in chunk]
        out[applied] = [
            dict(r._mapping)
            for r in conn.execute(select(applied).where(applied.c.client_id == client_id))
        ]
    return out


def raw_insert(
    engine: Engine, rows: dict[Table, list[dict[str, Any]]], tables: list[Table], how: str = "core"
) -> float:
    """Delete the rows (untimed), then time inserting them back in one transaction.

    how: "core" (Core executemany), "driver" (`common.bulk.executemany`, the push's own
    inserts: the driver's executemany with Core's bind processors), "copy" (PostgreSQL COPY
    of the processed values: the floor for writing these rows at all)."""
    iv, log, audit, applied = _TABLES
    keys = {
        iv: ("id", [r["id"] for r in rows[iv]]),
        log: ("cursor", [r["cursor"] for r in rows[log]]),
        audit: ("id", [r["id"] for r in rows[audit]]),
        applied: ("mutation_id", [r["mutation_id"] for r in rows[applied]]),
    }
    with engine.begin() as conn:
        for table in tables:
            column, values = keys[table]
            for i in range(0, len(values), 500):
                conn.execute(delete(table).where(table.c[column].in_(values[i : i + 500])))
    started = time.perf_counter()
    with engine.begin() as conn:
        for table in tables:
            if how == "core":
                conn.execute(insert(table), rows[table])
            elif how == "driver":
                executemany(conn, table_insert(table), rows[table])
            else:
                _copy(conn, table, rows[table])
    return time.perf_counter() - started


def _copy(conn: Any, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY FROM STDIN of the values Core would bind (PostgreSQL only)."""
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=keys)
    procs: list[Any] = [compiled._bind_processors.get(k) for k in keys]
    cols = ", ".join(f'"{k}"' for k in keys)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    (json.dumps(v) if isinstance(v, dict | list) else v) if p is None else p(v)
                    for v, p in zip(row.values(), procs, strict=True)
                ]
            )


class AsgiClient:
    """The HTTP app in-process: httpx over ASGI on one event loop, as uvicorn runs it
    (sync routes and dependencies in anyio's thread pool). Starlette's TestClient adds a
    thread hand-off per request on top (~2.6 ms of a push of 100's ~35 ms here) that no
    served app has."""

    def __init__(self, engine: Engine) -> None:
        self.loop = asyncio.new_event_loop()
        app = create_app(engine)
        settle_heap()  # what the served app's start-up does (ASGITransport runs no lifespan)
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://bench")

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.post(path, **kw))

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.get(path, **kw))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@contextmanager
def asgi_client(engine: Engine) -> Iterator[AsgiClient]:
    http = AsgiClient(engine)
    try:
        yield http
    finally:
        http.close()


def warm_up(engine: Engine, world: World) -> None:
    """A live server's state before the timed pushes: 1,000 interventions pushed and, on
    PostgreSQL, the statistics autovacuum would gather within a minute. Without them the
    driver's prepared statements keep plans made for empty tables: the push's preload then
    scans every intervention (7 ms of a 45 ms push of 100 once the table holds 10,000)."""
    dev = world.devices[-1]
    with asgi_client(engine) as http:
        for _ in range(10):
            res = http.post(
                "/api/v1/sync/push",
                content=body(dev, mutations(world, dev, 100)),
                headers=dev.headers,
            )
            assert res.status_code == 200, res.text
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def bench_ingest(
    engine: Engine, world: World, total: int, batch: int, rounds: int
) -> dict[str, Any]:
    """`rounds` rounds, each a push of `total` mutations then a raw insert of the rows it
    wrote: a round's two timings sit seconds apart, so the machine's drift (one raw insert
    ranged 1.1-1.7 s in a run) moves both. The median round's ratio is the result."""
    with asgi_client(engine) as http:
        runs = [_ingest(engine, http, world, total, batch) for _ in range(rounds)]
    for r in runs:
        r["ratio_all"] = r["raw_all_s"] / r["push_s"]
        r["ratio_records"] = r["raw_records_s"] / r["push_s"]
    result = dict(sorted(runs, key=itemgetter("ratio_all"))[len(runs) // 2])
    result["rounds"] = [{k: r[k] for k in ("push_s", "raw_all_s", "ratio_all")} for r in runs]
    return result


def _ingest(
    engine: Engine, http: AsgiClient, world: World, total: int, batch: int
) -> dict[str, Any]:
    dev = world.devices[0]
    dev.client_id, dev.seq = uuid.uuid4(), 0
    pushes = max(1, total // batch)
    total = pushes * batch
    bodies = [body(dev, mutations(world, dev, batch)) for _ in range(pushes)]
    with engine.connect() as conn:
        cursor = int(conn.execute(text("SELECT value FROM change_cursor")).scalar_one())
    started = time.perf_counter()
    for b in bodies:
        res = http.post("/api/v1/sync/push", content=b, headers=dev.headers)
        assert res.status_code == 200, res.text
        assert all(r["outcome"] == "applied" for r in res.json()["results"]), res.text[:500]
    push_s = time.perf_counter() - started
    rows = _rows_since(engine, cursor, dev.client_id)
    assert len(rows[_TABLES[0]]) == total and len(rows[_TABLES[1]]) == total
    raw_all = raw_insert(engine, rows, _TABLES)
    raw_records = raw_insert(engine, rows, _TABLES[:1])
    floors = {"driver": raw_insert(engine, rows, _TABLES, "driver")}
    if engine.dialect.name == "postgresql":
        floors["copy"] = raw_insert(engine, rows, _TABLES, "copy")
    return {
        "floors_s": floors,
        "batch": batch,
        "push_s": push_s,
        "push_per_s": total / push_s,
        "raw_all_s": raw_all,
        "raw_records_s": raw_records,
    }


# --- 2. pull ----------------------------------------------------------------------------------


def fill_change_log(engine: Engine, world: World, want: int) -> None:
    """Top the change log up to `want` changes with copies of real intervention snapshots."""
    log = _TABLES[1]
    with engine.begin() as conn:
        have = int(conn.execute(text("SELECT count(*) FROM change_log")).scalar_one())
        template = dict(
            conn.execute(select(log).where(log.c.entity == "intervention").limit(1)).one()._mapping
        )
        last = int(conn.execute(text("SELECT value FROM change_cursor")).scalar_one())
        rows = []
        for i in range(want - have):
            rid = new_id()
            data = {**template["data"], "id": str(rid), "quote": f"Copied quote number {i}."}
            rows.append({**template, "cursor": last + 1 + i, "record_id": rid, "data": data})
            if len(rows) == 5000:
                conn.execute(insert(log), rows)
                rows = []
        if rows:
            conn.execute(insert(log), rows)
        conn.execute(text("UPDATE change_cursor SET value = :v"), {"v": last + want - have})


def _pull_all(get: Any, token: str) -> dict[str, Any]:
    """Pull everything, 1,000 per page, parsing each page as a device would."""
    headers = {"Authorization": f"Bearer {token}"}
    get("/api/v1/sync/pull", params={"cursor": 0, "limit": 10}, headers=headers)  # warm up
    cursor, changes, pages, size, parse_s = 0, 0, 0, 0, 0.0
    started = time.perf_counter()
    while True:
        res = get("/api/v1/sync/pull", params={"cursor": cursor, "limit": 1000}, headers=headers)
        t = time.perf_counter()
        page = res.json()
        parse_s += time.perf_counter() - t
        changes += len(page["changes"])
        size += len(res.content)
        pages += 1
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    elapsed = time.perf_counter() - started
    return {
        "changes": changes,
        "pages": pages,
        "mb": size / 1e6,
        "seconds": elapsed,
        "per_s": changes / elapsed,
        "server_per_s": changes / (elapsed - parse_s),
    }


def bench_pull(engine: Engine, url: str, world: World, total: int) -> dict[str, Any]:
    """Through a served app (uvicorn, loopback), as a device pulls; and in-process (ASGI)."""
    fill_change_log(engine, world, total)
    with served(url, 1) as app, httpx.Client(base_url=app.base, timeout=120) as client:
        out = _pull_all(client.get, world.pi_token)
    with asgi_client(engine) as http:
        out["in_process"] = _pull_all(http.get, world.pi_token)
    return out


# --- 3. 100 devices at once against a served app --------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` and its descendants (Linux)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        child = int(entry)
        children.setdefault(int(fields[1]), []).append(child)
        times[child] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


@dataclass
class Served:
    base: str
    pid: int


@contextmanager
def served(url: str, workers: int) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, "FIELDSCOPE_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "backend")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "fieldscope.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # bounded wait for the server to listen
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not start")
        yield Served(base, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _storm(base: str, world: World, per_device: int) -> tuple[list[float], int, float]:
    payloads = []
    for dev in world.devices:
        dev.client_id, dev.seq = uuid.uuid4(), 0
        payloads.append((dev, body(dev, mutations(world, dev, per_device))))
    limits = httpx.Limits(max_connections=len(payloads), max_keepalive_connections=len(payloads))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        await client.get("/api/v1/health")
        # Warm the workers as any running server is: a push route's first request builds
        # FastAPI's per-route state. A push in an old protocol (426) writes nothing.
        old = json.dumps({"protocol": 0, "client_id": str(uuid.uuid4()), "mutations": []})
        headers = world.devices[0].headers
        warm = [client.post("/api/v1/sync/push", content=old, headers=headers) for _ in range(8)]
        assert all(r.status_code == 426 for r in await asyncio.gather(*warm))
        gate = asyncio.Event()

        async def one(dev: Device, payload: bytes) -> tuple[float, bool]:
            await gate.wait()
            t = time.perf_counter()
            res = await client.post("/api/v1/sync/push", content=payload, headers=dev.headers)
            took = time.perf_counter() - t
            ok = res.status_code == 200 and all(
                r["outcome"] == "applied" for r in res.json()["results"]
            )
            return took, ok

        tasks = [asyncio.create_task(one(d, p)) for d, p in payloads]
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        gate.set()
        results = await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
    return [t for t, _ in results], sum(not ok for _, ok in results), wall


def bench_devices(url: str, world: World, per_device: int, workers: int) -> dict[str, Any]:
    with served(url, workers) as app:
        cpu = tree_cpu_seconds(app.pid)
        latencies, errors, wall = asyncio.run(_storm(app.base, world, per_device))
        cpu = tree_cpu_seconds(app.pid) - cpu
    latencies.sort()
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    return {
        "devices": len(latencies),
        "errors": errors,
        "p50": statistics.median(latencies),
        "p99": p99,
        "max": latencies[-1],
        "wall": wall,
        "workers": workers,
        "server_cpu_s": cpu,
    }


# --- the run --------------------------------------------------------------------------------------


def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with database(backend, args.pg_url) as url:
        engine = make_engine(url)
        upgrade(engine)
        world = build_world(engine, users=10, devices_per_user=args.devices // 10)
        out: dict[str, Any] = {"backend": backend}
        warm_up(engine, world)
        out["ingest"] = [
            bench_ingest(engine, world, args.mutations, b, args.rounds)
            for b in (100, 500)
            if "ingest" in args.steps
        ]
        for r in out["ingest"]:
            spread = ", ".join(
                f"{x['push_s']:.2f}/{x['raw_all_s']:.2f} s {100 * x['ratio_all']:.0f}%"
                for x in r["rounds"]
            )
            print(
                f"[{backend}] push {args.mutations} in batches of {r['batch']}: "
                f"{r['push_s']:.2f} s ({r['push_per_s']:.0f}/s); raw insert of the same rows "
                f"{r['raw_all_s']:.2f} s -> {100 * r['ratio_all']:.0f}% of raw (median round; "
                f"push/raw by round: {spread}); records only "
                f"{r['raw_records_s']:.3f} s -> {100 * r['ratio_records']:.0f}%",
                flush=True,
            )
            floors = ", ".join(f"{k} {v:.2f} s" for k, v in r["floors_s"].items())
            print(f"[{backend}]   the same rows at driver level: {floors}", flush=True)
        workers = args.workers or (1 if backend == "sqlite" else 2)
        if "devices" in args.steps:
            out["devices"] = bench_devices(url, world, args.per_device, workers)
            _print_devices(backend, args.per_device, out["devices"])
        if "pull" in args.steps:
            out["pull"] = bench_pull(engine, url, world, args.pull)
            _print_pull(backend, out["pull"])
        engine.dispose()
        return out


def _print_devices(backend: str, per_device: int, d: dict[str, Any]) -> None:
    print(
        f"[{backend}] {d['devices']} devices x {per_device} mutations at once "
        f"({d['workers']} worker(s)): {d['errors']} errors, p50 {d['p50']:.3f} s, "
        f"p99 {d['p99']:.3f} s, all done in {d['wall']:.2f} s; the app's processes used "
        f"{d['server_cpu_s']:.2f} s of CPU",
        flush=True,
    )


def _print_pull(backend: str, pull: dict[str, Any]) -> None:
    for where, p in (("served", pull), ("in-process", pull["in_process"])):
        print(
            f"[{backend}] pull {p['changes']} changes in {p['pages']} pages "
            f"({p['mb']:.0f} MB, {where}): {p['seconds']:.2f} s -> {p['per_s']:.0f} "
            f"changes/s ({p['server_per_s']:.0f}/s without the client's JSON parsing)",
            flush=True,
        )


_STEPS = {"ingest", "devices", "pull"}


def _steps(value: str) -> set[str]:
    steps = set(value.split(","))
    if not steps <= _STEPS:
        raise argparse.ArgumentTypeError(f"unknown step(s): {', '.join(sorted(steps - _STEPS))}")
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="admin URL to create a database")
    parser.add_argument("--mutations", type=int, default=10_000)
    parser.add_argument("--pull", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="push/raw rounds per batch size")
    parser.add_argument(
        "--steps",
        type=_steps,
        default=_STEPS,
        help="comma-separated subset of ingest,devices,pull (default: all three)",
    )
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--per-device", type=int, default=100)
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="uvicorn workers for step 3 (default: 1 for SQLite, whose writers queue in one "
        "process, 2 for PostgreSQL, one per core)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run(b, args) for b in backends]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
