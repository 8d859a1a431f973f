"""Local users: argon2id password hashes, roles, org units, sign-in with lock-out; all audited.

There is no default account and no default password: the first admin is made with
`python -m kpi_core users add NAME --role admin` (or the app's first-run form, shown only
while no active admin exists).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kpi_core.model.access import ROLES, Actor, as_actor, require
from kpi_core.model.config import session_hours
from kpi_core.model.errors import AccessDenied, LoginFailed, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.text import fold, visible
from kpi_core.store import audit
from kpi_core.store.org import load_tree
from kpi_core.store.warehouse import Warehouse, now

MAX_FAILURES = 5                      # failed sign-ins in a row before the account locks
LOCK_FOR = timedelta(minutes=15)      # how long a lock lasts (an admin can lift it sooner)
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_HASHER = PasswordHasher()            # argon2id with the library's current recommended costs
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _HASHER.hash("no such user, timing only")
# One answer to every failed sign-in: which names exist, are locked or disabled is not told.
REFUSED = Msg("auth_refused")


@dataclass(frozen=True)
class User:
    name: str
    display_name: str | None
    role: str
    orgs: tuple[str, ...]
    email: str | None
    active: bool
    has_password: bool

    def actor(self) -> Actor:
        return Actor(self.name, self.role, self.orgs)  # type: ignore[arg-type]


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name or ""):
        raise ValidationFailed(Msg("auth_bad_name", name=visible(name)))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(Msg("auth_bad_role", role=repr(role), roles=list(ROLES)))


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(Msg("auth_password_too_short", n=MIN_PASSWORD))


def _check_orgs(con, role: str, orgs: tuple[str, ...]) -> tuple[str, ...]:
    """The user's units as codes (typed in any width or case); NotFound naming one that is none."""
    tree = load_tree(con)
    if role in ("manager", "team_lead", "employee") and not orgs:
        raise ValidationFailed(Msg("auth_needs_unit", role=Msg(f"role_{role}")))
    return tuple(dict.fromkeys(tree.resolve(o) for o in orgs))


def _row(con, name: str) -> User | None:
    """The user `name` names: user names are one identity regardless of letter case and width
    (SPEC §7), so ALICE and ａｌｉｃｅ are alice. An exact match wins where older names collide."""
    name = fold(name)
    rows = con.execute("SELECT name, display_name, role, email, active, password_hash IS NOT NULL FROM app_user "
                       "WHERE lower(name) = lower(?) ORDER BY name = ? DESC, name", [name, name]).fetchall()
    if not rows or (len(rows) > 1 and rows[0][0] != name):
        return None
    n, display, role, email, active, has_pw = rows[0]
    orgs = tuple(o for (o,) in con.execute(
        "SELECT org FROM user_org WHERE user_name = ? ORDER BY org", [n]).fetchall())
    return User(n, display, role, orgs, email, bool(active), bool(has_pw))


def _public(u: User) -> dict:
    return {"role": u.role, "orgs": list(u.orgs), "email": u.email, "active": u.active,
            "display_name": u.display_name}


def get(wh: Warehouse, name: str) -> User:
    with wh.read() as con:
        u = _row(con, name)
    if u is None:
        raise NotFound(Msg("auth_no_user_hint", name=visible(name)))
    return u


def list_users(wh: Warehouse) -> list[User]:
    with wh.read() as con:
        names = [n for (n,) in con.execute("SELECT name FROM app_user ORDER BY name").fetchall()]
        return [_row(con, n) for n in names]  # type: ignore[misc]


def actor(wh: Warehouse, name: str) -> Actor:
    """The acting user `name` (for the CLI's --user): an active user's role and units."""
    u = get(wh, name)
    if not u.active:
        raise AccessDenied(Msg("auth_user_disabled", name=name))
    return u.actor()


def has_admin(wh: Warehouse) -> bool:
    with wh.connect() as con:
        return bool(con.execute("SELECT count(*) FROM app_user WHERE role = 'admin' AND active").fetchall()[0][0])


