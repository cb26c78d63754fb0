"""Serve the built PWA at / with an SPA fallback, after every API route."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from fieldscope.errors import AppError

_PLACEHOLDER = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>fieldscope</title><body><h1>fieldscope</h1>
<p>The API is running at <a href="/api/v1/docs">/api/v1/docs</a>.
The web app has not been built: run <code>./dev serve</code>.</p></body></html>"""


def mount_static(app: FastAPI, root: Path) -> None:
    root = root.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    def pwa(path: str) -> Response:
        if path.startswith("api/"):
            raise AppError(404, "not_found", f"No API route at /{path}.")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(_PLACEHOLDER)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            # Hashed assets never change; the shell and service worker always revalidate.
            immutable = candidate.parent.name == "assets"
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
