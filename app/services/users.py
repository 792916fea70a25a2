"""Reviewers and their roles: the local identity (OS user + display name) and who may register whom.

Roles: ``reviewer`` (annotates, gives verdicts), ``supervisor`` (also signs verdicts off), ``admin``
(also registers users and changes roles and settings). The first user registered in a workspace
must be an admin and may register themselves; after that only an admin registers or changes users.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import VigilError
from app.store import audit
from app.store import users as store
from app.store.workspace import Workspace

ROLES = ("reviewer", "supervisor", "admin")
SIGNERS = ("supervisor", "admin")


class RoleError(VigilError):
    """Someone tried to do what their role does not allow (the message names the role needed)."""


def os_user() -> str:
    """The login name of the OS user running Vigil."""
    return audit.os_user()


def current(ws: Workspace) -> dict[str, Any]:
    """The local identity: the OS user's registered row, or an unregistered reviewer under the login."""
    login = os_user()
    return store.user(ws, login) or {"login": login, "display_name": login, "role": None}


def users(ws: Workspace) -> list[dict[str, Any]]:
    """Registered users by login: ``{"login", "display_name", "role", "created_at", "created_by"}``."""
    return store.users(ws)


def resolve(ws: Workspace, name: str) -> dict[str, Any] | None:
    """The registered user a typed name (login or display name) means, or ``None``."""
    return store.find(ws, name)


def require_role(ws: Workspace, login: str, roles: tuple[str, ...], what: str) -> dict[str, Any]:
    """The user ``login`` if their role is one of ``roles``; otherwise :class:`RoleError` saying so."""
    u = store.find(ws, login)
    if u is None:
        raise RoleError(f"{login or 'Nobody'} is not a registered user of this workspace; {what} needs a "
                        f"{' or '.join(roles)} (an admin adds one with: vigil users add LOGIN --role ROLE).")
    if u["role"] not in roles:
        raise RoleError(f"{u['display_name']} is a {u['role']}; {what} needs a {' or '.join(roles)}.")
    return u


def add_user(ws: Workspace, login: str, display_name: str = "", role: str = "reviewer",
             by: str | None = None) -> dict[str, Any]:
    """Register (or change) a user; ``by`` (default: the OS user) must be an admin, except for the very
    first user, who must be an admin registering themselves."""
    login, display_name = (login or "").strip(), (display_name or "").strip()
    by = (by or os_user()).strip()
    if not login or any(c.isspace() for c in login) or len(login) > 64:
        raise RoleError("A login is one word (the OS user name), at most 64 characters.")
    if role not in ROLES:
        raise RoleError(f"'{role}' is not a role; choose one of: {', '.join(ROLES)}.")
    if store.count(ws) == 0:
        if role != "admin" or login.casefold() != by.casefold():
            raise RoleError("The workspace has no users yet: the first one must be an admin registering "
                            f"themselves (vigil users add {by} --role admin).")
    else:
        require_role(ws, by, ("admin",), "registering users or changing roles")
        old = store.user(ws, login)
        if old is not None and old["role"] == "admin" and role != "admin" and \
                sum(u["role"] == "admin" for u in store.users(ws)) == 1:
            raise RoleError(f"{login} is the only admin; make someone else an admin first.")
    store.put_user(ws, login, display_name or login, role, actor=by)
    u = store.user(ws, login)
    assert u is not None
    return u
