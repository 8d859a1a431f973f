"""kpi channels: apply, list, secret, test, deliver, dead, retry and remove, through the command line
against a real HTTP receiver and SMTP server; secrets never printed."""

from __future__ import annotations

import json

from kpi_core.auth import users
from kpi_core.store import deliveries, outbox
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli
from tests.notify_servers import http_receiver, smtp_server  # noqa: F401 (fixtures)
from tests.services.test_delivery import NOTICE, T0

SECRET = "cli-secret-QQQ-4711"


def test_apply_list_secret_test_and_remove(wh_path, tmp_path, http_receiver, smtp_server):  # noqa: F811
    f = tmp_path / "channels.yaml"
    f.write_text(f"channels:\n  - {{name: hook, kind: webhook, url: '{http_receiver.url}/h', secret_env: HOOK_KEY}}\n"
                 f"  - {{name: mail, kind: email, host: 127.0.0.1, port: {smtp_server.port}, sender: k@example.com,"
                 " to: [ops@example.com]}\n", encoding="utf-8")
    r = cli(wh_path, "--format", "json", "channels", "apply", str(f))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"created": ["hook", "mail"], "updated": [], "unchanged": []}
    r = cli(wh_path, "channels", "secret", "hook", input=SECRET + "\n")
    assert r.returncode == 0 and SECRET not in r.stdout + r.stderr
    r = cli(wh_path, "--format", "json", "channels", "list")
    assert SECRET not in r.stdout
    assert [(c["name"], c["secret"]) for c in json.loads(r.stdout)] == [("hook", "set"), ("mail", "not set")]
    r = cli(wh_path, "--format", "json", "channels", "test", "hook")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "sent"
    assert http_receiver.calls[0].headers["x-kpi-signature"].startswith("sha256=")
    r = cli(wh_path, "channels", "test", "mail")
    assert r.returncode == 0 and "mail: sent to ops@example.com" in r.stdout
    assert smtp_server.messages[0]["Subject"] == "Test message from KPI Cockpit (mail)"
    r = cli(wh_path, "--format", "json", "channels", "test", "nope")
    assert r.returncode == 4 and "no channel named nope" in r.stderr
    users.add(open_warehouse(wh_path), "li", "manager", orgs=["SALES"])
    r = cli(wh_path, "--user", "li", "channels", "list")  # URLs hold access tokens: admins only
    assert r.returncode == 5
    r = cli(wh_path, "--format", "json", "channels", "remove", "hook")
    assert r.returncode == 0 and json.loads(r.stdout) == {"removed": "hook"}


def test_deliver_dead_and_retry(wh_path, http_receiver):  # noqa: F811
    wh = open_warehouse(wh_path)
    users.add(wh, "li", "manager", orgs=["SALES"])
    f = wh_path.parent / "c.yaml"
    f.write_text(f"channels:\n  - {{name: hook, kind: webhook, url: '{http_receiver.url}/h'}}\n", encoding="utf-8")
    assert cli(wh_path, "channels", "apply", str(f)).returncode == 0
    with wh.transaction(bump=False) as con:
        oid = outbox.to_channel(con, "hook", NOTICE, now=T0)
        con.execute("UPDATE outbox SET attempts = ? WHERE id = ?", [deliveries.MAX_ATTEMPTS - 1, oid])
    wh.let_go()
    http_receiver.answer(500, "no")
    r = cli(wh_path, "--format", "json", "channels", "deliver", "--now", "2026-11-27T09:00:00")
    assert json.loads(r.stdout) == {"sent": [], "retrying": [], "dead": [oid], "errors": {str(oid): "HTTP 500: no"}}
    r = cli(wh_path, "--format", "json", "channels", "dead")
    assert [(d["id"], d["status"], d["last_error"]) for d in json.loads(r.stdout)] == [(oid, "dead", "HTTP 500: no")]
    r = cli(wh_path, "--user", "li", "channels", "dead")
    assert r.returncode == 5
    r = cli(wh_path, "--user", "li", "channels", "retry", str(oid))
    assert r.returncode == 5
    r = cli(wh_path, "channels", "retry", str(oid))
    assert r.returncode == 0 and f"#{oid} queued again" in r.stdout
    r = cli(wh_path, "channels", "retry", str(oid))
    assert r.returncode == 1 and "not dead" in r.stderr
    r = cli(wh_path, "channels", "deliver")
    assert r.returncode == 0 and r.stdout.startswith("sent 1, retrying 0, dead 0")
    r = cli(wh_path, "channels", "dead")
    assert r.stdout.strip() == "(no dead letters)"
