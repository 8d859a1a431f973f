"""Local users: argon2 hashes, sign-in, lock-out, first admin, OIDC mapping; and the CLI acting
as a user (`--user NAME`) for each role × capability."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kpi_core.auth import users
from kpi_core.cli.main import main
from kpi_core.model.errors import AccessDenied, LoginFailed, NotFound, ValidationFailed
from kpi_core.store import audit
from kpi_core.store.org import import_org_rows
from tests.conftest import ORG

PW = "s3cret-enough"


@pytest.fixture
def people(wh):
    import_org_rows(wh, ORG + [("P1", "张三", "EAST"), ("P3", "王五", "SOUTH")], source="people")
    users.add(wh, "root", "admin", password=PW)
    users.add(wh, "ceo", "executive", orgs=["HQ"], password=PW)
    users.add(wh, "sun", "manager", orgs=["SALES"], password=PW, email="Sun@Example.com")
    users.add(wh, "li", "team_lead", orgs=["EAST"], password=PW)
    users.add(wh, "zhang", "employee", orgs=["P1"], password=PW)
    return wh


def test_only_an_argon2_hash_is_stored(people):
    with people.connect() as con:
        stored = con.execute("SELECT password_hash FROM app_user WHERE name = 'li'").fetchall()[0][0]
        logged = " ".join(str(r) for r in con.execute("SELECT * FROM audit_log").fetchall())
    assert stored.startswith("$argon2id$") and PW not in stored
    assert PW not in logged and "$argon2" not in logged


def test_sign_in_gives_the_users_role_and_units(people):
    a = users.authenticate(people, "li", PW)
    assert (a.name, a.role, a.orgs) == ("li", "team_lead", ("EAST",))
    assert audit.search(people, audit.Search(user="li", action="login"))


@pytest.mark.parametrize("name, password", [("li", "wrong password"), ("nobody", PW), ("", ""),
                                            ("li'; DROP TABLE app_user; --", PW)])
def test_a_wrong_name_or_password_says_the_same(people, name, password):
    with pytest.raises(LoginFailed) as refused:
        users.authenticate(people, name, password)
    assert str(refused.value) == users.REFUSED
    assert users.get(people, "li").active  # the table is intact


def _lock(wh, name):
    for _ in range(users.MAX_FAILURES):
        with pytest.raises(LoginFailed):
            users.authenticate(wh, name, "guess")


@pytest.fixture
def verifications(monkeypatch):
    """Counts argon2 verifications (the real hasher runs): the work a refusal costs."""
    from argon2 import PasswordHasher

    calls = []

    class Counting(PasswordHasher):
        def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
            calls.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(users, "_HASHER", Counting())
    return calls


@pytest.mark.parametrize("case", ["unknown name", "wrong password", "disabled", "locked, wrong password",
                                  "locked, right password", "no password set", "other case, wrong password"])
def test_every_refusal_says_the_same_after_the_same_work(people, verifications, case):
    """SPEC §7: a failed sign-in says the same thing, in about the same time, whether the user
    exists, is locked or typed a wrong password: one message and one argon2 verification each."""
    name, password = {"unknown name": ("nobody", PW), "wrong password": ("li", "nope"),
                      "disabled": ("li", PW), "locked, wrong password": ("li", "nope"),
                      "locked, right password": ("li", PW), "no password set": ("nopw", PW),
                      "other case, wrong password": ("LI", "nope")}[case]
    if case == "disabled":
        users.update(people, "li", active=False, by="root")
    if case.startswith("locked"):
        _lock(people, "li")
    if case == "no password set":
        users.add(people, "nopw", "employee", orgs=["P1"])
    verifications.clear()
    with pytest.raises(LoginFailed) as refused:
        users.authenticate(people, name, password)
    assert str(refused.value) == users.REFUSED and len(verifications) == 1
    why = {"unknown name": "unknown", "disabled": "disabled", "no password set": "password"}.get(
        case, "locked" if case.startswith("locked") else "password")
    assert json.loads(audit.search(people, audit.Search(user=name.lower()), limit=1)[0]["after"]) == {"why": why}


def test_lock_out_after_repeated_failures_and_unlock(people):
    _lock(people, "li")
    with pytest.raises(LoginFailed):
        users.authenticate(people, "li", PW)  # even the right password, while locked
    assert [e["action"] for e in audit.search(people, audit.Search(user="li"), limit=2)] == \
        ["login_refused", "login_failed"]
    users.unlock(people, "LI", by="root")
    assert users.authenticate(people, "li", PW).role == "team_lead"


@pytest.mark.parametrize("typed", ["LI", "Li", "ｌｉ", " li ", "l\u200bi"])
def test_a_user_name_is_one_identity_whatever_its_case_or_width(people, typed):
    assert users.authenticate(people, typed, PW).name == "li"
    assert users.get(people, typed).name == "li"


@pytest.mark.parametrize("name", ["LI", "Li", "ｌｉ"])
def test_a_name_that_differs_only_by_case_or_width_is_refused(people, name):
    with pytest.raises(ValidationFailed, match="user 'li' exists already"):
        users.add(people, name, "employee", orgs=["P1"], password=PW)
    assert [u.name for u in users.list_users(people)].count("li") == 1
    assert not any(u.name.lower() == "li" and u.name != "li" for u in users.list_users(people))


def test_a_disabled_user_cannot_sign_in_or_act(people):
    users.update(people, "li", active=False, by="root", reason="left")
    with pytest.raises(LoginFailed):
        users.authenticate(people, "li", PW)
    with pytest.raises(AccessDenied, match="disabled"):
        users.actor(people, "li")


@pytest.mark.parametrize("kw, problem", [
    ({"name": "bad name", "role": "admin"}, "not allowed"),
    ({"name": "x", "role": "boss"}, "not one of"),
    ({"name": "x", "role": "admin", "password": "short"}, "at least 10"),
    ({"name": "x", "role": "team_lead"}, "needs at least one org unit"),
    ({"name": "x", "role": "manager", "orgs": ["NOPE"]}, "no org unit 'NOPE'"),
    ({"name": "li", "role": "admin"}, "exists already"),
])
def test_bad_users_are_refused(people, kw, problem):
    with pytest.raises((ValidationFailed, NotFound), match=problem):
        users.add(people, **kw)


def test_the_first_admin_only_while_there_is_none(wh):
    users.add(wh, "boss", "admin", password=PW, by="boss", first_admin=True)
    with pytest.raises(AccessDenied, match="an admin exists already"):
        users.add(wh, "eve", "admin", password=PW, by="eve", first_admin=True)


def test_the_last_admin_cannot_be_demoted(people):
    with pytest.raises(ValidationFailed, match="last active admin"):
        users.update(people, "root", role="manager", orgs=["HQ"], by="root")
    users.update(people, "ceo", role="admin", by="root")
    users.update(people, "root", active=False, by="ceo")


def test_users_change_their_own_password_but_not_others(people):
    users.set_password(people, "li", "another-password", by=users.actor(people, "li"))
    assert users.authenticate(people, "li", "another-password")
    with pytest.raises(AccessDenied):
        users.set_password(people, "sun", "another-password", by=users.actor(people, "li"))


@pytest.mark.parametrize("email, who", [("sun@example.com", "sun"), ("SUN@EXAMPLE.COM", "sun"),
                                        ("eve@example.com", None), (None, None)])
def test_an_oidc_identity_maps_to_a_local_user_by_email(people, email, who):
    if who is None:
        with pytest.raises(LoginFailed):
            users.by_email(people, email)
    else:
        assert users.by_email(people, email).name == who


# --- the CLI acting as a user --------------------------------------------------------------------

def run_cli(wh, *args, user=None, input=None):
    pre = ["--warehouse", str(wh.path)] + (["--user", user] if user else [])
    return CliRunner().invoke(main, [*pre, *map(str, args)], input=input)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("user, args, code", [
    # reads
    ("zhang", ["query", "--metric", "revenue", "--org", "P1", "--grain", "month", "--from", "2025-01", "--to",
               "2025-01"], 0),
    ("zhang", ["query", "--metric", "revenue", "--org", "SOUTH", "--grain", "month", "--from", "2025-01"], 5),
    ("li", ["query", "--metric", "revenue", "--org", "EAST", "--children", "--grain", "year", "--from", "2025"], 0),
    ("li", ["query", "--metric", "revenue", "--org", "HQ", "--grain", "year", "--from", "2025"], 5),
    ("ceo", ["query", "--metric", "revenue", "--org", "HQ", "--grain", "year", "--from", "2025"], 0),
    ("sun", ["targets", "reconcile", "--metric", "revenue", "--org", "SALES", "--period", "2025"], 0),
    ("sun", ["targets", "reconcile", "--metric", "revenue", "--org", "OPS", "--period", "2025"], 5),
    # writes
    ("li", ["import", "actuals", "{east}"], 0),
    ("li", ["import", "actuals", "{south}"], 1),
    ("sun", ["import", "actuals", "{east}"], 5),
    ("sun", ["import", "targets", "{target_east}"], 0),
    ("li", ["import", "targets", "{target_east}"], 5),
    ("sun", ["targets", "cascade", "--metric", "revenue", "--org", "SALES", "--year", "2025", "--total", "100",
             "--reason", "plan"], 0),
    ("sun", ["targets", "cascade", "--metric", "revenue", "--org", "HQ", "--year", "2025", "--total", "100",
             "--reason", "plan"], 1),
    ("ceo", ["settings", "set", "fiscal_year_start", "4"], 5),
    ("root", ["settings", "set", "fiscal_year_start", "4", "--reason", "April fiscal year"], 0),
    ("sun", ["metrics", "apply", "{metric}"], 5),
    ("li", ["users", "list"], 5),
    ("li", ["audit", "list"], 5),
    ("root", ["audit", "list"], 0),
    ("sun", ["periods", "close", "2025-01"], 5),
    ("nobody", ["query", "--metric", "revenue", "--grain", "year"], 4),
])
def test_cli_as_each_user(people, tmp_path, user, args, code):
    files = {
        "east": write(tmp_path, "east.csv", "metric,org,period,value\nrevenue,P1,2025-02,5\n"),
        "south": write(tmp_path, "south.csv", "metric,org,period,value\nrevenue,P1,2025-02,5\nrevenue,P3,2025-02,6\n"),
        "target_east": write(tmp_path, "t.csv", "metric,org,period,value\nrevenue,EAST,2025,50\n"),
        "metric": write(tmp_path, "m.yaml", "metrics:\n  - {code: x1, name: X, source: manual}\n"),
    }
    args = [str(files[a[1:-1]]) if a.startswith("{") else a for a in args]
    r = run_cli(people, *args, user=user)
    assert r.exit_code == code, r.output
    if code == 5:
        assert "may not" in r.output
    if args[:2] == ["import", "actuals"] and code == 1:
        assert "P3 is outside the units you may load actuals for (EAST)" in r.output


def test_cli_records_the_acting_user(people, tmp_path):
    f = write(tmp_path, "east.csv", "metric,org,period,value\nrevenue,P1,2025-02,5\n")
    assert run_cli(people, "import", "actuals", f, user="li").exit_code == 0
    assert run_cli(people, "import", "actuals", f).exit_code == 0  # no --user: the local admin
    who = [e["user_name"] for e in audit.search(people, audit.Search(action="import"), limit=2)]
    assert who == ["admin", "li"]


def test_cli_users_add_reads_the_password_from_stdin(wh):
    r = run_cli(wh, "users", "add", "boss", "--role", "admin", "--password-stdin", input=PW + "\n")
    assert r.exit_code == 0, r.output
    assert users.authenticate(wh, "boss", PW).role == "admin"
    listed = json.loads(run_cli(wh, "--format", "json", "users", "list").output)
    assert listed == [{"name": "boss", "role": "admin", "orgs": [], "email": None, "active": True,
                       "password": True}]


def test_cli_audit_search_and_export(people, tmp_path):
    users.update(people, "li", orgs=["EAST", "SOUTH"], by="root", reason="covers the south team too")
    r = run_cli(people, "--format", "json", "audit", "list", "--object", "user", "--key", "li", "--action", "update")
    rows = json.loads(r.output)
    assert len(rows) == 1 and rows[0]["reason"] == "covers the south team too"
    assert json.loads(rows[0]["after"])["orgs"] == ["EAST", "SOUTH"]
    out = tmp_path / "audit.csv"
    assert run_cli(people, "audit", "export", "--out", out, "--text", "south team").exit_code == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("id,happened_at,user_name") and len(lines) == 2


# --- browser sessions and who sees which batches ----------------------------------------------------

def test_a_session_token_signs_in_until_it_expires_or_is_ended(people, monkeypatch):
    li = users.actor(people, "li")
    token = users.start_session(people, li)
    assert users.resume(people, token) == li
    assert users.resume(people, token + "x") is None and users.resume(people, None) is None
    users.log_out(people, "li", token)
    assert users.resume(people, token) is None
    monkeypatch.setenv("KPI_SESSION_HOURS", "-1")  # born expired
    assert users.resume(people, users.start_session(people, li)) is None


@pytest.mark.parametrize("end", [
    lambda wh: users.update(wh, "li", active=False, by="root"),
    lambda wh: users.set_password(wh, "li", "a-new-password", by="root"),
])
def test_disabling_or_a_new_password_ends_every_session(people, end):
    token = users.start_session(people, users.actor(people, "li"))
    end(people)
    assert users.resume(people, token) is None


def test_batches_listed_are_the_users_own_unless_admin(people, tmp_path):
    from kpi_core.store import batches

    f = write(tmp_path, "east.csv", "metric,org,period,value\nrevenue,P1,2025-02,5\n")
    assert run_cli(people, "import", "actuals", f, user="li").exit_code == 0
    mine = batches.list_batches(people, user=users.actor(people, "li"))
    assert [b["user_name"] for b in mine] == ["li"]
    assert {b["user_name"] for b in batches.list_batches(people, user=users.actor(people, "root"))} >= {"li", "admin"}
    assert json.loads(run_cli(people, "--format", "json", "batches", "list", user="sun").output) == []
