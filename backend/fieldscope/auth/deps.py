from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fieldscope.auth.models import DeviceToken, User
from fieldscope.auth.service import resolve_token
from fieldscope.changes import set_actor
from fieldscope.db import SessionDep
from fieldscope.errors import AppError

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
    set_actor(session, user.id, via="api")
    return user, token


def current_user(device: Annotated[tuple[User, DeviceToken], Depends(current_device)]) -> User:
    return device[0]


CurrentUser = Annotated[User, Depends(current_user)]
CurrentDevice = Annotated[tuple[User, DeviceToken], Depends(current_device)]
