"""A national-scale synthetic study for benchmarks: fast, deterministic, bulk inserts via Core.

At scale 1.0: 42 sites, 20,000 meetings, ~25,000 observation sessions (a quarter of the
meetings co-observed by a second fieldworker), ~1,000,000 interventions. Everything is
synthetic. Rows go in through SQLAlchemy Core `insert()` executemany in chunks (no ORM
objects, so the change-log hook does not run: a benchmark database is not a synced one).

Usage from other scripts: `generate(engine, scale=0.01, seed=7)`; or standalone:
    uv run python scripts/scale_data.py --url sqlite:////tmp/scale.db --scale 0.01
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Table, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import fieldscope.models  # noqa: F401  (registers every table with its portable enum types)
from fieldscope.auth.service import hash_password
from fieldscope.codebook.default import CONTRIBUTIONS
from fieldscope.codebook.service import seed_default_codebook
from fieldscope.common.models import metadata
from fieldscope.db import transaction
from fieldscope.totals.coverage import rebuild

SITES = 42
MEETINGS = 20_000
CO_OBSERVED_SHARE = 0.25  # 5,000 of 20,000 meetings get a second observer: 25,000 sessions
TAGS_PER_SESSION = 40  # mean; 25,000 sessions x 40 = 1,000,000 interventions
START = datetime(2022, 1, 3, tzinfo=UTC)  # a Monday
WEEKS = 156
PASSWORD = "bench-password-1"
LEVELS = ("executive", "thematic", "project")
LEVEL_WEIGHTS = (0.2, 0.35, 0.45)
CLINICAL_LEADERS_PER_LEVEL = {"executive": 2, "thematic": 3, "project": 5}
NON_CLINICAL_PER_SITE = 15
CHUNK_MEETINGS = 500


def table(name: str) -> Table:
    return metadata.tables[name]


def uuid7_at(moment: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 for `moment` with random bits from `rng`: time-ordered like real ids,
    yet the same for the same seed."""
    ms = int(moment.timestamp() * 1000)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rng.getrandbits(12) << 64
    value |= 0b10 << 62
    value |= rng.getrandbits(62)
    return uuid.UUID(int=value)


def record(rng: random.Random, moment: datetime) -> dict[str, Any]:
    return {
        "id": uuid7_at(moment, rng),
        "version": 1,
        "created_at": moment,
        "updated_at": moment,
        "deleted_at": None,
    }


@dataclass
class Person:
    id: uuid.UUID
    level: str | None
    clinical: bool


@dataclass
class SiteInfo:
    id: uuid.UUID
    code: str
    fieldworkers: list[uuid.UUID]
    people: list[Person] = field(default_factory=list)


@dataclass
class Generated:
    study_id: uuid.UUID
    slug: str
    site_ids: list[uuid.UUID]
    pi_id: uuid.UUID
    analyst_id: uuid.UUID
    counts: dict[str, int]
    seconds: float


@cache
def _defaults(name: str) -> dict[str, Any]:
    """Python-side defaults of a table's model (Core does not apply them): rows made here
    stay valid when someone adds a column with a default to a model."""
    model = next(
        m.class_
        for m in SQLModel._sa_registry.mappers
        if getattr(m.local_table, "name", None) == name
    )
    out: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        if info.default_factory is not None:
            continue  # ids and timestamps: always given explicitly here
        if info.default is not PydanticUndefined:
            out[key] = info.default
    return out


