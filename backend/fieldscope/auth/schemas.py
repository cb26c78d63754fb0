from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from fieldscope.auth.models import Role


class LoginRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1000)
    device_label: str = Field(default="", max_length=120)


class MembershipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    study_id: uuid.UUID
    role: Role


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    display_name: str
    is_admin: bool


class MeOut(UserOut):
    memberships: list[MembershipOut]


class TokenOut(BaseModel):
    token: str
    token_id: uuid.UUID
    expires_at: datetime
    user: MeOut


class DeviceTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    device_label: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    current: bool = False


class UserCreate(BaseModel):
    email: EmailStr
    password: str = Field(max_length=1000)
    display_name: str = Field(default="", max_length=120)
    is_admin: bool = False


class SetupRequest(BaseModel):
    setup_token: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: str = Field(max_length=1000)
    display_name: str = Field(default="", max_length=120)


class MemberCreate(BaseModel):
    email: EmailStr
    role: Role


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    user_id: uuid.UUID
    study_id: uuid.UUID
    role: Role
    email: str
    display_name: str
