"""The early-warning path end to end on a copy of the demo company, with real servers and no mocks
(SPEC §9): channels and rules applied from one file by the CLI, a real import turns a KPI red, a
check fires once, delivery sends one e-mail to the unit's manager (naming only the units they may
read) and one signed webhook call; a second check is silent; the state is acknowledged with the
CLI, the data fixed (resolved), broken again (fires again: re-armed). And the late-upload rule:
nothing before the metric's due day, a firing and its messages after it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re

import pytest

from kpi_core.auth import users
from kpi_core.ingest.facts.load import import_facts
from kpi_core.query.api import context
from kpi_core.services import alerts
from kpi_core.services.delivery import deliver_due
from kpi_core.store import alerts as alert_store
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli
from tests.conftest import DEMO_TODAY
from tests.notify_servers import http_receiver, smtp_server  # noqa: F401 (fixtures)

SECRET = "e2e-hook-secret-7f3a"
MGR_MAIL = "mgr_d1@example.com"
AT = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def _file(tmp_path, smtp, hook, rules: str) -> str:
    f = tmp_path / "alerts.yaml"
    f.write_text(f"""
channels:
  - {{name: mail, kind: email, host: {smtp.host}, port: {smtp.port}, sender: kpi@example.com, default: true}}
  - {{name: hook, kind: webhook, url: "{hook.url}/kpi-hook", secret_env: KPI_E2E_HOOK_SECRET}}
alerts:
{rules}""", encoding="utf-8")
    return str(f)


def _apply(path, f) -> None:
    for what in ("channels", "alerts"):
        r = cli(path, what, "apply", f)
        assert r.returncode == 0, r.stderr


def _import(wh, tmp_path, rows: list[tuple[str, str, str, float]], name: str) -> None:
    """Actuals as a file arrives through the upload (the same import the page and the CLI use)."""
    f = tmp_path / name
    f.write_text("metric,org,period,value\n" + "".join(f"{m},{o},{p},{v}\n" for m, o, p, v in rows), encoding="utf-8")
    result = import_facts(wh, "actuals", f)
    assert result.batch is not None, result.errors


def _mail_text(msg) -> str:
    """Everything a reader of the e-mail sees: subject and every text part."""
    parts = [str(msg["Subject"])]
    parts += [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


def _outside_d1(wh) -> list[str]:
    """The names and codes of every unit outside D1's subtree (names a D1 unit shares left out)."""
    tree, _ = context(wh)
    inside = set(tree.subtree("D1"))
    inside_names = {tree.unit(c).name for c in inside}
    out = []
    for code in tree.subtree("HQ"):
        if code not in inside and code != "HQ":
            out.append(code)
            if tree.unit(code).name not in inside_names:
                out.append(tree.unit(code).name)
    return out


def _signed(call) -> bool:
    """The generic webhook's documented recipe: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))."""
    ts = call.headers["x-kpi-timestamp"]
    expected = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + call.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(call.headers.get("x-kpi-signature", ""), expected)


@pytest.fixture
def path(demo_path, monkeypatch):
    monkeypatch.setenv("KPI_E2E_HOOK_SECRET", SECRET)
    monkeypatch.delenv("KPI_BASE_URL", raising=False)
    users.update(open_warehouse(demo_path), "mgr_d1", email=MGR_MAIL)
    return demo_path