def _insert(conn: Connection, name: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        base = _defaults(name)
        conn.execute(table(name).insert(), [{**base, **row} for row in rows])


def _people(
    conn: Connection, rng: random.Random, study_id: uuid.UUID, n_sites: int
) -> tuple[list[SiteInfo], uuid.UUID, uuid.UUID, int]:
    pw = hash_password(PASSWORD)  # one argon2 hash for every account: hashing is slow
    users: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []

    def user(email: str, name: str, role: str) -> uuid.UUID:
        uid = uuid7_at(START, rng)
        users.append(
            {
                "id": uid,
                "email": email,
                "display_name": name,
                "password_hash": pw,
                "is_admin": False,
                "is_active": True,
                "created_at": START,
            }
        )
        members.append(
            {
                "id": uuid7_at(START, rng),
                "user_id": uid,
                "study_id": study_id,
                "role": role,
                "created_at": START,
            }
        )
        return uid

    pi = user("pi@bench.example", "Bench PI", "pi")
    analyst = user("analyst@bench.example", "Bench analyst", "analyst")
    sites: list[SiteInfo] = []
    site_rows: list[dict[str, Any]] = []
    participants: list[dict[str, Any]] = []
    for n in range(1, n_sites + 1):
        code = f"S{n:02d}"
        fws = [
            user(f"fw{n:02d}{k}@bench.example", f"Fieldworker {code}{k}", "fieldworker")
            for k in "ab"
        ]
        site = SiteInfo(uuid7_at(START, rng), code, fws)
        sites.append(site)
        site_rows.append(
            {
                **record(rng, START),
                "id": site.id,
                "study_id": study_id,
                "code": code,
                "name": f"Synthetic ICS {code}",
                "target_hours": 900.0,
                "target_meetings": 500,
            }
        )
        roles: list[tuple[str | None, bool]] = [
            (lv, True) for lv, k in CLINICAL_LEADERS_PER_LEVEL.items() for _ in range(k)
        ]
        roles += [(rng.choice(LEVELS), False) for _ in range(NON_CLINICAL_PER_SITE)]
        for i, (level, clinical) in enumerate(roles, start=1):
            roll = rng.random()
            consent = "withdrawn" if roll < 0.01 else "declined" if roll < 0.015 else "consented"
            prefix = (level or "xx")[:2].upper() if clinical else "NC"
            person = Person(uuid7_at(START, rng), level, clinical)
            site.people.append(person)
            participants.append(
                {
                    **record(rng, START),
                    "id": person.id,
                    "study_id": study_id,
                    "site_id": site.id,
                    "code": f"{code}-{prefix}-{i:02d}",
                    "role_title": "Clinical lead" if clinical else "Programme manager",
                    "level": level,
                    "background": "medicine" if clinical else "non_clinical",
                    "is_clinical_leader": clinical,
                    "consent": consent,
                    "consent_date": START.date(),
                    "real_name": None,
                    "pending_review": rng.random() < 0.01,
                }
            )
    _insert(conn, "users", users)
    _insert(conn, "memberships", members)
    _insert(conn, "sites", site_rows)
    _insert(conn, "participants", participants)
    clients = [
        {
            "client_id": uuid.UUID(int=rng.getrandbits(128)),
            "user_id": u["id"],
            "last_seq": 0,
            "created_at": START,
            "last_push_at": START + timedelta(weeks=WEEKS - rng.randint(0, 4)),
            "last_pull_at": START + timedelta(weeks=WEEKS - rng.randint(0, 4)),
            "last_clock_skew_seconds": rng.choice([0.4, -1.2, 2.0, 0.0, 900.0, -86400.0]),
            "user_agent": "bench tablet",
        }
        for u in users[2:]
    ]
    _insert(conn, "sync_clients", clients)
    return sites, pi, analyst, len(participants)


CODES = [(key, [f for f, _ in forms]) for key, _, _, _, forms in CONTRIBUTIONS]
CODE_WEIGHTS = (0.35, 0.25, 0.2, 0.2)


def _pick_code(rng: random.Random) -> tuple[str, str | None]:
    key, forms = rng.choices(CODES, weights=CODE_WEIGHTS)[0]
    return key, (rng.choice(forms) if rng.random() < 0.5 else None)


def _meetings(
    rng: random.Random, study_id: uuid.UUID, sites: list[SiteInfo], n_meetings: int
) -> Iterator[tuple[dict[str, Any], SiteInfo]]:
    for _ in range(n_meetings):
        site = rng.choice(sites)
        day = START + timedelta(weeks=rng.randrange(WEEKS), days=rng.randrange(5))
        start = day + timedelta(hours=rng.randint(8, 16), minutes=rng.choice((0, 15, 30, 45)))
        level = rng.choices(LEVELS, weights=LEVEL_WEIGHTS)[0]
        yield (
            {
                **record(rng, start - timedelta(days=7)),
                "study_id": study_id,
                "site_id": site.id,
                "level": level,
                "title": f"{level.title()} board {site.code}",
                "theme": rng.choice(("maternity", "mental health", "urgent care", "primary care")),
                "scheduled_start": start,
                "location": "Synthetic room",
                "stage_of_change": rng.choice(("strategy", "delivery", None)),
                "created_by": None,
            },
            site,
        )


def _session(
    rng: random.Random,
    meeting: dict[str, Any],
    observer: uuid.UUID,
    start: datetime,
    minutes: float,
) -> dict[str, Any]:
    end: datetime | None = start + timedelta(minutes=minutes)
    pauses: list[dict[str, str | None]] = []
    paused = 0.0
    if rng.random() < 0.05:
        p_start = start + timedelta(minutes=minutes / 2)
        p_len = rng.randint(5, 15) * 60
        pauses.append(
            {"start": p_start.isoformat(), "end": (p_start + timedelta(seconds=p_len)).isoformat()}
        )
        paused = float(p_len)
    roll = rng.random()
    if roll < 0.003:
        end = None  # never ended: a data-quality finding
    elif roll < 0.005:
        end = start + timedelta(hours=7, minutes=rng.randint(0, 60))  # implausibly long
    duration = None if end is None else (end - start).total_seconds() - paused
    return {
        **record(rng, start),
        "study_id": meeting["study_id"],
        "site_id": meeting["site_id"],
        "observer_id": observer,
        "needs_review": False,
        "meeting_id": meeting["id"],
        "started_at": start,
        "ended_at": end,
        "pauses": pauses,
        "retrospective": False,
        "duration_seconds": duration,
        "device_started_at": start,
    }


def _tag(
    rng: random.Random,
    session: dict[str, Any],
    participant: uuid.UUID,
    code: tuple[str, str | None],
    offset: float,
    version_id: uuid.UUID,
) -> dict[str, Any]:
    at = session["started_at"] + timedelta(seconds=offset)
    return {
        **record(rng, at),
        "study_id": session["study_id"],
        "site_id": session["site_id"],
        "observer_id": session["observer_id"],
        "needs_review": False,
        "session_id": session["id"],
        "participant_id": participant,
        "codebook_version_id": version_id,
        "code_key": code[0],
        "form_key": code[1],
        "offset_seconds": offset,
        "device_time": at,
        "quote": "Synthetic quote: we should bring the clinical evidence to the board.",
        "note": "",
        "agenda_item": "Item 3",
        "code_retired": False,
    }


def generate(
    engine: Engine, *, scale: float = 1.0, seed: int = 7, slug: str = "national", log: bool = True
) -> Generated:
    """Create one national-scale study in an empty, migrated database."""
    began = time.perf_counter()
    rng = random.Random(seed)
    n_meetings = max(1, round(MEETINGS * scale))
    with transaction(engine) as s:
        study_id = uuid7_at(START, rng)
        s.connection().execute(
            table("studies").insert(),
            [
                {
                    **record(rng, START),
                    "id": study_id,
                    "name": "National synthetic study (benchmark data)",
                    "slug": slug,
                    "description": "Synthetic data for scale benchmarks. Not real people.",
                    "ethics_reference": "",
                    "starts_on": START.date(),
                    "ends_on": None,
                }
            ],
        )
        version_id = seed_default_codebook(s, study_id).id
        sites, pi, analyst, n_participants = _people(s.connection(), rng, study_id, SITES)
    counts = {
        "sites": len(sites),
        "participants": n_participants,
        "meetings": 0,
        "sessions": 0,
        "interventions": 0,
        "attendees": 0,
    }
    chunk: dict[str, list[dict[str, Any]]] = {
        "meetings": [],
        "meeting_attendees": [],
        "observation_sessions": [],
        "interventions": [],
    }

    def flush() -> None:
        with engine.begin() as conn:
            for name, rows in chunk.items():
                _insert(conn, name, rows)
                counts[name.removeprefix("observation_").removeprefix("meeting_")] += len(rows)
                rows.clear()
        if log:
            print(
                f"  {counts['interventions']:>9,} interventions, {counts['meetings']:,} meetings",
                flush=True,
            )

    for meeting, site in _meetings(rng, study_id, sites, n_meetings):
        chunk["meetings"].append(meeting)
        level = meeting["level"]
        leaders = [p for p in site.people if p.clinical and p.level == level]
        others = [p for p in site.people if p.clinical and p.level != level]
        attendees = leaders + rng.sample(others, k=min(len(others), 2))
        attendees += rng.sample([p for p in site.people if not p.clinical], k=4)
        for person in attendees:
            chunk["meeting_attendees"].append(
                {
                    **record(rng, meeting["created_at"]),
                    "study_id": study_id,
                    "meeting_id": meeting["id"],
                    "participant_id": person.id,
                }
            )
        speakers = [p.id for p in attendees if p.clinical]
        minutes = rng.triangular(45, 180, 90)
        start = meeting["scheduled_start"] + timedelta(minutes=rng.randint(0, 10))
        first_obs, second_obs = rng.sample(site.fieldworkers, 2)
        primary = _session(rng, meeting, first_obs, start, minutes)
        chunk["observation_sessions"].append(primary)
        span = (minutes - 1) * 60
        n_tags = rng.randint(TAGS_PER_SESSION // 2, TAGS_PER_SESSION * 3 // 2)
        tags = [
            (rng.choice(speakers), _pick_code(rng), round(rng.uniform(0, span), 1))
            for _ in range(n_tags)
        ]
        for who, code, offset in tags:
            chunk["interventions"].append(_tag(rng, primary, who, code, offset, version_id))
        if rng.random() < CO_OBSERVED_SHARE:
            lag = rng.randint(-120, 300)
            second = _session(
                rng, meeting, second_obs, start + timedelta(seconds=lag), minutes - lag / 60
            )
            chunk["observation_sessions"].append(second)
            # The second observer sees the same interventions, a few seconds apart, mostly
            # coded alike; misses some and adds some: material for inter-rater agreement.
            for who, code, offset in tags:
                if rng.random() < 0.08:
                    continue
                mine = code if rng.random() < 0.8 else _pick_code(rng)
                moved = max(0.0, offset - lag + rng.uniform(-12, 12))
                chunk["interventions"].append(_tag(rng, second, who, mine, moved, version_id))
            for _ in range(n_tags // 12):
                extra = (rng.choice(speakers), _pick_code(rng), round(rng.uniform(0, span), 1))
                chunk["interventions"].append(_tag(rng, second, *extra, version_id))
        if len(chunk["meetings"]) >= CHUNK_MEETINGS:
            flush()
    flush()
    # Core inserts bypass the ORM hook that keeps the totals' per-meeting coverage.
    with engine.begin() as conn:
        rebuild(conn, study_id)
    if engine.dialect.name == "postgresql":
        # Index-only scans need the visibility map that autovacuum would set by itself.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return Generated(
        study_id, slug, [s.id for s in sites], pi, analyst, counts, time.perf_counter() - began
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of an empty database")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from fieldscope.db import make_engine
    from fieldscope.migrate import upgrade

    engine = make_engine(args.url)
    upgrade(engine)
    out = generate(engine, scale=args.scale, seed=args.seed)
    print(f"generated {out.counts} in {out.seconds:.1f} s")


if __name__ == "__main__":
    main()
