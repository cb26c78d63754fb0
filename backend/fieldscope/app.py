"""The FastAPI application: routers per domain, one error format, the PWA at /."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine

from fieldscope import __version__
from fieldscope.checkpoint import Checkpointer
from fieldscope.db import get_engine
from fieldscope.errors import install_error_handlers
from fieldscope.settings import get_settings

API_PREFIX = "/api/v1"

# Each domain package exposes `router` in its routes module; order sets the docs' order.
DOMAINS = [
    "auth",
    "studies",
    "participants",
    "meetings",
    "codebook",
    "observations",
    "totals",
    "audit",
    "sync",
    "exports",
    "dashboard",
]


def operation_id(route: APIRoute) -> str:
    """Stable operation ids (`tag-function_name`) so generated clients do not churn."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}"


_heap_settled = False


def settle_heap() -> None:
    """Once per process, after start-up: move what is alive then (modules, models, routes;
    ~150k objects) out of the garbage collector's sight. Otherwise every full collection
    walks them all, and the request it lands in waits 100-250 ms on this machine."""
    global _heap_settled
    if not _heap_settled:
        _heap_settled = True
        gc.collect()
        gc.freeze()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    checkpointer = Checkpointer.start_for(
        app.state.engine, get_settings().sqlite_checkpoint_seconds
    )
    app.state.checkpointer = checkpointer
    settle_heap()
    try:
        yield
    finally:
        if checkpointer is not None:
            checkpointer.stop()


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="fieldscope",
        version=__version__,
        summary="Observe clinical leadership in integrated care governance.",
        generate_unique_id_function=operation_id,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.engine = engine or get_engine()
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)

    @api.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for name in DOMAINS:
        if (Path(__file__).parent / name / "routes.py").is_file():
            api.include_router(import_module(f"fieldscope.{name}.routes").router)
    app.include_router(api)
    _mount_pwa(app)
    return app


def _mount_pwa(app: FastAPI) -> None:
    from fieldscope.web import mount_static

    static = get_settings().static_dir or Path(__file__).parent / "static"
    mount_static(app, static)
