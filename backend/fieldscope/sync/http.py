"""The push route's envelope checks, before FastAPI parses the body.

Order matters to a device: too large (413) before anything is parsed; a protocol the server
does not speak (426) before the body is judged by this version's rules; a malformed
mutation (422) names the mutation, so the device can show which queued change is at fault.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError

from fieldscope.errors import AppError
from fieldscope.sync.limits import MAX_BATCH_BYTES, MAX_BATCH_MUTATIONS, PROTOCOL
from fieldscope.sync.schemas import PushRequest

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _too_large(detail: str) -> AppError:
    return AppError(
        413,
        "batch_too_large",
        f"{detail} Send at most {MAX_BATCH_MUTATIONS} mutations and "
        f"{MAX_BATCH_BYTES // (1024 * 1024)} MiB per push.",
        extra={"max_mutations": MAX_BATCH_MUTATIONS, "max_bytes": MAX_BATCH_BYTES},
    )


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise _too_large(f"This push is {int(declared)} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BATCH_BYTES:
            raise _too_large("This push is larger than the limit.")
        chunks.append(chunk)
    return b"".join(chunks)


def _precheck(raw: Any) -> None:
    if not isinstance(raw, dict):
        raise AppError(422, "malformed_batch", "A push is a JSON object; see the sync protocol.")
    protocol = raw.get("protocol")
    if protocol != PROTOCOL:
        raise AppError(
            426,
            "protocol_mismatch",
            f"This server speaks sync protocol {PROTOCOL}, the app sent {protocol!r}. Update "
            "the app (reload the page); your unsent changes stay on this device.",
            extra={"server_protocol": PROTOCOL},
        )
    mutations = raw.get("mutations")
    if isinstance(mutations, list) and len(mutations) > MAX_BATCH_MUTATIONS:
        raise _too_large(f"This push holds {len(mutations)} mutations.")


def _named(exc: RequestValidationError | ValidationError, raw: dict[str, Any]) -> AppError:
    """A validation error as one 422 naming the first offending mutation."""
    errors = []
    culprit: tuple[int, Any] | None = None
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if p != "body"]
        errors.append(
            {
                "field": ".".join(str(p) for p in loc) or "request",
                "message": str(err.get("msg", "is invalid")).removeprefix("Value error, "),
            }
        )
        if culprit is None and len(loc) >= 2 and loc[0] == "mutations" and isinstance(loc[1], int):
            mutations = raw.get("mutations")
            item = mutations[loc[1]] if isinstance(mutations, list) else None
            culprit = (loc[1], item.get("mutation_id") if isinstance(item, dict) else None)
    first = errors[0] if errors else {"field": "request", "message": "is invalid"}
    if culprit is None:
        detail = f"The push is malformed: {first['field']}: {first['message']}."
        return AppError(422, "malformed_batch", detail + " Nothing was applied.", errors=errors)
    index, mutation_id = culprit
    who = f"Mutation {mutation_id}" if mutation_id else f"Mutation #{index} (no mutation_id)"
    return AppError(
        422,
        "malformed_mutation",
        f"{who} at position {index} is malformed: {first['field']}: {first['message']}. "
        "Nothing was applied.",
        errors=errors,
        extra={"mutation_id": mutation_id, "mutation_index": index},
    )


class PushRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        parse = super().get_route_handler()

        async def handler(request: Request) -> Response:
            body = await _read_body(request)
            try:
                # Parsing JSON text straight into the models is several times faster than
                # json.loads and validating the dicts, as FastAPI would.
                parsed: PushRequest | None = PushRequest.model_validate_json(body)
                failure: ValidationError | None = None
            except ValidationError as exc:
                parsed, failure = None, exc
            if parsed is None or parsed.protocol != PROTOCOL:
                try:
                    raw = json.loads(body)
                except (ValueError, UnicodeDecodeError):
                    raise AppError(
                        422, "malformed_batch", "The push is not valid JSON. Nothing was applied."
                    ) from None
                _precheck(raw)
                if failure is not None:
                    raise _named(failure, raw)
            # FastAPI takes the cached JSON as the body; a model instance is not validated
            # again, so the body parameter receives `parsed` as it is.
            request._body = body
            request._json = parsed
            return await parse(request)

        return handler


# One push at a time per process. Pushes serialise on the change-cursor lock (PostgreSQL)
# or the write lock (SQLite) anyway; letting a hundred into the thread pool at once only
# fills it with threads waiting on the database, and the one push that holds the lock then
# waits for a free thread to finish: every push stalls. Waiting here costs no thread.
_gates: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()


async def push_gate() -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Lock()
    async with gate:
        yield
