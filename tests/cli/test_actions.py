"""kpi actions on the demo company: add (from a cell or an alert), list, show with the movement,
edit, close with its note, remind; JSON output and the exit codes of refusals."""

from __future__ import annotations

import json

from kpi_core.model.periods import parse_period
from kpi_core.query.api import Query, run
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli

DUE = "2099-12-31"  # the CLI's today is the real one: a due date after any day the tests run on


def js(r):
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_add_list_show_edit_close(demo_path):
    w = demo_path
    a = js(cli(w, "--format", "json", "actions", "add", "--metric", "revenue", "--org", "d1-sal-t1", "--owner",
               "lead_t1", "--due", DUE, "--title", " win back accounts ", "--period", "2026-10"))
    assert (a["org"], a["owner"], a["title"], a["status"], a["origin"], a["overdue"]) == (
        "D1-SAL-T1", "lead_t1", "win back accounts", "open", "cell", False)
    cell = run(open_warehouse(w), Query(("revenue",), org="D1-SAL-T1", first="2026-10", last="2026-10")).cells[0]
    assert a["baseline"] == {"actual": cell.actual, "target": cell.target, "attainment": cell.attainment,
                             "status": cell.status}
    b = js(cli(w, "--format", "json", "actions", "add", "--alert", "alert:rev:revenue:D1:2026-Q3", "--owner",
               "mgr_d1", "--due", DUE, "--title", "close the gap"))
    assert (b["metric"], b["org"], b["period"], b["origin"]) == ("revenue", "D1", "2026-Q3",
                                                                 "alert:rev:revenue:D1:2026-Q3")
    assert [x["id"] for x in js(cli(w, "--format", "json", "--user", "lead_t1", "actions", "list"))] == [a["id"]]
    assert [x["id"] for x in js(cli(w, "--format", "json", "actions", "list", "--org", "D1-SAL", "--open"))] == [
        a["id"]]
    shown = js(cli(w, "--format", "json", "actions", "show", str(a["id"])))
    move = shown["movement"]
    assert move["since"] == "2026-10" and move["then"] == a["baseline"]
    assert parse_period(move["latest"]).grain == "month" and move["latest"] > "2026-10"
    assert move["change"] == move["now"]["actual"] - move["then"]["actual"]
    text = cli(w, "actions", "show", str(a["id"])).stdout
    assert "2026-10" in text and move["latest"] in text and move["trend"] in text
    e = js(cli(w, "--format", "json", "actions", "edit", str(a["id"]), "--due", "2099-11-30", "--owner", "mgr_d1"))
    assert (e["due"], e["owner"]) == ("2099-11-30", "mgr_d1")
    r = cli(w, "actions", "close", str(a["id"]))
    assert r.returncode == 2 and "--note" in r.stderr
    r = cli(w, "actions", "close", str(a["id"]), "--note", "   ")
    assert r.returncode == 1 and "note" in r.stderr
    note = "root cause: two lost accounts; both won back"
    c = js(cli(w, "--format", "json", "--user", "mgr_d1", "actions", "close", str(a["id"]), "--note", f" {note} "))
    assert (c["status"], c["closed_by"], c["note"]) == ("closed", "mgr_d1", note)
    assert [x["id"] for x in js(cli(w, "--format", "json", "actions", "list", "--open"))] == [b["id"]]


def test_refusals_have_their_exit_codes(demo_path):
    w = demo_path
    add = ("actions", "add", "--metric", "revenue", "--org", "D2", "--owner", "ceo", "--due", DUE, "--title", "t")
    cases = [(("--user", "emp_p0001", *add), 5), (("--user", "mgr_d1", *add), 5),
             (("actions", "add", "--metric", "revenue", "--org", "D2", "--owner", "emp_p0001", "--due", DUE,
               "--title", "t"), 1),
             (("actions", "add", "--metric", "revenue", "--org", "D2", "--owner", "ceo", "--due", "2000-01-01",
               "--title", "t"), 1),
             (("actions", "add", "--metric", "revenue", "--org", "D2", "--owner", "ceo", "--due", "soon",
               "--title", "t"), 2),
             (("actions", "add", "--metric", "nope", "--org", "D2", "--owner", "ceo", "--due", DUE, "--title", "t"), 4),
             (("actions", "add", "--alert", "alert:x:revenue:D2", "--owner", "ceo", "--due", DUE, "--title", "t"), 1),
             (("actions", "add", "--alert", "alert:x:revenue:D2:2026-10", "--org", "D2", "--owner", "ceo", "--due",
               DUE, "--title", "t"), 2),
             (("actions", "add", "--owner", "ceo", "--due", DUE, "--title", "t"), 2),
             (("actions", "show", "12345"), 4), (("--user", "mgr_d1", "actions", "list", "--org", "D2"), 5),
             (("--user", "mgr_d1", "actions", "remind"), 5)]
    assert [(args, cli(w, *args).returncode) for args, _ in cases] == cases


def test_remind_tells_the_owner_of_an_overdue_action_once_a_day(demo_path):
    w = demo_path
    a = js(cli(w, "--format", "json", "actions", "add", "--metric", "revenue", "--org", "D1", "--owner", "mgr_d1",
               "--due", DUE, "--title", "close the gap"))
    sent = js(cli(w, "--format", "json", "actions", "remind", "--now", "2100-01-02T09:00:00+00:00"))
    assert [(s["action"], s["owner"], s["lang"]) for s in sent] == [(a["id"], "mgr_d1", "zh")]
    assert js(cli(w, "--format", "json", "actions", "remind", "--now", "2100-01-02T18:00")) == []
    assert "mgr_d1" in cli(w, "actions", "remind", "--now", "2100-01-03T09:00").stdout
