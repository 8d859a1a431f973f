"""Channels in the warehouse (kpi_core/store/channels.py): apply from YAML, list, remove, the
default e-mail channel, and secrets that are never shown, exported, audited or put in a message."""

import json

import pytest

from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, NotFound, ValidationFailed
from kpi_core.model.notice import Notice
from kpi_core.store import audit, channels, outbox

SECRET = "typed-secret-XYZ-987"
YAML = """
alerts:
  - code: cost_red
    metric: cost
channels:
  - {name: ops_hook, kind: webhook, url: "http://127.0.0.1:9000/hook", secret_env: KPI_HOOK_SECRET}
  - {name: mail, kind: email, host: 127.0.0.1, port: 1025, sender: kpi@example.com}
"""


@pytest.fixture
def applied(wh, tmp_path):
    path = tmp_path / "notify.yaml"
    path.write_text(YAML, encoding="utf-8")
    return channels.apply_file(wh, path, reason="first channels")


def test_apply_creates_then_updates_then_leaves_unchanged(wh, applied, tmp_path):
    assert applied.as_dict() == {"created": ["ops_hook", "mail"], "updated": [], "unchanged": []}
    path = tmp_path / "again.yaml"
    path.write_text(YAML.replace("1025", "2525"), encoding="utf-8")
    assert channels.apply_file(wh, path).as_dict() == {"created": [], "updated": ["mail"], "unchanged": ["ops_hook"]}
    assert channels.get(wh, "mail").port == 2525
    entries = audit.search(wh, audit.Search(object_type="channel"))
    assert [(e["action"], e["object_key"]) for e in entries] == [("update", "mail"), ("create", "mail"),
                                                                  ("create", "ops_hook")]


def test_a_file_with_problems_changes_nothing(wh, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("channels:\n  - {name: ok, kind: slack, url: 'http://x'}\n  - {name: bad, kind: email}\n",
                    encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        channels.apply_file(wh, path)
    assert any("an e-mail channel needs `host`" in p for p in err.value.problems)
    assert channels.list_channels(wh) == []


@pytest.mark.parametrize(("env", "stored", "state"), [
    (None, None, "missing"),       # the variable is named but empty, nothing typed in
    (SECRET, None, "env"),
    (None, SECRET, "stored"),
    ("from-env", SECRET, "env"),   # the environment wins
])
def test_the_secret_comes_from_the_environment_or_what_an_admin_typed(wh, applied, monkeypatch, env, stored, state):
    if env:
        monkeypatch.setenv("KPI_HOOK_SECRET", env)
    else:
        monkeypatch.delenv("KPI_HOOK_SECRET", raising=False)
    if stored:
        channels.set_secret(wh, "ops_hook", stored)
    [info] = [i for i in channels.list_channels(wh) if i.channel.name == "ops_hook"]
    assert info.secret == state
    with wh.connect() as con:
        assert channels.secret_of(con, info.channel) == (env or stored)


def test_a_typed_secret_is_never_listed_exported_or_audited(wh, applied, tmp_path):
    channels.set_secret(wh, "mail", SECRET)
    listed = json.dumps([i.as_dict() for i in channels.list_channels(wh)])
    assert SECRET not in listed and '"secret": "set"' in listed
    assert SECRET not in channels.export(wh, tmp_path / "out.yaml")
    assert SECRET not in (tmp_path / "out.yaml").read_text(encoding="utf-8")
    channels.set_secret(wh, "mail", None)
    channels.remove(wh, "mail", reason="gone")
    with wh.connect() as con:
        log = json.dumps(audit.entries(con, 1000), default=str)
    assert SECRET not in log
    actions = [(e["action"], e["before"], e["after"]) for e in audit.search(wh, audit.Search(object_key="mail"))]
    assert actions[:3] == [("delete", actions[0][1], None),
                           ("clear_secret", '{"secret": "set"}', '{"secret": "not set"}'),
                           ("set_secret", '{"secret": "not set"}', '{"secret": "set"}')]
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM channel_secret").fetchall()[0][0] == 0


@pytest.mark.parametrize("bad", ["", "   ", "two\nlines", "x" * 5000])
def test_a_secret_must_be_one_visible_line(wh, applied, bad):
    with pytest.raises(Exception, match="one line"):
        channels.set_secret(wh, "mail", bad)


def test_only_admins_change_channels(wh, applied):
    li = Actor("li", "manager", ("SALES",))
    with pytest.raises(AccessDenied):
        channels.set_secret(wh, "mail", SECRET, user=li)
    with pytest.raises(AccessDenied):
        channels.save(wh, {"name": "x", "kind": "slack", "url": "http://x"}, user=li)
    with pytest.raises(NotFound):
        channels.remove(wh, "nope")


@pytest.mark.parametrize(("defined", "carrier"), [
    ([], None),
    ([{"name": "a", "kind": "email", "host": "h", "sender": "k@example.com"}], "a"),   # the only one
    ([{"name": "a", "kind": "email", "host": "h", "sender": "k@example.com"},
      {"name": "b", "kind": "email", "host": "h", "sender": "k@example.com"}], None),  # two, none marked
    ([{"name": "a", "kind": "email", "host": "h", "sender": "k@example.com"},
      {"name": "b", "kind": "email", "host": "h", "sender": "k@example.com", "default": True}], "b"),
])
def test_the_email_channel_that_carries_mail_to_users(wh, defined, carrier):
    from kpi_core.auth import users

    users.add(wh, "li", "manager", orgs=["SALES"], email="li@example.com")
    for d in defined:
        channels.save(wh, d)
    with wh.transaction(bump=False) as con:
        found = channels.mail_channel(con)
        assert (found.name if found else None) == carrier
        ids = outbox.notify_user(con, "li", Notice("alert", "s", "b"), now=channels.now())
        rows = con.execute("SELECT channel, address FROM outbox").fetchall()
    assert rows == ([(carrier, "li@example.com")] if carrier else [])
    assert len(ids) == (2 if carrier else 1)


def test_a_second_default_email_channel_is_refused(wh):
    channels.save(wh, {"name": "a", "kind": "email", "host": "h", "sender": "k@example.com", "default": True})
    with pytest.raises(ValidationFailed) as err:
        channels.save(wh, {"name": "b", "kind": "email", "host": "h", "sender": "k@example.com", "default": True})
    assert "a, b" in err.value.problems[0]
