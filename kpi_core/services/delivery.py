"""Delivering the outbox: claim what is due (a short transaction), send outside any transaction,
record each outcome (another short one). Failures are retried with back-off (store/deliveries.py)
and end as dead letters the admins are told about; `test` sends one message through a channel now.

Links in messages are app-relative; with `KPI_BASE_URL` set (e.g. https://kpi.example.com) they
are made absolute in e-mails and webhook calls.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from kpi_core.model.access import Actor, acting, as_actor
from kpi_core.model.channel import Channel
from kpi_core.model.messages import Msg
from kpi_core.model.notice import Notice
from kpi_core.services import mail, webhooks
from kpi_core.services.webhooks import SendFailed
from kpi_core.store import channels, deliveries
from kpi_core.store.warehouse import Warehouse
from kpi_core.store.warehouse import now as clock

BASE_URL_ENV = "KPI_BASE_URL"


def base_url() -> str | None:
    return os.environ.get(BASE_URL_ENV) or None


@dataclass
class Report:
    """What one delivery run did, by outbox id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "retrying": self.retrying, "dead": self.dead,
                "errors": {str(k): v for k, v in self.errors.items()}}


def scrub(text: str, ch: Channel | None, secret: str | None) -> str:
    """An error text with the secret, the password and the webhook URL (which often holds an access
    token) replaced by ***, so what is stored and shown never carries them."""
    hidden = [s for s in (secret, ch.url if ch else None) if s]
    if ch and ch.url and "?" in ch.url:
        hidden += [v for part in ch.url.split("?", 1)[1].split("&") for v in [part.partition("=")[2]] if len(v) >= 4]
    for s in sorted(hidden, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def send(ch: Channel | None, name: str, notice: Notice, address: str | None, secret: str | None,
         ident: str | None = None) -> None:
    """Send one message now; SendFailed saying why (before scrubbing)."""
    if ch is None:
        raise SendFailed(f"no channel named {name}")
    if ch.kind == "email":
        if not address:
            raise SendFailed("no e-mail address to send to")
        mail.send(ch, mail.message(ch, notice, address, base=base_url()), secret)
        return
    webhooks.post(ch, webhooks.build(ch, notice, secret, at=clock(), base=base_url(), ident=ident))


def deliver_due(wh: Warehouse, now: dt.datetime | None = None, *, limit: int = 50) -> Report:
    """Send the outbox messages that are due at `now` (default: the clock), at most `limit`."""
    now = now or clock()
    report = Report()
    for d in deliveries.claim(wh, now, limit=limit):
        try:
            send(d.channel, d.channel_name, d.notice, d.address, d.secret, str(d.id))
        except SendFailed as exc:
            error = scrub(str(exc), d.channel, d.secret)
        except Exception as exc:  # noqa: BLE001 — any fault of one message is that message's failure
            error = scrub(f"{type(exc).__name__}: {exc}", d.channel, d.secret)
        else:
            if deliveries.mark_sent(wh, d.id, now):
                report.sent.append(d.id)
            continue
        status = deliveries.mark_failed(wh, d.id, error, now)
        report.errors[d.id] = error
        if status == "dead":
            report.dead.append(d.id)
        elif status == "pending":
            report.retrying.append(d.id)
    return report


def retry(wh: Warehouse, oid: int, *, user: str | Actor = "admin", now: dt.datetime | None = None) -> None:
    """Put a dead letter back in the queue, due now."""
    deliveries.retry(wh, oid, now or clock(), user=user)


@dataclass(frozen=True)
class TestResult:
    channel: str
    status: str                      # sent | failed
    error: str | None = None
    addresses: tuple[str, ...] = ()  # e-mail: where it went

    def as_dict(self) -> dict:
        return {"channel": self.channel, "status": self.status, "error": self.error,
                "addresses": list(self.addresses)}


def test(wh: Warehouse, name: str, user: str | Actor = "admin", *, lang: str | None = None) -> TestResult:
    """Send a test message through one channel now (admins only) and say what happened. An e-mail
    channel writes to its own `to` addresses, or else to the acting user's address."""
    actor = as_actor(user)
    acting(actor, channels.CAPABILITY)
    with wh.connect() as con:
        ch = channels.lookup(con, name)
        secret = channels.secret_of(con, ch)
        found = con.execute("SELECT a.email, p.value FROM app_user a LEFT JOIN user_pref p ON p.user_name = a.name "
                            "AND p.key = 'lang' WHERE a.name = ?", [actor.name]).fetchall()
    own_address, own_lang = found[0] if found else (None, None)
    lang = lang or (own_lang if own_lang in ("zh", "en") else "zh")
    notice = Notice("system", Msg("channel_test_subject", channel=name).render(lang),
                    Msg("channel_test_body", channel=name, user=actor.name).render(lang), ref=f"test:{name}")
    addresses: tuple[str, ...] = ()
    if ch.kind == "email":
        addresses = tuple(ch.to) or ((own_address,) if own_address else ())
        if not addresses:
            return TestResult(name, "failed", Msg("channel_test_no_address").render(lang))
    try:
        for address in addresses or (None,):
            send(ch, name, notice, address, secret)
    except SendFailed as exc:
        return TestResult(name, "failed", scrub(str(exc), ch, secret), addresses)
    return TestResult(name, "sent", None, addresses)
