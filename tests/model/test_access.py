"""Roles × capabilities (SPEC §7) through the kpi_core API: each allowed and each refused, with
nothing written on a refusal."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pyarrow as pa
import pytest

from kpi_core.auth import users
from kpi_core.ingest.datasets import import_file
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.org_file import import_org
from kpi_core.ingest.template import template
from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.errors import AccessDenied, KpiError
from kpi_core.present import board_export, cockpit
from kpi_core.query import drillthrough
from kpi_core.query.api import Query, run
from kpi_core.services.planning import save_targets
from kpi_core.services.revert import revert
from kpi_core.store import audit, batches, boards, closing, dictionary, org, settings
from tests.conftest import ORG

PEOPLE = [("P1", "张三", "EAST"), ("P2", "李四", "EAST"), ("P3", "王五", "SOUTH")]
ADMIN = Actor("root", "admin")
CEO = Actor("ceo", "executive", ("HQ",))
SUN = Actor("sun", "manager", ("SALES",))            # manages SALES: EAST, SOUTH and their people
LI = Actor("li", "team_lead", ("EAST",))              # leads EAST: P1, P2
ZHANG = Actor("zhang", "employee", ("P1",))           # a person in EAST
TODAY = dt.date(2025, 12, 15)


@pytest.fixture
def company(wh):
    """The tiny company with three people, some actuals and targets, loaded by the admin."""
    org.import_org_rows(wh, ORG + PEOPLE, source="people")
    facts = [("revenue", u, "2025-01", v) for u, v in (("P1", 10.0), ("P2", 20.0), ("P3", 40.0), ("SVC", 7.0))]
    import_table(wh, "actuals", pa.table({k: [f[i] for f in facts] for i, k in enumerate(
        ("metric", "org", "period", "value"))}), source="seed")
    import_table(wh, "targets", pa.table({"metric": ["revenue"] * 2, "org": ["EAST", "OPS"], "period": ["2025"] * 2,
                                          "value": [120.0, 80.0]}), source="seed")
    return wh


def n_batches(wh) -> int:
    return len(batches.list_batches(wh))


# --- reading -------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor, readable", [
    (ADMIN, None),
    (CEO, None),
    (SUN, {"SALES", "EAST", "SOUTH", "P1", "P2", "P3"}),
    (LI, {"EAST", "P1", "P2"}),
    (ZHANG, {"P1", "EAST"}),                           # their own figures and their team's total
    (Actor("nobody", "employee"), set()),
])
def test_what_each_role_reads(company, actor, readable):
    tree = org.tree(company)
    got = access.units(actor, tree)
    assert (None if got is None else set(got)) == readable
    for unit in tree.units:
        q = Query(("revenue",), unit, "self", "month", "2025-01", "2025-01")
        if readable is None or unit in readable:
            assert run(company, q, actor=actor).cells[0].org == unit
        else:
            with pytest.raises(AccessDenied, match=f"may not read org unit '{unit}'"):
                run(company, q, actor=actor)


@pytest.mark.parametrize("actor, unit, children", [
    (SUN, "SALES", ["EAST", "SOUTH"]),
    (LI, "EAST", ["P1", "P2"]),
    (ZHANG, "EAST", ["P1"]),                           # a colleague's figures stay hidden
    (CEO, "HQ", ["SALES", "OPS"]),
])
def test_children_are_cut_to_what_the_user_reads(company, actor, unit, children):
    q = Query(("revenue",), unit, "children", "month", "2025-01", "2025-01")
    assert [c.org for c in run(company, q, actor=actor).cells] == children


@pytest.mark.parametrize("actor", [LI, ZHANG, SUN])
def test_no_org_means_the_users_own_part_not_the_top(company, actor):
    q = Query(("revenue",), None, "self", "month", "2025-01", "2025-01")
    assert run(company, q, actor=actor).cells[0].org == actor.orgs[0]


def test_cockpit_of_a_team_lead_shows_only_their_subtree(company, tmp_path):
    yaml_file = tmp_path / "bsc.yaml"  # the cockpit shows metrics with a BSC perspective
    yaml_file.write_text("metrics:\n  - {code: revenue, name: 销售收入, unit: CNY, perspective: financial, "
                         "source: manual}\n", encoding="utf-8")
    dictionary.apply(company, yaml_file, reason="a BSC perspective")
    tree = org.tree(company)
    data = cockpit.build(company, tree, "EAST", "2025-01", today=TODAY, actor=ZHANG)
    assert data.children == ["P1"]
    assert {k[0] for k in data.heat} == {"P1"} and data.cards["revenue"].cell.actual == 30.0
    assert cockpit.build(company, tree, "EAST", "2025-01", today=TODAY, actor=LI).children == ["P1", "P2"]
    with pytest.raises(AccessDenied):
        cockpit.build(company, tree, "SALES", "2025-01", today=TODAY, actor=LI)


def test_drill_through_shows_only_readable_rows(company):
    everyone = drillthrough.behind(company, "revenue", "EAST", "2025-01")
    assert {f["org"] for f in everyone.facts} == {"P1", "P2"}
    mine = drillthrough.behind(company, "revenue", "EAST", "2025-01", actor=ZHANG)
    assert {f["org"] for f in mine.facts} == {"P1"}
    with pytest.raises(AccessDenied):
        drillthrough.behind(company, "revenue", "SOUTH", "2025-01", actor=ZHANG)


def _sheet_text(data: bytes) -> str:
    import io

    wb = openpyxl.load_workbook(io.BytesIO(data))
    return " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)


def test_template_download_holds_only_readable_units(company):
    text = _sheet_text(template(company, "actuals", "EAST", 2025, subtree=True, actor=LI))
    assert "P1" in text and "P2" in text and "P3" not in text and "SOUTH" not in text
    with pytest.raises(AccessDenied):
        template(company, "actuals", "SALES", 2025, actor=LI)


def test_board_export_holds_only_what_the_viewer_reads(company):
    b = boards.Board(code="sales", title="Sales", share="everyone", filters={"org": "SALES", "period": "2025-01"},
                     tiles=[{"type": "table", "metrics": ["revenue"], "scope": "children"}])
    tree, ms = org.tree(company), dictionary.current(company)
    assert "华南组" in _sheet_text(board_export.workbook(company, b, tree, ms, TODAY, "zh"))
    text = _sheet_text(board_export.workbook(company, b, tree, ms, TODAY, "zh", actor=LI))
    assert "华南组" not in text and "张三" in text  # the team lead's view: their team's people


# --- writing -------------------------------------------------------------------------------------

def _csv(tmp_path, rows, name="up.csv"):
    p = tmp_path / name
    p.write_text("metric,org,period,value\n" + "".join(f"{m},{o},{pp},{v}\n" for m, o, pp, v in rows),
                 encoding="utf-8")
    return p


@pytest.mark.parametrize("actor, kind, rows, refused", [
    (LI, "actuals", [("revenue", "P1", "2025-02", 1)], None),
    (LI, "actuals", [("revenue", "P1", "2025-02", 1), ("revenue", "P3", "2025-02", 2)], {3: "P3"}),
    (LI, "actuals", [("revenue", "SOUTH", "2025-02", 2), ("revenue", "SALES", "2025-02", 2)], {2: "SOUTH", 3: "SALES"}),
    (ADMIN, "actuals", [("revenue", "SVC", "2025-02", 1)], None),
    (SUN, "targets", [("revenue", "EAST", "2025", 100)], None),
    (SUN, "targets", [("revenue", "OPS", "2025", 100)], {2: "OPS"}),
])
def test_uploads_touching_other_units_are_refused_by_row(company, tmp_path, actor, kind, rows, refused):
    before = n_batches(company)
    res = import_facts(company, kind, _csv(tmp_path, rows), user=actor)
    if refused is None:
        assert res.batch is not None and not res.errors
        assert batches.list_batches(company, 1)[0]["user_name"] == actor.name
        return
    assert res.batch is None and n_batches(company) == before
    assert {e.row: e.value for e in res.errors} == refused
    assert all("outside the units you may load" in e.message for e in res.errors)


@pytest.mark.parametrize("actor, kind", [(SUN, "actuals"), (CEO, "actuals"), (ZHANG, "actuals"), (LI, "targets"),
                                         (CEO, "targets"), (ZHANG, "targets")])
def test_roles_that_may_not_load_a_kind_are_refused_unread(company, tmp_path, actor, kind):
    before = n_batches(company)
    needs = {"actuals": "load actuals: that needs the admin or team_lead role",
             "targets": "change targets: that needs the admin or manager role"}[kind]
    with pytest.raises(AccessDenied) as refused:
        import_facts(company, kind, _csv(tmp_path, [("revenue", "P1", "2025", 1)]), user=actor)
    assert str(refused.value) == f"{actor.describe()} may not {needs}"
    assert n_batches(company) == before


@pytest.mark.parametrize("actor, unit, refused", [
    (SUN, "EAST", None),
    (SUN, "OPS", "OPS is outside the units you may load targets for"),
    (LI, "EAST", "may not change targets: that needs the admin or manager role"),
    (ADMIN, "OPS", None),
])
def test_target_edits(company, actor, unit, refused):
    edits = [("revenue", unit, "2025", 99.0)]
    if refused is None:
        assert save_targets(company, edits, reason="plan", user=actor).batch
        return
    with pytest.raises(KpiError) as exc:
        save_targets(company, edits, reason="plan", user=actor)
    assert refused in str(exc.value) + " ".join(getattr(exc.value, "problems", []))
    assert run(company, Query(("revenue",), unit, "self", "year", "2025", "2025")).cells[0].target != 99.0


def test_reverts_follow_the_same_scope(company, tmp_path):
    mine = import_facts(company, "actuals", _csv(tmp_path, [("revenue", "P1", "2025-03", 5)]), user=LI).batch
    theirs = import_facts(company, "actuals", _csv(tmp_path, [("revenue", "P3", "2025-03", 5)], "b.csv"),
                          user=ADMIN).batch
    with pytest.raises(AccessDenied, match=f"may not revert batch {theirs}: it holds actuals of P3"):
        revert(company, theirs, user=LI)
    with pytest.raises(AccessDenied):
        revert(company, mine, user=SUN)  # a manager loads no actuals, so reverts none
    assert revert(company, mine, user=LI, reason="wrong file")["status"] == "reverted"
    org_batch = batches.list_batches(company)[-1]["id"]
    with pytest.raises(AccessDenied, match="admin"):
        revert(company, org_batch, user=SUN)


@pytest.mark.parametrize("actor", [CEO, SUN, LI, ZHANG])
def test_admin_only_changes_are_refused_to_everyone_else(company, tmp_path, actor):
    yaml_file = tmp_path / "m.yaml"
    yaml_file.write_text("metrics:\n  - {code: x1, name: X, source: manual}\n", encoding="utf-8")
    org_file = tmp_path / "org.csv"
    org_file.write_text("code,name,parent\nNEW,新部门,HQ\n", encoding="utf-8")
    ds = tmp_path / "ds.csv"
    ds.write_text("a,b\n1,2\n", encoding="utf-8")
    from kpi_core.store import phasing

    attempts = [
        lambda: dictionary.apply(company, yaml_file, user=actor),
        lambda: import_org(company, org_file, user=actor),
        lambda: import_file(company, "ds", ds, user=actor),
        lambda: settings.put(company, "fiscal_year_start", "4", user=actor),
        lambda: phasing.set_profile(company, "p", [1] * 12, user=actor),
        lambda: users.add(company, "eve", "admin", password="0123456789", by=actor),
        lambda: users.update(company, "ceo_x", role="admin", by=actor),
        lambda: audit.search(company, user=actor),
        lambda: closing.close(company, "2025-01", by=actor),
    ]
    before = n_batches(company), len(audit.search(company))
    for attempt in attempts:
        with pytest.raises(AccessDenied):
            attempt()
    assert (n_batches(company), len(audit.search(company))) == before
    assert "x1" not in dictionary.current(company) and "NEW" not in org.tree(company)


def test_admin_may_do_each_of_those(company, tmp_path):
    yaml_file = tmp_path / "m.yaml"
    yaml_file.write_text("metrics:\n  - {code: x1, name: X, source: manual}\n", encoding="utf-8")
    dictionary.apply(company, yaml_file, user=ADMIN, reason="new metric")
    settings.put(company, "fiscal_year_start", "4", user=ADMIN, reason="April fiscal year")
    users.add(company, "eve", "executive", password="0123456789", by=ADMIN)
    closing.close(company, "2025-01", by=ADMIN)
    actions = {(e["user_name"], e["action"], e["object_type"]) for e in audit.search(company)}
    assert {("root", "create", "metric"), ("root", "set", "setting"), ("root", "add", "user"),
            ("root", "close", "period")} <= actions


# --- closed periods ------------------------------------------------------------------------------

@pytest.mark.parametrize("closed, period", [("2025-01", "2025-01"), ("2025-Q1", "2025-02"), ("2025", "2025-12")])
def test_closed_periods_need_an_admin_and_a_reason(company, tmp_path, closed, period):
    closing.close(company, closed, by=ADMIN, reason="reviewed")
    f = _csv(tmp_path, [("revenue", "P1", period, 3)])
    lead = import_facts(company, "actuals", f, user=LI)
    assert lead.batch is None and "closed: only an admin may change it" in lead.errors[0].message
    assert lead.errors[0].row == 2 and lead.errors[0].value == period
    bare = import_facts(company, "actuals", f, user=ADMIN)
    assert bare.batch is None and "give a reason" in bare.errors[0].message
    assert import_facts(company, "actuals", f, user=ADMIN, reason="late correction").batch
    entry = audit.search(company, audit.Search(action="import"), limit=1)[0]
    assert entry["reason"] == "late correction" and entry["user_name"] == "root"


def test_reverting_into_a_closed_period_needs_a_reason(company, tmp_path):
    bid = import_facts(company, "actuals", _csv(tmp_path, [("revenue", "P1", "2025-05", 3)]), user=LI).batch
    closing.close(company, "2025-05", by=ADMIN)
    with pytest.raises(AccessDenied, match="closed"):
        revert(company, bid, user=LI)
    with pytest.raises(Exception, match="give a reason"):
        revert(company, bid, user=ADMIN)
    assert revert(company, bid, user=ADMIN, reason="wrong file")["status"] == "reverted"
    closing.reopen(company, "2025-05", by=ADMIN, reason="reopened")
    assert closing.list_closed(company) == []


def test_an_unknown_scope_is_refused_clearly(company):
    with pytest.raises(KpiError, match="scope 'everything' is not one of"):
        run(company, Query(("revenue",), "HQ", "everything", "month", "2025-01", "2025-01"), actor=LI)  # type: ignore[arg-type]


# --- the whole matrix: each role × each capability, through the API ---------------------------

ROLE_OF = {"admin": ADMIN, "executive": CEO, "manager": SUN, "team_lead": LI, "employee": ZHANG}


def _attempt(company, tmp_path, actor, capability):
    """Do one thing as `actor` on a unit inside their part of the tree where they have one."""
    own = actor.orgs[0] if actor.orgs and actor.orgs[0] != "HQ" else "EAST"
    person = "P1"
    yaml_file = tmp_path / "m.yaml"
    yaml_file.write_text("metrics:\n  - {code: x1, name: X, source: manual}\n", encoding="utf-8")
    from kpi_core.services.cascade import cascade
    from kpi_core.store import phasing

    do = {
        "read the company": lambda: run(company, Query(("revenue",), "HQ", "self", "year", "2025", "2025"),
                                        actor=actor),
        "read their own unit": lambda: run(company, Query(("revenue",), own, "self", "year", "2025", "2025"),
                                           actor=actor),
        "load actuals of their people": lambda: _must_load(import_facts(
            company, "actuals", _csv(tmp_path, [("revenue", person, "2025-06", 1)]), user=actor)),
        "load targets of their unit": lambda: _must_load(import_facts(
            company, "targets", _csv(tmp_path, [("revenue", "EAST", "2026", 1)]), user=actor)),
        "cascade targets": lambda: cascade(company, "revenue", "EAST", 2025, total=10.0, user=actor, reason="r"),
        "save a board": lambda: boards.save(company, boards.Board(code="mine", title="Mine", owner=actor.name),
                                            user=actor),
        "share a board with everyone": lambda: boards.save(company, boards.Board(
            code="ours", title="Ours", owner=actor.name, share="everyone"), user=actor),
        "change metrics": lambda: dictionary.apply(company, yaml_file, user=actor, reason="r"),
        "change settings": lambda: settings.put(company, "default_amber", "0.85", user=actor, reason="r"),
        "change phasing": lambda: phasing.set_profile(company, "flat", [1] * 12, user=actor),
        "load datasets": lambda: import_file(company, "ds", _csv(tmp_path, [("a", "b", "c", 1)]),
                                                      user=actor),
        "manage users": lambda: users.add(company, "new_one", "executive", by=actor),
        "read the audit log": lambda: audit.search(company, user=actor),
        "close periods": lambda: closing.close(company, "2024-12", by=actor),
    }
    do[capability]()


def _must_load(res):
    if res.batch is None:
        raise AccessDenied("; ".join(e.message for e in res.errors))


MATRIX = {  # capability: the roles allowed it
    "read the company": {"admin", "executive"},
    "read their own unit": {"admin", "executive", "manager", "team_lead", "employee"},
    "load actuals of their people": {"admin", "team_lead"},
    "load targets of their unit": {"admin", "manager"},
    "cascade targets": {"admin", "manager"},
    "save a board": {"admin", "executive", "manager"},
    "share a board with everyone": {"admin", "executive"},
    "change metrics": {"admin"},
    "change settings": {"admin"},
    "change phasing": {"admin"},
    "load datasets": {"admin"},
    "manage users": {"admin"},
    "read the audit log": {"admin"},
    "close periods": {"admin"},
}


@pytest.mark.parametrize("role", list(ROLE_OF))
@pytest.mark.parametrize("capability", list(MATRIX))
def test_role_capability_matrix(company, tmp_path, role, capability):
    actor = ROLE_OF[role]
    if role in MATRIX[capability]:
        _attempt(company, tmp_path, actor, capability)
        return
    before = n_batches(company), len(audit.search(company)), len(boards.all_boards(company))
    with pytest.raises(AccessDenied):
        _attempt(company, tmp_path, actor, capability)
    assert (n_batches(company), len(audit.search(company)), len(boards.all_boards(company))) == before


# --- what an employee sees of the org tree and behind a team's number (decided in issue 11) ---
# An employee reads their own unit and their team's total. The team's figures are one number;
# a colleague's figures, name and rows are not theirs to see.

@pytest.mark.parametrize("actor, listed", [
    (ZHANG, ["EAST", "P1"]),
    (LI, ["EAST", "P1", "P2"]),
    (SUN, ["SALES", "EAST", "P1", "P2", "SOUTH", "P3"]),
    (CEO, ["HQ", "SALES", "EAST", "P1", "P2", "SOUTH", "P3", "OPS", "SVC"]),
])
def test_org_list_shows_the_part_of_the_tree_the_user_reads(company, actor, listed):
    import json

    from click.testing import CliRunner

    from kpi_core.cli.main import main

    users.add(company, actor.name, actor.role, orgs=list(actor.orgs))
    out = CliRunner().invoke(main, ["--warehouse", str(company.path), "--user", actor.name, "org", "list",
                                    "--format", "json"])
    assert out.exit_code == 0, out.output
    assert [r["code"] for r in json.loads(out.stdout)] == listed


def test_an_employee_drilling_into_the_team_sees_the_total_and_only_their_own_rows(company, tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text("order_date,dept,amount\n2025-01-05,P1,10\n2025-01-06,P2,20\n2025-01-07,P2,30\n"
                      "2025-01-08,EAST,5\n", encoding="utf-8")

    import_file(company, "sales_orders", orders)
    whole = drillthrough.behind(company, "orders", "EAST", "2025-01")
    assert whole.cell.actual == 4.0 and whole.rows_total == 4
    mine = drillthrough.behind(company, "orders", "EAST", "2025-01", actor=ZHANG)
    assert mine.cell.actual == 4.0  # the team's total, as one number
    assert sorted(r["dept"] for r in mine.rows) == ["EAST", "P1"] and mine.rows_total == 2
    assert {f["org"] for f in drillthrough.behind(company, "revenue", "EAST", "2025-01", actor=ZHANG).facts} == {"P1"}