def add(wh: Warehouse, name: str, role: str, *, orgs: tuple[str, ...] | list[str] = (), password: str | None = None,
        email: str | None = None, display_name: str | None = None, by: str | Actor = "admin",
        first_admin: bool = False) -> User:
    """Create a user. `first_admin` lets an unsigned-in first run create the one admin, and only then."""
    orgs = tuple(dict.fromkeys(orgs))
    name = fold(name)
    _check_name(name)
    _check_role(role)
    if password is not None:
        _check_password(password)
    acting = as_actor(by)
    with wh.transaction(bump=False) as con:
        if first_admin:
            if role != "admin" or con.execute(
                    "SELECT count(*) FROM app_user WHERE role = 'admin' AND active").fetchall()[0][0]:
                raise AccessDenied(Msg("auth_admin_exists"))
        else:
            require(acting, "users")
        same = con.execute("SELECT name FROM app_user WHERE lower(name) = lower(?)", [name]).fetchall()
        if same:
            raise ValidationFailed(Msg("auth_user_exists", name=same[0][0]) if same[0][0] == name
                                   else Msg("auth_user_exists_case", name=same[0][0], typed=name))
        orgs = _check_orgs(con, role, orgs)
        con.execute("INSERT INTO app_user VALUES (?, ?, ?, ?, ?, true, ?)",
                    [name, display_name, role, _HASHER.hash(password) if password else None, email, now()])
        for o in orgs:
            con.execute("INSERT INTO user_org VALUES (?, ?)", [name, o])
        u = _row(con, name)
        audit.record(con, acting.name, "add", "user", name, after=_public(u))
    return u  # type: ignore[return-value]


def update(wh: Warehouse, name: str, *, role: str | None = None, orgs: list[str] | tuple[str, ...] | None = None,
           active: bool | None = None, email: str | None = None, by: str | Actor = "admin",
           reason: str | None = None) -> User:
    """Change a user's role, units, email or whether they may sign in."""
    acting = as_actor(by)
    require(acting, "users")
    with wh.transaction(bump=False) as con:
        before = _row(con, name)
        if before is None:
            raise NotFound(Msg("auth_no_user", name=visible(name)))
        name = before.name
        new_role = role or before.role
        _check_role(new_role)
        new_orgs = tuple(dict.fromkeys(orgs)) if orgs is not None else before.orgs
        new_orgs = _check_orgs(con, new_role, new_orgs)
        if before.role == "admin" and (new_role != "admin" or active is False) and con.execute(
                "SELECT count(*) FROM app_user WHERE role = 'admin' AND active AND name <> ?",
                [name]).fetchall()[0][0] == 0:
            raise ValidationFailed(Msg("auth_last_admin"))
        if active is False:
            con.execute("DELETE FROM user_session WHERE user_name = ?", [name])
        con.execute("UPDATE app_user SET role = ?, active = ?, email = ? WHERE name = ?",
                    [new_role, before.active if active is None else active,
                     before.email if email is None else (email or None), name])
        con.execute("DELETE FROM user_org WHERE user_name = ?", [name])
        for o in new_orgs:
            con.execute("INSERT INTO user_org VALUES (?, ?)", [name, o])
        after = _row(con, name)
        audit.record(con, acting.name, "update", "user", name, before=_public(before), after=_public(after),
                     reason=reason)
    return after  # type: ignore[return-value]


def set_password(wh: Warehouse, name: str, password: str, *, by: str | Actor = "admin") -> None:
    """Set a password: an admin for anyone, a user for themselves. The hash alone is stored."""
    acting = as_actor(by)
    _check_password(password)
    with wh.transaction(bump=False) as con:
        u = _row(con, name)
        if u is None or acting.name != u.name:
            require(acting, "users")  # first: an outsider learns nothing about which names exist
        if u is None:
            raise NotFound(Msg("auth_no_user", name=visible(name)))
        name = u.name
        con.execute("UPDATE app_user SET password_hash = ? WHERE name = ?", [_HASHER.hash(password), name])
        con.execute("DELETE FROM login_failure WHERE user_name = ?", [name])
        con.execute("DELETE FROM user_session WHERE user_name = ?", [name])  # signed out everywhere
        audit.record(con, acting.name, "set_password", "user", name)  # never the password or its hash


def unlock(wh: Warehouse, name: str, *, by: str | Actor = "admin") -> None:
    acting = as_actor(by)
    require(acting, "users")
    with wh.transaction(bump=False) as con:
        u = _row(con, name)
        if u is None:
            raise NotFound(Msg("auth_no_user", name=visible(name)))
        con.execute("DELETE FROM login_failure WHERE user_name = ?", [u.name])
        audit.record(con, acting.name, "unlock", "user", u.name)