def test_red_upload_fires_once_is_told_acked_resolved_and_rearmed(path, tmp_path, smtp_server, http_receiver):  # noqa: F811
    rules = """  - code: cash_red
    metric: min_cash_balance
    scope: {org: HQ, include: children}
    when: {status: red}
    notify: [{unit_role: manager}, {channel: hook}]
"""
    _apply(path, _file(tmp_path, smtp_server, http_receiver, rules))
    wh = open_warehouse(path)
    assert alerts.check(wh, now=AT, today=DEMO_TODAY) == []  # the demo's November cash is green everywhere

    _import(wh, tmp_path, [("min_cash_balance", "D1", "2026-11", 40_000_000)], "low.csv")
    events = alerts.check(wh, now=AT + dt.timedelta(minutes=1), today=DEMO_TODAY)
    assert [(e.rule, e.metric, e.org, e.period, e.state) for e in events] == [
        ("cash_red", "min_cash_balance", "D1", "2026-11", "firing")]
    state_id = events[0].id

    report = deliver_due(wh, AT + dt.timedelta(minutes=2))
    assert report.errors == {} and len(report.sent) == 2
    [envelope] = smtp_server.envelopes
    assert envelope.recipients == [MGR_MAIL]
    text = _mail_text(smtp_server.messages[0])
    assert "D1" in text and "华东销售事业部" in text and "最低现金余额" in text  # zh: the manager's language
    outside = _outside_d1(wh)
    assert {"D2", "D6", "D2-CS"} <= set(outside)
    leaked = [u for u in outside if re.search(rf"(?<![A-Za-z0-9-]){re.escape(u)}(?![A-Za-z0-9-])", text)]
    assert leaked == [], leaked

    [call] = http_receiver.calls
    assert call.path == "/kpi-hook" and _signed(call)
    body = call.json
    assert body["kind"] == "alert" and [(r["org"], r["state"]) for r in body["rows"]] == [("D1", "firing")]
    assert abs(int(call.headers["x-kpi-timestamp"]) - int(dt.datetime.now(dt.UTC).timestamp())) < 600

    # unchanged data: nothing new, nothing sent
    assert alerts.check(wh, now=AT + dt.timedelta(hours=1), today=DEMO_TODAY) == []
    assert deliver_due(wh, AT + dt.timedelta(hours=1, minutes=1)).sent == []
    assert len(smtp_server.envelopes) == 1 and len(http_receiver.calls) == 1

    r = cli(path, "alerts", "ack", state_id)
    assert r.returncode == 0, r.stderr
    r = cli(path, "--format", "json", "alerts", "list")
    assert {s["id"]: s["state"] for s in json.loads(r.stdout)}[state_id] == "acknowledged"
    assert alerts.check(wh, now=AT + dt.timedelta(hours=2), today=DEMO_TODAY) == []  # acknowledged is silent

    _import(wh, tmp_path, [("min_cash_balance", "D1", "2026-11", 210_000_000)], "fixed.csv")
    events = alerts.check(wh, now=AT + dt.timedelta(hours=3), today=DEMO_TODAY)
    assert [(e.id, e.org, e.state) for e in events] == [(state_id, "D1", "resolved")]
    deliver_due(wh, AT + dt.timedelta(hours=3, minutes=1))
    assert len(smtp_server.envelopes) == 2 and "已恢复" in str(smtp_server.messages[-1]["Subject"])
    assert _signed(http_receiver.calls[-1]) and http_receiver.calls[-1].json["rows"][0]["state"] == "resolved"

    _import(wh, tmp_path, [("min_cash_balance", "D1", "2026-11", 30_000_000)], "again.csv")
    events = alerts.check(wh, now=AT + dt.timedelta(hours=4), today=DEMO_TODAY)
    assert [(e.id, e.org, e.state) for e in events] == [(state_id, "D1", "firing")]  # re-armed
    before_mail, before_calls = len(smtp_server.envelopes), len(http_receiver.calls)
    assert len(deliver_due(wh, AT + dt.timedelta(hours=4, minutes=1)).sent) == 2
    assert len(smtp_server.envelopes) == before_mail + 1 and len(http_receiver.calls) == before_calls + 1
    assert [s["state"] for s in alert_store.list_states(wh, today=DEMO_TODAY) if s["id"] == state_id] == ["firing"]


def test_late_upload_fires_after_the_due_day_only_and_is_delivered(path, tmp_path, smtp_server, http_receiver):  # noqa: F811
    """customer_complaints is due on the 5th of the next month. D1-CS's December file is not in:
    on 5 January nothing is late (November is judged, and it is there); on the 6th December is
    late, the D1 manager and the hook are told; the upload arriving resolves it."""
    rules = """  - code: cs_late
    metric: customer_complaints
    scope: {org: D1-CS, include: unit}
    when: {missing_after_due_day: true}
    notify: [{unit_role: manager}, {channel: hook}]
"""
    _apply(path, _file(tmp_path, smtp_server, http_receiver, rules))
    wh = open_warehouse(path)
    on_due_day = dt.datetime(2027, 1, 5, 9, tzinfo=dt.UTC)
    assert alerts.check(wh, now=on_due_day, today=on_due_day.date()) == []
    assert deliver_due(wh, on_due_day).sent == []

    after = dt.datetime(2027, 1, 6, 9, tzinfo=dt.UTC)
    events = alerts.check(wh, now=after, today=after.date())
    assert [(e.org, e.period, e.state) for e in events] == [("D1-CS", "2026-12", "firing")]
    assert len(deliver_due(wh, after).sent) == 2
    assert [e.recipients for e in smtp_server.envelopes] == [[MGR_MAIL]]
    assert "D1-CS" in _mail_text(smtp_server.messages[0])
    [call] = http_receiver.calls
    assert _signed(call) and call.json["rows"][0]["period"] == "2026-12"
    assert alerts.check(wh, now=after + dt.timedelta(hours=1), today=after.date()) == []

    _import(wh, tmp_path, [("customer_complaints", "D1-CS", "2026-12", 4)], "december.csv")
    events = alerts.check(wh, now=after + dt.timedelta(hours=2), today=after.date())
    assert [(e.org, e.state) for e in events] == [("D1-CS", "resolved")]
