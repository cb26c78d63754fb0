"""Test harness: every database test runs on SQLite and on PostgreSQL, on a migrated schema.

PostgreSQL: set FIELDSCOPE_TEST_POSTGRES_URL (an admin URL such as
postgresql+psycopg://postgres@127.0.0.1:5432/test). Each pytest run creates its own
database from it and drops it at the end. Without the variable the PostgreSQL half skips,
saying why; with FIELDSCOPE_TEST_REQUIRE_POSTGRES=1 (CI) an unreachable server fails.
FIELDSCOPE_TEST_BACKENDS=sqlite narrows a local run to one backend.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from fieldscope.app import create_app
from fieldscope.db import make_engine
from fieldscope.migrate import upgrade
from tests.factories import World, build_world

PG_URL = os.environ.get("FIELDSCOPE_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("FIELDSCOPE_TEST_REQUIRE_POSTGRES") == "1"
BACKENDS = [
    b for b in os.environ.get("FIELDSCOPE_TEST_BACKENDS", "sqlite,postgresql").split(",") if b
]
_KEEP = ("alembic_version", "change_cursor", "server_state")


def pytest_report_header() -> str:
    where = PG_URL or "not configured (set FIELDSCOPE_TEST_POSTGRES_URL)"
    return f"fieldscope backends: {', '.join(BACKENDS)}; PostgreSQL: {where}"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Production argon2 costs ~0.3 s a hash on this machine; every `world` makes a dozen.
    Hash parameters travel inside each hash, so verification is unaffected."""
    import fieldscope.auth.service as auth

    real = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth._hasher = real


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("FIELDSCOPE_TEST_REQUIRE_POSTGRES=1 but FIELDSCOPE_TEST_POSTGRES_URL unset")
        pytest.skip("PostgreSQL not configured: set FIELDSCOPE_TEST_POSTGRES_URL to run these")
    name = f"fieldscope_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable: {exc}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ]
        doomed = ", ".join(f'"{t}"' for t in tables if t not in _KEEP)
        conn.execute(text(f"TRUNCATE {doomed} RESTART IDENTITY CASCADE"))
        conn.execute(text("UPDATE change_cursor SET value = 0"))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        if "postgres_only" in request.keywords:
            pytest.skip("PostgreSQL-only test")
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "fieldscope.db"
        shutil.copyfile(template, path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("pg_database")
        eng = make_engine(url)
        _truncate_pg(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def world(engine: Engine, client: TestClient) -> World:
    """A study with sites A and B, a PI, two fieldworkers, an analyst and an outsider."""
    return build_world(engine, client)
