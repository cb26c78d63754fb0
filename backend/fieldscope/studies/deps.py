"""Route dependencies for study-scoped URLs: `/studies/{study_id}/...`.

They run before the request body is read, so an outsider gets 404 and a wrong role 403
even when the body is also invalid.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from fieldscope.auth.deps import CurrentUser
from fieldscope.auth.models import Role, User
from fieldscope.db import SessionDep
from fieldscope.studies.access import is_pi, live_study, member_role
from fieldscope.studies.models import Study


@dataclass(frozen=True)
class Access:
    study: Study
    user: User
    role: Role | None  # None: an instance admin without membership

    @property
    def is_pi(self) -> bool:
        """PI rights (instance admins have them too)."""
        return is_pi(self.role)

    @property
    def sees_real_names(self) -> bool:
        """Real names are for the study's PIs only, not even for instance admins."""
        return self.role is Role.pi


def study_access(*roles: Role, action: str = "do this") -> Callable[..., Access]:
    def dependency(study_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Access:
        study = live_study(session, study_id)
        return Access(study, user, member_role(session, user, study_id, roles, action))

    return dependency


MemberAccess = Annotated[Access, Depends(study_access())]
