"""Subscriptions sent: checked when saved (the user exists and may see what they subscribe to),
and, when due, rendered as their user — language and access — into a Notice with the digest's
words and rows, a PNG and an Excel file, queued for the user's inbox and e-mail."""

from __future__ import annotations

import datetime as dt
import urllib.parse

from kpi_core.auth import users
from kpi_core.model import access
from kpi_core.model.access import Actor, as_actor
from kpi_core.model.errors import AccessDenied, KpiError, NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.notice import Attachment, Notice
from kpi_core.model.subscription import Subscription, check_all, is_due
from kpi_core.present import digest
from kpi_core.present.board_export import board_image, workbook
from kpi_core.present.cockpit import default_period
from kpi_core.query.api import context, latest_month
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.store import boards, outbox, prefs
from kpi_core.store import subscriptions as store
from kpi_core.store.warehouse import Warehouse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def apply(wh: Warehouse, raw: list, *, by: str | Actor = "admin", source: str = "subscriptions") -> dict:
    """Save subscriptions, all or none: each user exists and may see the board or unit; a user
    who is not an admin saves only their own."""
    actor = as_actor(by)
    subs = check_all(raw, source)
    problems = []
    for sub in subs:
        if actor.role != "admin" and sub.user != actor.name:
            raise AccessDenied(Msg("store_subscription_not_yours"))
        problems += check(wh, sub)
    if problems:
        raise ValidationFailed(Msg("model_subscription_problems", n=len(problems)), problems)
    created, updated = store.save(wh, subs, by=actor.name)
    return {"created": created, "updated": updated,
            "unchanged": [s.key for s in subs if s.key not in created and s.key not in updated]}


def check(wh: Warehouse, sub: Subscription) -> list[Msg]:
    """What stops the subscription from being sent as its user."""
    if not store.user_exists(wh, sub.user):
        return [Msg("store_subscription_unknown_user", user=sub.user)]
    who = users.actor(wh, sub.user)
    if sub.board:
        try:
            boards.open_for(wh, sub.board, who)
        except NotFound:
            return [Msg("store_subscription_unknown_board", board=sub.board, user=sub.user)]
    else:
        tree, _ = context(wh)
        if sub.cockpit not in tree or not access.can(who, tree, "read", sub.cockpit):
            return [Msg("store_subscription_unknown_unit", org=sub.cockpit, user=sub.user)]
    return []


def remove(wh: Warehouse, key: str, *, by: str | Actor = "admin") -> None:
    actor = as_actor(by)
    sub = store.get(wh, key).sub
    if actor.role != "admin" and sub.user != actor.name:
        raise AccessDenied(Msg("store_subscription_not_yours"))
    store.remove(wh, key, by=actor.name)


def render(wh: Warehouse, sub: Subscription, *, today: dt.date) -> Notice:
    """The subscription as its user sees it today."""
    lang = prefs.get(wh, sub.user, "lang") or "zh"
    who = users.actor(wh, sub.user)
    tree, metrics = context(wh)
    latest = latest_month(wh, today)
    if sub.board:
        try:
            board = boards.open_for(wh, sub.board, who)
        except NotFound:
            return _gone(sub, lang)
        org = board.filters.org or tree.root
        if not access.can(who, tree, "read", org):
            org = access.home(who, tree) or org
        period = board.filters.period or default_period(today, latest)
        codes = [m for tile in board.ordered_tiles() for m in tile.metrics]
        if not codes or any(tile.type == "scorecard" for tile in board.ordered_tiles()):
            codes += unit_scorecard(wh, tree, org, period, actor=who, today=today).codes
        title = Msg("jobs_digest_subject_board", title=board.title, period=period).render(lang)
        link = "boards?" + urllib.parse.urlencode({"board": board.code})
    else:
        org = sub.cockpit
        if org not in tree or not access.can(who, tree, "read", org):
            return _gone(sub, lang)
        period = default_period(today, latest)
        codes = unit_scorecard(wh, tree, org, period, actor=who, today=today).codes
        title = Msg("jobs_digest_subject_cockpit", unit=tree.units[org].name, period=period).render(lang)
        link = "?" + urllib.parse.urlencode({"org": org, "period": period})
    d = digest.build(wh, codes, org, period, today=today, actor=who)
    table = digest.rows(d, metrics, tree, lang)
    files = [Attachment(f"{sub.board or org}_{period}.xlsx", XLSX,
                        workbook(wh, board, tree, metrics, today, lang, actor=who) if sub.board
                        else digest.excel(table, title, [x.now.status for x in d.lines]))]
    picture = (board_image(wh, board, tree, metrics, today, lang, actor=who) if sub.board
               else digest.png(d, metrics, lang, title))
    if picture:
        files.insert(0, Attachment(f"{sub.board or org}_{period}.png", "image/png", picture))
    return Notice("subscription", title, digest.text(d, metrics, tree, lang), ref=f"subscription:{sub.key}",
                  link=link, rows=tuple(table), attachments=tuple(files))


def _gone(sub: Subscription, lang: str) -> Notice:
    what = Msg("model_subscription_field_board" if sub.board else "model_subscription_field_cockpit").render(lang)
    text = Msg("jobs_digest_gone", what=what).render(lang)
    return Notice("subscription", text, text, ref=f"subscription:{sub.key}")


def run_due(wh: Warehouse, now: dt.datetime, *, today: dt.date | None = None, force: str | None = None) -> list[str]:
    """Send every subscription that is due (or the one `force` names) as its user; returns the
    keys sent. Each send and its bookmark commit together, so none goes twice."""
    local = now.astimezone()  # schedules are in the server's local time
    today = today or local.date()
    with wh.connect() as con:
        newest = store.newest_batch(con)
    sent, failed = [], []
    for s in store.listed(wh):
        sub = s.sub
        if force is not None and sub.key != force:
            continue
        due = (force is not None or (sub.active and (
            newest is not None and (s.last_batch is None or newest > s.last_batch)
            if sub.schedule == "after_import" else is_due(sub, local, s.since))))
        if not due:
            continue
        try:
            notice = render(wh, sub, today=today)
        except KpiError as exc:  # the others still go; this one is tried at its next due moment
            failed.append(f"{sub.key}: {exc}")
            continue
        with wh.transaction(bump=False) as con:
            outbox.notify_user(con, sub.user, notice, now=now)
            store.mark_sent(con, sub.key, at=now, batch=newest)
        sent.append(sub.key)
    if failed:  # the scheduler records the job as failed, naming them
        raise KpiError(Msg("jobs_subscriptions_failed", n=len(failed), sent=len(sent), detail="; ".join(failed)))
    return sent
