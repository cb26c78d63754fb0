"""Sign-in, device tokens (expiry, sliding, revocation), first-admin setup, accounts."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fieldscope.auth.models import DeviceToken, User
from fieldscope.auth.service import new_setup_token
from fieldscope.common.models import utcnow
from fieldscope.db import transaction
from tests.factories import PASSWORD, World, login


def _token_row(engine: Engine, headers: dict[str, str]) -> DeviceToken:
    from fieldscope.auth.service import sha256

    token = headers["Authorization"].removeprefix("Bearer ")
    with Session(engine) as s:
        row = s.exec(select(DeviceToken).where(DeviceToken.token_hash == sha256(token))).one()
        return row


def _age(engine: Engine, row: DeviceToken, *, used_ago: timedelta, expires_in: timedelta) -> None:
    with transaction(engine) as s:
        db_row = s.get(DeviceToken, row.id)
        assert db_row is not None
        db_row.last_used_at = utcnow() - used_ago
        db_row.expires_at = utcnow() + expires_in
        s.add(db_row)


def test_bad_password_is_401_and_says_so(client: TestClient, world: World) -> None:
    res = client.post("/api/v1/auth/login", json={"email": world.pi.email, "password": "nope"})
    assert res.status_code == 401
    assert res.json()["code"] == "bad_credentials"
    unknown = client.post("/api/v1/auth/login", json={"email": "x@example.org", "password": "y"})
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == res.json()["detail"]  # no hint which emails exist


def test_tokens_are_stored_hashed(engine: Engine, world: World) -> None:
    raw = world.pi.headers["Authorization"].removeprefix("Bearer ")
    with Session(engine) as s:
        hashes = s.exec(select(DeviceToken.token_hash)).all()
    assert raw not in hashes
    assert _token_row(engine, world.pi.headers).token_hash in hashes


def test_no_token_or_garbage_token_is_401(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/auth/me").status_code == 401
    res = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer fs_garbage"})
    assert res.status_code == 401
    assert res.json()["code"] == "invalid_token"


def test_expired_token_is_refused(client: TestClient, engine: Engine, world: World) -> None:
    row = _token_row(engine, world.fw.headers)
    _age(engine, row, used_ago=timedelta(days=8), expires_in=timedelta(seconds=-1))
    res = client.get("/api/v1/auth/me", headers=world.fw.headers)
    assert res.status_code == 401
    assert res.json()["code"] == "invalid_token"


def test_a_deactivated_accounts_live_token_is_refused(
    client: TestClient, engine: Engine, world: World
) -> None:
    assert client.get("/api/v1/auth/me", headers=world.pi.headers).status_code == 200
    with transaction(engine) as s:
        user = s.get(User, _token_row(engine, world.pi.headers).user_id)
        assert user is not None
        user.is_active = False
        s.add(user)
    res = client.get("/api/v1/auth/me", headers=world.pi.headers)
    assert res.status_code == 401
    assert res.json()["code"] == "invalid_token"


def test_token_valid_through_a_week_offline_and_slides(
    client: TestClient, engine: Engine, world: World
) -> None:
    row = _token_row(engine, world.fw.headers)
    _age(engine, row, used_ago=timedelta(days=6, hours=23), expires_in=timedelta(hours=1))
    assert client.get("/api/v1/auth/me", headers=world.fw.headers).status_code == 200
    after = _token_row(engine, world.fw.headers)
    assert after.expires_at > utcnow() + timedelta(days=6, hours=23)


def test_logout_revokes_only_this_device(client: TestClient, world: World) -> None:
    tablet = login(client, world.fw.email)
    assert client.post("/api/v1/auth/logout", headers=tablet).status_code == 204
    assert client.get("/api/v1/auth/me", headers=tablet).status_code == 401
    assert client.get("/api/v1/auth/me", headers=world.fw.headers).status_code == 200


def test_revoke_a_lost_tablet_from_another_device(client: TestClient, world: World) -> None:
    lost = login(client, world.fw.email)
    mine = client.get("/api/v1/auth/tokens", headers=lost).json()
    lost_id = next(d["id"] for d in mine if d["current"])
    res = client.delete(f"/api/v1/auth/tokens/{lost_id}", headers=world.fw.headers)
    assert res.status_code == 204
    assert client.get("/api/v1/auth/me", headers=lost).status_code == 401
    assert client.get("/api/v1/auth/me", headers=world.fw.headers).status_code == 200


def test_cannot_revoke_someone_elses_token(client: TestClient, world: World) -> None:
    theirs = client.get("/api/v1/auth/tokens", headers=world.fw.headers).json()[0]["id"]
    res = client.delete(f"/api/v1/auth/tokens/{theirs}", headers=world.fw2.headers)
    assert res.status_code == 404
    assert client.get("/api/v1/auth/me", headers=world.fw.headers).status_code == 200


def test_setup_link_creates_first_admin_once(client: TestClient, engine: Engine) -> None:
    with transaction(engine) as s:
        token = new_setup_token(s)
    body = {"setup_token": token, "email": "boss@example.org", "password": PASSWORD}
    res = client.post("/api/v1/auth/setup", json=body)
    assert res.status_code == 201, res.text
    assert res.json()["user"]["is_admin"] is True
    again = client.post("/api/v1/auth/setup", json={**body, "email": "other@example.org"})
    assert again.status_code == 403
    assert again.json()["code"] == "invalid_setup_token"
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(User)).one() == 1


def test_admin_creates_accounts_others_cannot(
    client: TestClient, engine: Engine, world: World
) -> None:
    body = {"email": "new@example.org", "password": PASSWORD}
    assert client.post("/api/v1/users", json=body, headers=world.pi.headers).status_code == 403
    assert client.post("/api/v1/users", json=body, headers=world.admin.headers).status_code == 201
    dup = client.post("/api/v1/users", json=body, headers=world.admin.headers)
    assert dup.status_code == 409
    assert dup.json()["code"] == "email_taken"
    weak = client.post(
        "/api/v1/users",
        json={"email": "w@example.org", "password": "short"},
        headers=world.admin.headers,
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"


def test_pi_manages_members(client: TestClient, world: World) -> None:
    url = f"/api/v1/studies/{world.study_id}/members"
    res = client.post(
        url, json={"email": world.outsider.email, "role": "analyst"}, headers=world.pi.headers
    )
    assert res.status_code == 201, res.text
    emails = {m["email"] for m in client.get(url, headers=world.pi.headers).json()}
    assert world.outsider.email in emails
    denied = client.post(
        url, json={"email": world.outsider.email, "role": "pi"}, headers=world.fw.headers
    )
    assert denied.status_code == 403
    unknown = client.post(
        url, json={"email": "ghost@example.org", "role": "analyst"}, headers=world.pi.headers
    )
    assert unknown.status_code == 404
