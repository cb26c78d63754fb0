"""The `fieldscope` command line, on both backends, through its real entry points."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from typer.main import get_command
from typer.testing import CliRunner

from fieldscope.cli import app, settings_markdown
from fieldscope.db import dispose_engines
from fieldscope.settings import Settings
from tests.factories import make_study

runner = CliRunner()
SCRIPT = Path(sys.executable).parent / "fieldscope"


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def cli(engine: Engine) -> Iterator[dict[str, str]]:
    """Environment pointing the CLI at the test database; its engines closed afterwards."""
    yield {"FIELDSCOPE_DATABASE_URL": _url(engine)}
    dispose_engines()


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_demo_then_totals_json(cli: dict[str, str]) -> None:
    code, out = run(cli, "demo")
    assert code == 0, out
    assert "loaded the synthetic demo study 'demo': 28 meetings" in out
    for email in ("demo-pi@", "demo-fw1@", "demo-fw2@", "demo-analyst@"):
        assert email in out
    assert out.count("password: fieldscope-demo") == 4

    code, out = run(cli, "totals", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["study"] == "demo"
    assert body["total"]["meetings"] == 28 and body["total"]["hours"] == 49.0
    sites = {s["code"]: s for s in body["sites"]}
    assert {c: s["hours"] for c, s in sites.items()} == {"A": 22.0, "B": 22.0, "C": 5.0}
    assert sum(s["meetings"] for s in sites.values()) == 28
    assert sites["A"]["target_hours"] == 24.0
    assert set(sites["B"]["levels"]) == {"executive", "thematic", "project"}
    assert {"meetings", "hours"} <= set(sites["B"]["levels"]["project"])
    assert {c: s["clinical_leaders"] for c, s in sites.items()} == {
        "A": {"executive": 2, "thematic": 3, "project": 5, "total": 10},
        "B": {"executive": 1, "thematic": 3, "project": 6, "total": 10},
        "C": {"executive": 1, "thematic": 2, "project": 2, "total": 5},
    }

    code, again = run(cli, "totals", "--study", "demo", "--json")
    assert code == 0 and json.loads(again) == body
    code, table = run(cli, "totals")
    assert code == 0
    assert "demo: Clinical leadership" in table
    lines = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert "12 of 12" in lines["A"] and "22.00 of 24" in lines["A"]
    assert "28 of 32" in lines["all"] and "49.00 of 60" in lines["all"]
    assert "2/3/5 = 10" in lines["A"] and "4/8/13 = 25" in lines["all"]


def test_demo_twice_changes_nothing(cli: dict[str, str]) -> None:
    assert run(cli, "demo")[0] == 0
    code, out = run(cli, "demo", "--password", "a-different-password")
    assert code == 0
    assert "already loaded; nothing changed" in out
    assert "a-different-password" not in out
    assert json.loads(run(cli, "totals", "--json")[1])["total"]["hours"] == 49.0


def test_totals_errors_are_clean(engine: Engine, cli: dict[str, str]) -> None:
    code, out = run(cli, "totals")
    assert code == 1 and "error: There is no study yet" in out
    make_study(engine, "one")
    make_study(engine, "two", sites=("Z",))
    code, out = run(cli, "totals", "--json")
    assert code == 1 and "Several studies exist" in out and "one, two" in out
    code, out = run(cli, "totals", "--study", "nope")
    assert code == 1 and "No study has the slug 'nope'" in out
    code, out = run(cli, "totals", "--study", "two", "--json")
    assert code == 0 and json.loads(out)["sites"][0]["code"] == "Z"


def test_user_create(cli: dict[str, str]) -> None:
    code, out = run(cli, "user", "create", "--email", "Ada@Example.org", "--password", "x" * 12)
    assert code == 0 and "created user ada@example.org" in out
    admin = ["--email", "root@example.org", "--password", "y" * 12, "--admin", "--name", "Root"]
    code, out = run(cli, "user", "create", *admin)
    assert code == 0 and "created administrator root@example.org" in out
    code, out = run(cli, "user", "create", "--email", "ada@example.org", "--password", "z" * 12)
    assert code == 1 and "error: A user with email ada@example.org already exists." in out
    code, out = run(cli, "user", "create", "--email", "new@example.org", "--password", "short")
    assert code == 1 and "error: Passwords need at least" in out
    code, out = run(cli, "user", "create", "--email", "not-an-email", "--password", "w" * 12)
    assert code == 1 and "is not a valid email address" in out
    code, out = run(cli, "user", "create", "--password", "w" * 12)
    assert code != 0 and "--email" in out


def test_db_commands(engine: Engine, cli: dict[str, str]) -> None:
    code, out = run(cli, "db", "upgrade")
    assert code == 0 and "latest revision" in out
    assert run(cli, "demo")[0] == 0
    before = json.loads(run(cli, "totals", "--json")[1])
    code, out = run(cli, "db", "rebuild-totals")
    assert code == 0 and "28 meetings" in out
    assert json.loads(run(cli, "totals", "--json")[1]) == before


def test_unreachable_database_is_one_clean_line() -> None:
    env = {"FIELDSCOPE_DATABASE_URL": "postgresql+psycopg://nobody:secret@127.0.0.1:9/none"}
    for args in (["totals"], ["demo"], ["db", "upgrade"]):
        code, out = run(env, *args)
        assert code == 1
        assert out.startswith("error: database postgresql+psycopg://nobody:***@127.0.0.1:9/none")
        assert "secret" not in out
    dispose_engines()


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in getattr(group, "commands", {}).items():
        yield (*prefix, name), command
        yield from _commands(command, (*prefix, name))


def test_every_command_has_help() -> None:
    commands = dict(_commands(get_command(app)))
    for expected in ("serve", "demo", "totals", "openapi", "db", "user"):
        assert (expected,) in commands
    assert ("db", "upgrade") in commands and ("user", "create") in commands
    for path, command in commands.items():
        assert command.help and len(command.help.strip()) > 15, path
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, path
        first_words = " ".join(command.help.split()[:3])
        assert first_words in " ".join(result.output.split()), (path, result.output)
        if path[0] == "export":
            continue  # its options are the exports' business (tests/exports)
        for param in command.params:
            if param.name != "help" and not getattr(param, "hidden", False):
                assert getattr(param, "help", None), (path, param.name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(env: dict[str, str], port: int) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Uvicorn running" in line or "Application startup complete" in line:
            return proc, lines
    proc.kill()
    pytest.fail("serve did not start:\n" + "".join(lines))


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_serve_prints_a_setup_link_on_an_empty_database(cli: dict[str, str]) -> None:
    port = _free_port()
    proc, lines = _start_server(cli, port)
    try:
        links = [ln.strip() for ln in lines if "/setup?token=" in ln]
        assert len(links) == 1 and links[0].startswith(f"http://127.0.0.1:{port}/setup?token=")
        token = links[0].split("token=", 1)[1]
        base = f"http://127.0.0.1:{port}/api/v1"
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        res = httpx.post(
            f"{base}/auth/setup",
            json={"setup_token": token, "email": "admin@example.org", "password": "p" * 12},
        )
        assert res.status_code == 201, res.text
        assert res.json()["user"]["is_admin"] is True
    finally:
        _stop(proc)
    # With an account in place, no link is printed any more.
    proc, lines = _start_server({**cli, "FIELDSCOPE_BASE_URL": "https://field.example.org"}, port)
    _stop(proc)
    assert not any("setup?token=" in ln for ln in lines)
    assert any("https://field.example.org" in ln for ln in lines)


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    embedded = readme.split("<!-- settings:start -->\n")[1].split("<!-- settings:end -->")[0]
    stale = "README's settings table is stale: paste `uv run fieldscope config --markdown`"
    assert embedded == settings_markdown(), stale
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} needs a description for the README"
        assert f"`FIELDSCOPE_{name.upper()}`" in embedded


def test_config_shows_values_without_passwords() -> None:
    env = {"FIELDSCOPE_DATABASE_URL": "postgresql+psycopg://u:secret@db/x"}
    code, out = run(env, "config")
    assert code == 0
    assert "FIELDSCOPE_DATABASE_URL=postgresql+psycopg://u:***@db/x  (set)" in out
    assert "FIELDSCOPE_TOKEN_TTL_DAYS=7  (default)" in out and "secret" not in out
    code, out = run({"FIELDSCOPE_TOKEN_TTL_DAYS": "soon"}, "config")
    assert code == 1 and "error: invalid setting: FIELDSCOPE_TOKEN_TTL_DAYS" in out
