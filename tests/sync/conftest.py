"""Sync tests build many worlds; cheap password hashing keeps the suite in minutes.

Argon2 encodes its parameters in each hash, so logins verify exactly as in production;
only the cost of making a test user's hash drops.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from fieldscope.auth import service as auth_service


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        auth_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
