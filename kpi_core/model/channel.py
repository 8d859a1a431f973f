"""A delivery channel (SPEC §9): where messages go besides the in-app inbox — an SMTP server or a
webhook (generic signed JSON, WeCom, DingTalk, Feishu/Lark, Slack). Definitions only; no I/O.

A definition never holds a secret itself: `secret_env` / `password_env` name an environment
variable, or an admin types the secret on the Admin page and it is stored apart (store/channels.py).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kpi_core.model.messages import Msg
from kpi_core.model.validation import FieldText, explain

Kind = Literal["webhook", "wecom", "dingtalk", "feishu", "lark", "slack", "email"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
WEBHOOK_KINDS = tuple(k for k in KINDS if k != "email")
Security = Literal["none", "starttls", "ssl"]
SECURITIES: tuple[str, ...] = Security.__args__  # type: ignore[attr-defined]

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class Channel(BaseModel):
    """One channel: its kind decides which fields it needs (a webhook its url, e-mail its server)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    kind: Kind
    url: str | None = Field(default=None, max_length=2000)           # webhooks
    secret_env: str | None = None      # webhooks: the signing secret
    host: str | None = Field(default=None, min_length=1, max_length=255)  # e-mail: the SMTP server
    port: int | None = Field(default=None, ge=1, le=65535)
    sender: str | None = Field(default=None, max_length=320)
    username: str | None = Field(default=None, max_length=320)
    password_env: str | None = None    # e-mail: the SMTP password
    security: Security = "none"
    to: list[str] = []            # e-mail: the addresses of a channel that is itself a recipient
    default: bool = False         # e-mail: the channel that carries e-mail to users
    timeout: float = Field(default=10.0, ge=0.5, le=120)

    @field_validator("secret_env", "password_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV.match(v):
            raise ValueError(Msg("channel_env_name", name=v))
        return v

    @model_validator(mode="after")
    def _by_kind(self) -> Channel:
        if self.kind == "email":
            if not self.host:
                raise ValueError(Msg("channel_email_needs_host"))
            if not self.sender:
                raise ValueError(Msg("channel_email_needs_sender"))
            bad = [a for a in (self.sender, *self.to) if not _ADDRESS.match(a)]
            if bad:
                raise ValueError(Msg("channel_bad_address", address=bad[0]))
            if self.url or self.secret_env:
                raise ValueError(Msg("channel_email_no_url"))
            if self.password_env and not self.username:
                raise ValueError(Msg("channel_password_needs_username"))
            return self
        if not self.url:
            raise ValueError(Msg("channel_webhook_needs_url", kind=Msg(KIND_NAMES[self.kind])))
        if not re.match(r"^https?://[^\s/]+", self.url):
            raise ValueError(Msg("channel_url_http"))
        if self.host or self.sender or self.username or self.password_env or self.to or self.default:
            raise ValueError(Msg("channel_webhook_no_mail_fields", kind=Msg(KIND_NAMES[self.kind])))
        return self

    @property
    def secret_variable(self) -> str | None:
        """The environment variable holding this channel's secret (signing key or SMTP password)."""
        return self.password_env if self.kind == "email" else self.secret_env

    @property
    def smtp_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587}.get(self.security, 25)

    def definition(self) -> dict:
        """The definition as YAML/JSON data: only what differs from the defaults, name and kind first."""
        return {"name": self.name, "kind": self.kind} | self.model_dump(mode="json", exclude_defaults=True,
                                                                         exclude={"name", "kind"})


LABELS: dict[str, str] = {
    "name": "channel_field_name", "kind": "channel_field_kind", "url": "channel_field_url",
    "secret_env": "channel_field_secret_env", "host": "channel_field_host", "port": "channel_field_port",
    "sender": "channel_field_sender", "username": "channel_field_username",
    "password_env": "channel_field_password_env", "security": "channel_field_security", "to": "channel_field_to",
    "default": "channel_field_default", "timeout": "channel_field_timeout",
}
KIND_NAMES: dict[str, str] = {
    "webhook": "channel_kind_webhook", "wecom": "channel_kind_wecom", "dingtalk": "channel_kind_dingtalk",
    "feishu": "channel_kind_feishu", "lark": "channel_kind_lark", "slack": "channel_kind_slack",
    "email": "channel_kind_email",
}
SECURITY_NAMES: dict[str, str] = {"none": "channel_security_none", "starttls": "channel_security_starttls",
                                  "ssl": "channel_security_ssl"}
FIELDS: dict[str, FieldText] = {
    f: FieldText(Msg(code), {"kind": {k: Msg(c) for k, c in KIND_NAMES.items()},
                             "security": {k: Msg(c) for k, c in SECURITY_NAMES.items()}}.get(f, {}))
    for f, code in LABELS.items()}
KNOWN_KEYS = {"": tuple(Channel.model_fields)}


def problems_of(err: ValidationError) -> list[Msg]:
    """What pydantic found, in words: each field by its name, once each."""
    return list(dict.fromkeys(explain(e, FIELDS, KNOWN_KEYS) for e in err.errors()))


def parse_one(raw: object, where: str = "channel") -> Channel:
    """One definition, or ValueError holding every problem as a list of messages."""
    if not isinstance(raw, dict):
        raise ValueError([Msg("channel_not_mapping", where=where)])
    try:
        return Channel.model_validate(raw)
    except ValidationError as err:
        name = raw.get("name") if isinstance(raw.get("name"), str) else where
        raise ValueError([Msg("channel_problem", channel=name, problem=p) for p in problems_of(err)]) from None


def parse(raw: list, where: str = "channels") -> tuple[list[Channel], list[Msg]]:
    """Definitions of a `channels:` list and every problem found (each naming the channel)."""
    out: list[Channel] = []
    problems: list[Msg] = []
    for i, item in enumerate(raw, 1):
        try:
            ch = parse_one(item, f"{where}[{i}]")
        except ValueError as exc:
            problems += exc.args[0]
            continue
        if any(c.name == ch.name for c in out):
            problems.append(Msg("channel_defined_twice", channel=ch.name))
            continue
        out.append(ch)
    defaults = [c.name for c in out if c.default]
    if len(defaults) > 1:
        problems.append(Msg("channel_two_defaults", channels=", ".join(defaults)))
    return out, problems
