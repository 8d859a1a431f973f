"""Delivery channels in the warehouse: apply from YAML, list, get, remove, and their secrets.

Admins only (the "settings" capability). Every change is in the audit log — the definition,
which holds no secret, and for a secret only whether it is set. A secret comes from the
environment variable the definition names (`secret_env` / `password_env`) or, when that is not
set, from what an admin typed (table channel_secret): read only by `secret_of` for sending,
never listed, exported, audited or put in a message.

E-mail to users (outbox.notify_user) goes through the e-mail channel marked `default: true`, or
the only e-mail channel when there is exactly one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from kpi_core.model.access import Actor, acting
from kpi_core.model.channel import Channel, parse, parse_one
from kpi_core.model.errors import KpiError, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.text import is_invisible
from kpi_core.model.yamldoc import invalid
from kpi_core.store import audit
from kpi_core.store.dictionary import ApplyResult
from kpi_core.store.warehouse import Warehouse, now

CAPABILITY = "settings"  # channels are warehouse settings: the admin's alone
MAX_SECRET = 4096


@dataclass(frozen=True)
class ChannelInfo:
    """A channel as listed: its definition and where its secret comes from, never the secret."""

    channel: Channel
    secret: str  # env (the variable is set) | stored (typed by an admin) | missing (none found) | none (not used)

    @property
    def secret_set(self) -> bool:
        return self.secret in ("env", "stored")

    def as_dict(self) -> dict:
        return self.channel.definition() | {"secret": "set" if self.secret_set else "not set"}


def definitions(con: duckdb.DuckDBPyConnection) -> dict[str, Channel]:
    """Every stored channel by name."""
    rows = con.execute("SELECT definition FROM channel ORDER BY name").fetchall()
    return {c.name: c for c in (Channel.model_validate(json.loads(d)) for (d,) in rows)}


def _stored_secret(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    rows = con.execute("SELECT secret FROM channel_secret WHERE channel = ?", [name]).fetchall()
    return rows[0][0] if rows else None


def secret_of(con: duckdb.DuckDBPyConnection, ch: Channel) -> str | None:
    """The channel's secret for sending: its environment variable's value, else the stored one."""
    variable = ch.secret_variable
    if variable and os.environ.get(variable):
        return os.environ[variable]
    return _stored_secret(con, ch.name)


def secret_state(con: duckdb.DuckDBPyConnection, ch: Channel) -> str:
    variable = ch.secret_variable
    if variable and os.environ.get(variable):
        return "env"
    if _stored_secret(con, ch.name) is not None:
        return "stored"
    if variable or ch.kind in ("dingtalk", "feishu", "lark") or (ch.kind == "email" and ch.username):
        return "missing"
    return "none"


def list_channels(wh: Warehouse, *, user: str | Actor = "admin") -> list[ChannelInfo]:
    """Every channel (admins only: a webhook's URL often holds its access token)."""
    acting(user, CAPABILITY)
    with wh.connect() as con:
        return [ChannelInfo(c, secret_state(con, c)) for c in definitions(con).values()]


def get(wh: Warehouse, name: str) -> Channel:
    with wh.connect() as con:
        return lookup(con, name)


def lookup(con: duckdb.DuckDBPyConnection, name: str) -> Channel:
    found = definitions(con).get(name)
    if found is None:
        raise NotFound(Msg("channel_not_found", channel=name))
    return found


def mail_channel(con: duckdb.DuckDBPyConnection) -> Channel | None:
    """The e-mail channel that carries e-mail to users: the default one, else the only one."""
    mail = [c for c in definitions(con).values() if c.kind == "email"]
    marked = [c for c in mail if c.default]
    return marked[0] if marked else (mail[0] if len(mail) == 1 else None)


def read_file(path: str | Path) -> tuple[list[Channel], list[Msg]]:
    """The `channels:` list of a YAML file (other keys, such as `alerts:`, are left to their readers)."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(Msg("store_no_such_path", path=str(path)))
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(invalid(path.name, text, exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("channels"), list):
        raise ValidationFailed(Msg("model_yaml_needs_list", source=path.name, key="channels"))
    return parse(doc["channels"], path.name)


def apply_file(wh: Warehouse, path: str | Path, *, user: str | Actor = "admin", reason: str | None = None,
               dry_run: bool = False) -> ApplyResult:
    channels, problems = read_file(path)
    return apply(wh, channels, problems=problems, user=user, reason=reason, dry_run=dry_run)


def apply(wh: Warehouse, channels: list[Channel], *, problems: list[Msg] | None = None,
          user: str | Actor = "admin", reason: str | None = None, dry_run: bool = False) -> ApplyResult:
    """Create or update channels, all or nothing (channels not named stay as they are)."""
    name = acting(user, CAPABILITY)
    problems = list(problems or [])
    if problems:
        raise ValidationFailed(Msg("channel_problems", n=len(problems)), problems)
    result = ApplyResult()
    with wh.transaction(bump=False) as con:
        existing = definitions(con)
        _check_default(existing, channels)
        for ch in channels:
            old = existing.get(ch.name)
            if old is not None and old.definition() == ch.definition():
                result.unchanged.append(ch.name)
                continue
            (result.updated if old else result.created).append(ch.name)
            if not dry_run:
                _write(con, name, ch, old, reason)
    return result


def _check_default(existing: dict[str, Channel], new: list[Channel]) -> None:
    merged = existing | {c.name: c for c in new}
    defaults = sorted(c.name for c in merged.values() if c.default)
    if len(defaults) > 1:
        raise ValidationFailed(Msg("channel_problems", n=1), [Msg("channel_two_defaults",
                                                                  channels=", ".join(defaults))])


def _write(con: duckdb.DuckDBPyConnection, user: str, ch: Channel, old: Channel | None, reason: str | None) -> None:
    con.execute("INSERT OR REPLACE INTO channel VALUES (?, ?, ?, ?, ?)",
                [ch.name, ch.kind, json.dumps(ch.definition(), ensure_ascii=False), user, now()])
    audit.record(con, user, "update" if old else "create", "channel", ch.name,
                 before=old.definition() if old else None, after=ch.definition(), reason=reason)


def save(wh: Warehouse, raw: dict, *, user: str | Actor = "admin", reason: str | None = None) -> Channel:
    """One definition as plain data (the Admin page's form), checked like a file's."""
    try:
        ch = parse_one(raw)
    except ValueError as exc:
        raise ValidationFailed(Msg("channel_problems", n=len(exc.args[0])), exc.args[0]) from None
    apply(wh, [ch], user=user, reason=reason)
    return ch


def remove(wh: Warehouse, name: str, *, user: str | Actor = "admin", reason: str | None = None) -> None:
    """Delete a channel and its stored secret."""
    who = acting(user, CAPABILITY)
    with wh.transaction(bump=False) as con:
        old = lookup(con, name)
        con.execute("DELETE FROM channel WHERE name = ?", [name])
        had = con.execute("DELETE FROM channel_secret WHERE channel = ? RETURNING channel", [name]).fetchall()
        audit.record(con, who, "delete", "channel", name, before=old.definition() | {"secret": _said(bool(had))},
                     reason=reason)


def _said(is_set: bool) -> str:
    return "set" if is_set else "not set"


def set_secret(wh: Warehouse, name: str, secret: str | None, *, user: str | Actor = "admin") -> None:
    """Store the secret an admin typed for a channel (None clears it). The audit log records only
    that it was set or cleared."""
    who = acting(user, CAPABILITY)
    if secret is not None:
        secret = secret.strip()
        if not secret or len(secret) > MAX_SECRET or any(is_invisible(ch) or ch in "\r\n" for ch in secret):
            raise KpiError(Msg("channel_bad_secret", n=MAX_SECRET))
    with wh.transaction(bump=False) as con:
        lookup(con, name)
        had = _stored_secret(con, name) is not None
        if secret is None:
            con.execute("DELETE FROM channel_secret WHERE channel = ?", [name])
        else:
            con.execute("INSERT OR REPLACE INTO channel_secret VALUES (?, ?, ?)", [name, secret, now()])
        audit.record(con, who, "set_secret" if secret is not None else "clear_secret", "channel", name,
                     before={"secret": _said(had)}, after={"secret": _said(secret is not None)})


def export(wh: Warehouse, out: str | Path | None = None) -> str:
    """The channels as YAML that applies back (definitions only: secrets are never exported)."""
    with wh.connect() as con:
        text = yaml.safe_dump({"channels": [c.definition() for c in definitions(con).values()]},
                              allow_unicode=True, sort_keys=False, width=100)
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text
