"""The one application error type, rendered as RFC 9457 problem+json.

Every 4xx the API returns has the same shape:
``{"type", "title", "status", "detail", "code", "errors"?: [{"field", "message"}]}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("fieldscope")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """A failure a person can act on. Raising it rolls back the request's transaction."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://fieldscope.dev/problems/{self.code}",
            "title": _TITLES.get(self.status, "Request failed"),
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def not_found(what: str) -> AppError:
    return AppError(404, "not_found", f"{what} was not found.")


def forbidden(detail: str = "You do not have access to this.") -> AppError:
    return AppError(403, "forbidden", detail)


def invalid(detail: str, field: str | None = None, code: str = "invalid") -> AppError:
    errors = [{"field": field, "message": detail}] if field else None
    return AppError(422, code, detail, errors=errors)


def conflict(detail: str, code: str = "conflict") -> AppError:
    return AppError(409, code, detail)


_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    426: "Upgrade required",
    500: "Server error",
}


def _problem(err: AppError) -> JSONResponse:
    return JSONResponse(
        err.body(), status_code=err.status, media_type=PROBLEM_JSON, headers=err.headers
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _human(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "is invalid"))
    # Pydantic prefixes custom errors with "Value error, "; people do not need it.
    return msg.removeprefix("Value error, ")


def _entry(error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":
        # loc is ("body", <character position>): name the body, say where it broke.
        reason = str((error.get("ctx") or {}).get("error", "")).strip()
        where = error["loc"][-1] if len(error["loc"]) > 1 else "?"
        message = (
            f"is not valid JSON ({reason} at character {where})" if reason else "is not valid JSON"
        )
        return {"field": "body", "message": message}
    return {"field": _field(error["loc"]), "message": _human(error)}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return _problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_entry(e) for e in exc.errors()]
        first = errors[0] if errors else {"field": "request", "message": "is invalid"}
        detail = f"{first['field']}: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return _problem(AppError(422, "validation_error", detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _problem(AppError(exc.status_code, code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _problem(AppError(500, "server_error", "Something went wrong on the server."))
