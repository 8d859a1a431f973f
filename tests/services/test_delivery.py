"""Delivering the outbox (kpi_core/services/delivery.py, webhooks.py, mail.py) against real
receivers on 127.0.0.1: each webhook kind in its vendor's format with the signature computed here
from the vendor's documented recipe, e-mail through aiosmtpd, retries with back-off, dead letters
the admins are told about, no message sent twice by two senders, and secrets kept out of errors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import threading

import pytest

from kpi_core.auth import users
from kpi_core.model.notice import Attachment, Notice
from kpi_core.services import delivery
from kpi_core.store import channels, deliveries, outbox
from kpi_core.store.outbox import inbox
from kpi_core.store.warehouse import now as clock
from tests.notify_servers import http_receiver, smtp_server  # noqa: F401 (fixtures)

SECRET = "s3cret-SEC-value"
T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
NOTICE = Notice("alert", "Cost is red in SALES", "Cost 120 against a target of 100.\nAttainment 83%",
                ref="alert:cost_red:cost:SALES:2026-10", link="?org=SALES&period=2026-10",
                rows=({"unit": "SALES", "actual": 120, "target": 100}, {"unit": "EAST", "actual": 70, "target": 60}))


def add_channel(wh, **definition) -> None:
    channels.save(wh, definition)


def queue(wh, channel: str, notice: Notice = NOTICE, *, n: int = 1, at: dt.datetime = T0, address=None) -> list[int]:
    with wh.transaction(bump=False) as con:
        return [outbox.to_channel(con, channel, notice, now=at, address=address) for _ in range(n)]


def status_of(wh, oid: int) -> tuple:
    with wh.connect() as con:
        return con.execute("SELECT status, attempts, last_error FROM outbox WHERE id = ?", [oid]).fetchall()[0]


def test_generic_webhook_carries_the_notice_signed_with_hmac_sha256(wh, http_receiver, monkeypatch):  # noqa: F811
    monkeypatch.setenv("KPI_HOOK_SECRET", SECRET)
    monkeypatch.setenv("KPI_BASE_URL", "https://kpi.example.com/")
    add_channel(wh, name="ops_hook", kind="webhook", url=f"{http_receiver.url}/hook", secret_env="KPI_HOOK_SECRET")
    [oid] = queue(wh, "ops_hook")
    report = delivery.deliver_due(wh, T0)
    assert report.sent == [oid]
    [call] = http_receiver.calls
    assert (call.method, call.path) == ("POST", "/hook")
    ts = call.headers["x-kpi-timestamp"]
    expected = hmac.new(SECRET.encode(), ts.encode() + b"." + call.body, hashlib.sha256).hexdigest()
    assert call.headers["x-kpi-signature"] == f"sha256={expected}"
    assert abs(int(ts) - clock().timestamp()) < 60
    body = call.json
    assert {k: body[k] for k in ("kind", "subject", "body", "ref", "link")} == {
        "kind": "alert", "subject": NOTICE.subject, "body": NOTICE.body, "ref": NOTICE.ref,
        "link": "https://kpi.example.com/?org=SALES&period=2026-10"}
    assert body["rows"] == [dict(r) for r in NOTICE.rows]
    assert status_of(wh, oid)[:2] == ("sent", 1)


def test_dingtalk_is_signed_in_the_query_as_dingtalk_documents(wh, http_receiver):  # noqa: F811
    add_channel(wh, name="ding", kind="dingtalk", url=f"{http_receiver.url}/robot/send?access_token=tok123")
    channels.set_secret(wh, "ding", SECRET)
    [oid] = queue(wh, "ding")
    assert delivery.deliver_due(wh, T0).sent == [oid]
    [call] = http_receiver.calls
    ts = call.query["timestamp"]
    # DingTalk's recipe: string_to_sign = timestamp + "\n" + secret; HmacSHA256 keyed by the secret; Base64.
    digest = hmac.new(SECRET.encode("utf-8"), f"{ts}\n{SECRET}".encode(), digestmod=hashlib.sha256).digest()
    assert call.query["sign"] == base64.b64encode(digest).decode()
    assert call.query["access_token"] == "tok123"
    assert abs(int(ts) / 1000 - clock().timestamp()) < 60  # milliseconds
    assert call.json["msgtype"] == "markdown"
    assert call.json["markdown"]["title"] == NOTICE.subject
    assert "Attainment 83%" in call.json["markdown"]["text"] and "unit: EAST" in call.json["markdown"]["text"]


@pytest.mark.parametrize("kind", ["feishu", "lark"])
def test_feishu_and_lark_are_signed_in_the_body_as_feishu_documents(wh, http_receiver, kind):  # noqa: F811
    add_channel(wh, name="fs", kind=kind, url=f"{http_receiver.url}/open-apis/bot/v2/hook/abc")
    channels.set_secret(wh, "fs", SECRET)
    queue(wh, "fs")
    assert len(delivery.deliver_due(wh, T0).sent) == 1
    body = http_receiver.calls[0].json
    ts = body["timestamp"]
    # Feishu's recipe: key = timestamp + "\n" + secret, HmacSHA256 over an empty message, Base64.
    digest = hmac.new(f"{ts}\n{SECRET}".encode(), digestmod=hashlib.sha256).digest()
    assert body["sign"] == base64.b64encode(digest).decode("utf-8")
    assert abs(int(ts) - clock().timestamp()) < 60  # seconds
    post = body["content"]["post"]["zh_cn"]
    assert body["msg_type"] == "post" and post["title"] == NOTICE.subject
    texts = [el["text"] for line in post["content"] for el in line]
    assert "Attainment 83%" in texts


def test_wecom_and_slack_payloads(wh, http_receiver):  # noqa: F811
    add_channel(wh, name="wx", kind="wecom", url=f"{http_receiver.url}/cgi-bin/webhook/send?key=k1")
    add_channel(wh, name="sl", kind="slack", url=f"{http_receiver.url}/services/T/B/X")
    queue(wh, "wx")
    queue(wh, "sl", Notice("alert", "<!channel> & co", "a > b"))
    assert len(delivery.deliver_due(wh, T0).sent) == 2
    by_path = {c.path: c for c in http_receiver.calls}
    wx, sl = by_path["/cgi-bin/webhook/send"], by_path["/services/T/B/X"]
    assert wx.json["msgtype"] == "markdown" and wx.json["markdown"]["content"].startswith(f"**{NOTICE.subject}**")
    # Slack: text and blocks, with &, < and > escaped so no mention is made from the text.
    assert sl.json["text"] == "&lt;!channel&gt; &amp; co\na &gt; b"
    assert sl.json["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "<!channel> & co"}}


@pytest.mark.parametrize(("kind", "status", "reply", "sent"), [
    ("dingtalk", 200, '{"errcode": 310000, "errmsg": "sign not match"}', False),
    ("dingtalk", 200, '{"errcode": 0, "errmsg": "ok"}', True),
    ("wecom", 200, '{"errcode": 93000, "errmsg": "invalid webhook url"}', False),
    ("feishu", 200, '{"code": 19021, "msg": "sign match fail"}', False),
    ("feishu", 200, '{"StatusCode": 0, "code": 0}', True),
    ("slack", 200, "ok", True),
    ("slack", 404, "no_service", False),
    ("webhook", 204, "", True),
    ("webhook", 500, "oops", False),
])
def test_a_vendor_reply_that_reports_an_error_is_a_failure(wh, http_receiver, kind, status, reply, sent):  # noqa: F811
    add_channel(wh, name="c", kind=kind, url=f"{http_receiver.url}/x")
    http_receiver.answer(status, reply)
    [oid] = queue(wh, "c")
    report = delivery.deliver_due(wh, T0)
    assert (report.sent == [oid]) is sent
    assert status_of(wh, oid)[0] == ("sent" if sent else "pending")


def test_email_has_subject_text_html_table_and_attachments(wh, smtp_server):  # noqa: F811
    add_channel(wh, name="mail", kind="email", host=smtp_server.host, port=smtp_server.port, sender="kpi@example.com")
    xlsx = bytes(range(256)) * 4
    notice = Notice("subscription", "周报：成本", "本周成本上升。\n详见附件。", link="?board=weekly",
                    rows=({"单位": "SALES", "实际": 120}, {"单位": "<b>EAST</b>", "实际": None}),
                    attachments=(Attachment("board.xlsx", "application/vnd.ms-excel", xlsx),
                                 Attachment("board.png", "image/png", b"\x89PNG\r\n\x1a\nfake")))
    [oid] = queue(wh, "mail", notice, address="li@example.com")
    assert delivery.deliver_due(wh, T0).sent == [oid]
    [env] = smtp_server.envelopes
    assert env.recipients == ["li@example.com"] and env.sender == "kpi@example.com"
    [msg] = smtp_server.messages
    assert msg["Subject"] == "周报：成本"
    text = msg.get_body(("plain",)).get_content()
    assert "本周成本上升。" in text and "SALES" in text and "?board=weekly" in text
    html = msg.get_body(("html",)).get_content()
    assert "<table" in html and "<td style='padding:4px 8px'>SALES</td>" in html
    assert "&lt;b&gt;EAST&lt;/b&gt;" in html and "<b>EAST" not in html
    files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert files == {"board.xlsx": xlsx, "board.png": b"\x89PNG\r\n\x1a\nfake"}


def test_a_500_then_200_is_retried_after_the_back_off_and_sent_once(wh, http_receiver):  # noqa: F811
    add_channel(wh, name="hook", kind="webhook", url=f"{http_receiver.url}/h")
    http_receiver.answer(500, "busy")
    [oid] = queue(wh, "hook")
    first = delivery.deliver_due(wh, T0)
    assert first.retrying == [oid] and first.errors[oid] == "HTTP 500: busy"
    assert delivery.deliver_due(wh, T0 + dt.timedelta(seconds=59)).as_dict()["sent"] == []  # not due yet
    assert len(http_receiver.calls) == 1
    assert delivery.deliver_due(wh, T0 + dt.timedelta(minutes=1)).sent == [oid]
    assert delivery.deliver_due(wh, T0 + dt.timedelta(days=1)).sent == []
    assert len(http_receiver.calls) == 2
    assert status_of(wh, oid) == ("sent", 2, None)


def test_repeated_failure_goes_dead_tells_the_admins_and_retry_sends_it(wh, http_receiver):  # noqa: F811
    users.add(wh, "boss", "admin", email=None)
    users.add(wh, "li", "manager", orgs=["SALES"])
    add_channel(wh, name="hook", kind="webhook", url=f"{http_receiver.url}/h")
    http_receiver.default = (503, b"down")
    [oid] = queue(wh, "hook")
    at, waits = T0, []
    for _ in range(deliveries.MAX_ATTEMPTS):
        report = delivery.deliver_due(wh, at)
        with wh.connect() as con:
            next_at = con.execute("SELECT next_at FROM outbox WHERE id = ?", [oid]).fetchall()[0][0]
        waits.append(next_at - at)
        at = next_at
    assert report.dead == [oid]
    minute = dt.timedelta(minutes=1)
    assert waits[:-1] == [minute, 5 * minute, 30 * minute, 120 * minute, 360 * minute]
    assert status_of(wh, oid) == ("dead", 6, "HTTP 503: down")
    assert [d.id for d in deliveries.letters(wh)] == [oid]
    told = inbox(wh, "boss")
    assert [(m.kind, m.ref) for m in told] == [("system", f"outbox:{oid}")]
    assert "hook" in told[0].subject and "HTTP 503: down" in told[0].body
    assert inbox(wh, "li") == []  # only admins are told
    assert delivery.deliver_due(wh, at + dt.timedelta(days=3)).sent == []  # dead stays dead
    http_receiver.default = (200, b"{}")
    delivery.retry(wh, oid, now=at)
    assert delivery.deliver_due(wh, at).sent == [oid]
    assert status_of(wh, oid)[0] == "sent"
    assert deliveries.letters(wh) == []


def test_two_senders_at_once_never_send_a_message_twice(wh, http_receiver):  # noqa: F811
    add_channel(wh, name="hook", kind="webhook", url=f"{http_receiver.url}/h")
    ids = queue(wh, "hook", n=30)
    reports: list = []
    start = threading.Barrier(2)

    def sender():
        start.wait()
        for _ in range(3):
            reports.append(delivery.deliver_due(wh, T0, limit=7))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    sent = [i for r in reports for i in r.sent]
    assert sorted(sent) == ids  # every message once, none twice
    assert len(http_receiver.calls) == 30
    assert sorted(int(c.json["id"]) for c in http_receiver.calls) == ids


def test_a_message_for_one_user_goes_only_to_that_users_address(wh, smtp_server):  # noqa: F811
    users.add(wh, "li", "manager", orgs=["SALES"], email="li@example.com")
    users.add(wh, "wang", "manager", orgs=["OPS"], email="wang@example.com")
    users.add(wh, "zhao", "employee", orgs=["EAST"])  # no address: inbox only
    add_channel(wh, name="mail", kind="email", host=smtp_server.host, port=smtp_server.port,
                sender="kpi@example.com", default=True)
    for_li = Notice("alert", "SALES red", "SALES: 120 / 100")
    with wh.transaction(bump=False) as con:
        li_ids = outbox.notify_user(con, "li", for_li, now=T0)
        zhao_ids = outbox.notify_user(con, "zhao", Notice("alert", "EAST", "EAST"), now=T0)
    assert len(li_ids) == 2 and len(zhao_ids) == 1
    delivery.deliver_due(wh, T0)
    assert [e.recipients for e in smtp_server.envelopes] == [["li@example.com"]]
    assert smtp_server.messages[0]["Subject"] == "SALES red"
    assert [m.subject for m in inbox(wh, "li")] == ["SALES red"] and inbox(wh, "wang") == []


def test_an_email_channel_with_its_own_addresses_gets_one_message_each(wh, smtp_server):  # noqa: F811
    add_channel(wh, name="ops_mail", kind="email", host=smtp_server.host, port=smtp_server.port,
                sender="kpi@example.com", to=["a@example.com", "b@example.com"])
    with wh.transaction(bump=False) as con:
        outbox.notify_channel(con, "ops_mail", NOTICE, now=T0)
    assert len(delivery.deliver_due(wh, T0).sent) == 2
    assert sorted(r for e in smtp_server.envelopes for r in e.recipients) == ["a@example.com", "b@example.com"]


def test_errors_stored_never_hold_the_secret_or_the_url_token(wh, http_receiver, smtp_server):  # noqa: F811
    add_channel(wh, name="ding", kind="dingtalk", url=f"{http_receiver.url}/send?access_token=TOKEN-abc-123")
    channels.set_secret(wh, "ding", SECRET)
    http_receiver.answer(400, f"bad sign for secret {SECRET} token TOKEN-abc-123")
    [hook] = queue(wh, "ding")
    add_channel(wh, name="mail", kind="email", host=smtp_server.host, port=smtp_server.port, sender="k@example.com",
                username="kpi", password_env="KPI_NO_SUCH_PASSWORD")
    [mail] = queue(wh, "mail", address="x@example.com")
    report = delivery.deliver_due(wh, T0)
    hook_error, mail_error = status_of(wh, hook)[2], status_of(wh, mail)[2]
    assert SECRET not in hook_error and "TOKEN-abc-123" not in hook_error and "***" in hook_error
    assert "password" in mail_error and report.retrying == [hook, mail]


@pytest.mark.parametrize(("make", "status"), [
    (lambda r, s: {"kind": "webhook", "url": f"{r.url}/t"}, "sent"),
    (lambda r, s: {"kind": "slack", "url": "http://127.0.0.1:9/nothing-listens"}, "failed"),
    (lambda r, s: {"kind": "email", "host": s.host, "port": s.port, "sender": "k@example.com",
                   "to": ["ops@example.com"]}, "sent"),
])
def test_channel_test_sends_now_and_says_what_happened(wh, http_receiver, smtp_server, make, status):  # noqa: F811
    add_channel(wh, name="c", **make(http_receiver, smtp_server))
    got = delivery.test(wh, "c", "admin", lang="zh")
    assert got.status == status and (got.error is None) == (status == "sent")
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM outbox").fetchall()[0][0] == 0  # sent at once, not queued
    if make(http_receiver, smtp_server)["kind"] == "email":
        assert smtp_server.messages[0]["Subject"] == "绩效驾驶舱测试消息（c）"
        assert smtp_server.envelopes[0].recipients == ["ops@example.com"]


def test_an_unknown_channel_fails_and_is_retried(wh):
    [oid] = queue(wh, "gone")
    report = delivery.deliver_due(wh, T0)
    assert report.retrying == [oid] and report.errors[oid] == "no channel named gone"
