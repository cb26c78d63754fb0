from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError

from fieldscope.auth.models import DeviceToken, User
from fieldscope.auth.service import needs_touch, resolve_token, touch_token
from fieldscope.changes import set_actor
from fieldscope.db import WRITE_METHODS, SessionDep, transaction
from fieldscope.errors import AppError

log = logging.getLogger("fieldscope.auth")
_bearer = HTTPBearer(auto_error=False, description="Device token from POST /api/v1/auth/login")


def current_device(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[User, DeviceToken]:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise AppError(
            401,
            "not_signed_in",
            "Sign in first: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user, token = resolve_token(session, creds.credentials)
    if needs_touch(token):
        if request.method in WRITE_METHODS:
            touch_token(session, token.id)
        else:
            # A read request stays read-only: on SQLite, upgrading its snapshot to a writer
            # can fail under concurrent pushes. Bookkeeping gets its own short transaction.
            try:
                with transaction(request.app.state.engine) as own:
                    touch_token(own, token.id)
            except OperationalError:
                log.warning("could not extend token %s; will retry on next request", token.id)
    set_actor(session, user.id, via="api")
    return user, token


def current_user(device: Annotated[tuple[User, DeviceToken], Depends(current_device)]) -> User:
    return device[0]


CurrentUser = Annotated[User, Depends(current_user)]
CurrentDevice = Annotated[tuple[User, DeviceToken], Depends(current_device)]