def _recent_failures(con, name: str) -> int:
    return con.execute("SELECT count(*) FROM login_failure WHERE user_name = ? AND failed_at > ?",
                       [name, now() - LOCK_FOR]).fetchall()[0][0]


def authenticate(wh: Warehouse, name: str, password: str) -> Actor:
    """Check a name and password; every attempt is audited.

    Every refusal says the same thing after the same work (one argon2 verification, the same
    queries), whether the name is unknown, the account disabled or locked, or the password
    wrong (SPEC §7); only the audit log, which admins read, says which it was."""
    typed = fold(name)[:64] or "?"
    with wh.transaction(bump=False) as con:  # the refusal is raised after commit, so it is recorded
        u = _row(con, typed) if _NAME.fullmatch(typed) else None
        who = u.name if u else typed
        stored = con.execute("SELECT password_hash FROM app_user WHERE name = ?", [who]).fetchall()
        locked = _recent_failures(con, who) >= MAX_FAILURES
        ok = _verify(stored[0][0] if stored else None, password)  # verified even when the answer is known
        why = ("unknown" if u is None else "disabled" if not u.active else "locked" if locked
               else None if ok else "password")
        if why is None:
            con.execute("DELETE FROM login_failure WHERE user_name = ?", [who])
            if _HASHER.check_needs_rehash(stored[0][0]):  # costs raised since: upgrade on the fly
                con.execute("UPDATE app_user SET password_hash = ? WHERE name = ?", [_HASHER.hash(password), who])
            audit.record(con, who, "login", "user", who)
        else:
            if not locked:  # a lock runs from the last failure that counted, not from every knock
                con.execute("INSERT INTO login_failure VALUES (?, ?)", [who, now()])
            audit.record(con, who, "login_refused" if locked else "login_failed", "user", who, after={"why": why})
    if why is not None:
        raise LoginFailed(Msg("auth_refused"))
    return u.actor()  # type: ignore[union-attr]


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password or "") and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def by_email(wh: Warehouse, email: str | None) -> Actor:
    """The local user an OIDC identity maps to (by email, case-insensitive)."""
    if not email:
        raise LoginFailed(Msg("auth_no_email"))
    with wh.transaction(bump=False) as con:
        rows = con.execute("SELECT name FROM app_user WHERE lower(email) = lower(?) AND active", [email]).fetchall()
        if len(rows) == 1:
            audit.record(con, rows[0][0], "login", "user", rows[0][0], after={"via": "oidc"})
            return _row(con, rows[0][0]).actor()  # type: ignore[union-attr]
        audit.record(con, email[:64], "login_failed", "user", email[:64], after={"via": "oidc"})
    raise LoginFailed(Msg("auth_email_unknown", email=email) if not rows else Msg("auth_email_ambiguous", email=email))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(wh: Warehouse, actor: Actor) -> str:
    """A new random session token for the signed-in user (the browser keeps it in a cookie)."""
    token = secrets.token_urlsafe(32)
    with wh.transaction(bump=False) as con:
        con.execute("DELETE FROM user_session WHERE expires_at < ?", [now()])
        con.execute("INSERT INTO user_session VALUES (?, ?, ?, ?)",
                    [_digest(token), actor.name, now(), now() + timedelta(hours=session_hours())])
    return token


def resume(wh: Warehouse, token: str | None) -> Actor | None:
    """The user of a live session token, with their current role and units; None if it is not one."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    with wh.read() as con:
        rows = con.execute("SELECT user_name FROM user_session WHERE token_sha256 = ? AND expires_at > ?",
                           [_digest(token), now()]).fetchall()
        u = _row(con, rows[0][0]) if rows else None
    return u.actor() if u is not None and u.active else None


def log_out(wh: Warehouse, name: str, token: str | None = None) -> None:
    """End the session (its token no longer signs anyone in) and record it."""
    with wh.transaction(bump=False) as con:
        if token:
            con.execute("DELETE FROM user_session WHERE token_sha256 = ?", [_digest(token)])
        audit.record(con, name, "logout", "user", name)

