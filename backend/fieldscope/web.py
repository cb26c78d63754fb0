"""Serve the built PWA at /, after every API route: SPA fallback, cache headers, SW scope."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from fieldscope.errors import AppError

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")

_PLACEHOLDER = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>fieldscope</title><body><h1>fieldscope</h1>
<p>The API is running at <a href="/api/v1/docs">/api/v1/docs</a>.
The web app has not been built: run <code>./dev serve</code>.</p></body></html>"""

# Hashed file names never change content: cache them for a year. Everything else (the shell,
# the service worker, the manifest, icons) revalidates so a new release is seen at once.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
ASSET_SUFFIXES = {".js", ".css", ".map", ".png", ".svg", ".webmanifest"}
SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def headers_for(relative: str) -> dict[str, str]:
    headers = dict(SECURITY)
    if relative.startswith("assets/"):
        headers["Cache-Control"] = IMMUTABLE
    else:
        headers["Cache-Control"] = REVALIDATE
    if relative == "sw.js":
        # The worker controls the whole origin, including deep links like /#/sessions/...
        headers["Service-Worker-Allowed"] = "/"
    return headers


def mount_static(app: FastAPI, root: Path) -> None:
    root = root.resolve()

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def pwa(path: str) -> Response:
        if path == "api" or path.startswith("api/"):
            raise AppError(404, "not_found", f"No API route at /{path}.")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(_PLACEHOLDER, headers={"Cache-Control": REVALIDATE})
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            relative = candidate.relative_to(root).as_posix()
            return FileResponse(candidate, headers=headers_for(relative))
        if path.startswith("assets/") or Path(path).suffix in ASSET_SUFFIXES:
            # A missing asset is a 404, never the HTML shell (a page would choke on it).
            raise AppError(404, "not_found", f"No file at /{path}.")
        return FileResponse(index, headers=headers_for("index.html"))
