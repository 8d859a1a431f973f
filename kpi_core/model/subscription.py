"""A subscription: a user's board or cockpit place, sent to them on a schedule or after each
import (SPEC §9); the model and its checks, no I/O."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.validation import FieldText, explain

Schedule = Literal["daily", "weekly", "monthly", "after_import"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Subscription(BaseModel):
    """What is sent (a board, or a cockpit place), to whom and when. `at` is the server's local
    time; `weekday` counts for weekly, `day` (of the month, 1–28) for monthly."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=64)
    board: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    cockpit: str | None = Field(default=None, min_length=1, max_length=64)  # an org unit's code
    schedule: Schedule = "weekly"
    at: str = "08:00"
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    day: int = Field(default=1, ge=1, le=28)
    active: bool = True

    @field_validator("at")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(Msg("model_subscription_at_rule", got=v))
        return v

    @model_validator(mode="after")
    def _one_target(self) -> Subscription:
        if (self.board is None) == (self.cockpit is None):
            raise ValueError(Msg("model_subscription_one_target"))
        return self

    @property
    def key(self) -> str:
        """Who and what: a user has at most one subscription per board or cockpit place."""
        return f"{self.user}:board:{self.board}" if self.board else f"{self.user}:cockpit:{self.cockpit}"

    def definition(self) -> dict:
        return self.model_dump(exclude_defaults=False, exclude_none=True)


FIELDS = {f: FieldText(Msg(f"model_subscription_field_{f}")) for f in
          ("user", "board", "cockpit", "at", "day", "active")}
FIELDS["schedule"] = FieldText(Msg("model_subscription_field_schedule"),
                               {s: Msg(f"model_subscription_schedule_{s}") for s in Schedule.__args__})
FIELDS["weekday"] = FieldText(Msg("model_subscription_field_weekday"),
                              {d: Msg(f"model_subscription_weekday_{d}") for d in WEEKDAYS})
KNOWN = {"": tuple(Subscription.model_fields)}


def parse(raw: list, source: str) -> tuple[list[Subscription], list[Msg]]:
    """Subscriptions and the problems of the ones refused (each named by its position)."""
    subs: list[Subscription] = []
    problems: list[Msg] = []
    for i, item in enumerate(raw, start=1):
        try:
            subs.append(Subscription.model_validate(item))
        except ValidationError as exc:
            problems += [Msg("model_subscription_problem", source=source, n=i, problem=explain(e, FIELDS, KNOWN))
                         for e in exc.errors()]
    keys = [s.key for s in subs]
    problems += [Msg("model_subscription_repeated", source=source, key=k) for k in sorted(set(keys))
                 if keys.count(k) > 1]
    return subs, problems


def check_all(raw: list, source: str) -> list[Subscription]:
    subs, problems = parse(raw, source)
    if problems:
        raise ValidationFailed(Msg("model_subscription_problems", n=len(problems)), problems)
    return subs


def _at(sub: Subscription, day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    hh, mm = (int(x) for x in sub.at.split(":"))
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=tz)


def last_due(sub: Subscription, now: dt.datetime) -> dt.datetime | None:
    """The latest scheduled moment at or before `now` (in now's time zone); None for after_import."""
    if sub.schedule == "after_import":
        return None
    tz = now.tzinfo or dt.UTC
    day = now.date()
    for back in range(0, 62):  # at most two months back finds any schedule's last moment
        d = day - dt.timedelta(days=back)
        if sub.schedule == "weekly" and WEEKDAYS[d.weekday()] != sub.weekday:
            continue
        if sub.schedule == "monthly" and d.day != sub.day:
            continue
        moment = _at(sub, d, tz)
        if moment <= now:
            return moment
    return None


def is_due(sub: Subscription, now: dt.datetime, since: dt.datetime) -> bool:
    """A scheduled subscription is due when a scheduled moment has passed since `since` (its last
    send, or its creation: a new subscription waits for its first moment)."""
    moment = last_due(sub, now)
    return moment is not None and moment > since
