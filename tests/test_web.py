"""The built PWA at /: shell fallback for deep links, cache headers, SW scope, real 404s."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fieldscope.errors import install_error_handlers
from fieldscope.web import mount_static


@pytest.fixture
def web(tmp_path: Path) -> TestClient:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>shell</title>")
    (tmp_path / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (tmp_path / "manifest.webmanifest").write_text("{}")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    app = FastAPI()
    install_error_handlers(app)
    mount_static(app, tmp_path)
    return TestClient(app)


def test_shell_for_root_and_deep_links_revalidates(web: TestClient) -> None:
    for path in ("/", "/meetings/123", "/sessions/x/summary"):
        res = web.get(path)
        assert res.status_code == 200
        assert "shell" in res.text
        assert res.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_immutable(web: TestClient) -> None:
    res = web.get("/assets/index-abc123.js")
    assert res.status_code == 200
    assert "immutable" in res.headers["cache-control"]
    assert res.headers["content-type"].startswith("text/javascript")


def test_service_worker_revalidates_and_may_control_the_origin(web: TestClient) -> None:
    res = web.get("/sw.js")
    assert res.headers["cache-control"] == "no-cache"
    assert res.headers["service-worker-allowed"] == "/"
    assert web.head("/sw.js").status_code == 200
    manifest = web.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")


def test_missing_asset_is_404_not_the_shell(web: TestClient) -> None:
    res = web.get("/assets/index-gone.js")
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("application/problem+json")


def test_unknown_api_path_is_a_problem_404(web: TestClient) -> None:
    res = web.get("/api/v1/nope")
    assert res.status_code == 404
    assert res.json()["code"] == "not_found"


def test_traversal_is_refused(web: TestClient) -> None:
    res = web.get("/..%2f..%2fetc/passwd")
    assert "root:" not in res.text


def test_placeholder_without_a_build(tmp_path: Path) -> None:
    app = FastAPI()
    mount_static(app, tmp_path / "missing")
    res = TestClient(app).get("/")
    assert res.status_code == 200
    assert "./dev serve" in res.text
