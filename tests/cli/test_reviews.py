"""kpi reviews on the demo company: one cycle from open to closed from the command line, as the
manager, the person and three peers; JSON output, the payroll workbook read back, and the exit
codes of refusals."""

from __future__ import annotations

import json

import openpyxl
import pytest

from kpi_core.auth import users
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli

ENV = {"KPI_TODAY": "2026-11-27"}


def js(r):
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def w(demo_path):
    wh = open_warehouse(demo_path)
    for n in range(2, 5):
        users.add(wh, f"emp_p000{n}", "employee", orgs=[f"P000{n}"])
    return demo_path


def run(w, *args, user=None):
    return cli(w, "--format", "json", *(["--user", user] if user else []), "reviews", *args, env=ENV)


def test_one_cycle_from_open_to_closed(w, tmp_path):
    c = js(run(w, "open", "2026-Q3", "--period", "2026q3", "--org", "d1-sal-t1", user="mgr_d1"))
    assert (c["period"], c["org"], c["state"], c["config"]["min_raters"]) == ("2026-Q3", "D1-SAL-T1", "open", 3)
    raters = js(run(w, "raters", "2026-Q3", "--org", "P0001", "--peer", "emp_p0002", "--peer", "emp_p0003",
                    "--peer", "emp_p0004", user="mgr_d1"))
    assert [(r["rater"], r["kind"]) for r in raters] == [(f"emp_p000{n}", "peer") for n in (2, 3, 4)]
    assert js(run(w, "advance", "2026-Q3", user="mgr_d1"))["state"] == "self"
    assert js(run(w, "rate", "2026-Q3", "--org", "P0001", "--as", "self", "--score", "4", user="emp_p0001"))[
        "scores"] == 5
    for n, score in ((2, 3), (3, 4), (4, 5)):
        js(run(w, "rate", "2026-Q3", "--org", "P0001", "--as", "peer", "--score", score, "--comment", f"c{n}",
               user=f"emp_p000{n}"))
    assert js(run(w, "advance", "2026-Q3", user="mgr_d1"))["state"] == "manager"
    js(run(w, "rate", "2026-Q3", "--org", "P0001", "--as", "manager", "--score", "4", "--competency", "results",
           user="mgr_d1"))
    assert js(run(w, "advance", "2026-Q3", user="mgr_d1"))["state"] == "calibration"
    cal = js(run(w, "calibrate", "2026-Q3", "--org", "P0003", "--grade", "S", "--potential", "high", "--reason",
                 "won the key account", user="mgr_d1"))
    assert (cal["grade"], cal["potential"]) == ("S", "high")
    assert js(run(w, "close", "2026-Q3", user="mgr_d1"))["state"] == "closed"
    mine = js(run(w, "show", "2026-Q3", "--org", "P0001", user="emp_p0001"))
    assert [r["org"] for r in mine] == ["P0001"] and mine[0]["frozen"] is True
    assert mine[0]["rating_peer"] == pytest.approx(4.0) and mine[0]["rating_self"] == pytest.approx(4.0)
    everyone = js(run(w, "show", "2026-Q3", user="mgr_d1"))
    assert len(everyone) == 10 and next(r for r in everyone if r["org"] == "P0003")["final_grade"] == "S"
    out = tmp_path / "payroll.xlsx"
    r = cli(w, "--user", "mgr_d1", "reviews", "export", "2026-Q3", "--out", out, env=ENV)
    assert r.returncode == 0, r.stderr
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:4] == ("单元", "名称", "KPI 得分", "KPI 等级") and rows[1][-1] == "绩效系数"
    p3 = next(row for row in rows[2:] if row[0] == "P0003")
    assert (p3[11], p3[12], p3[13]) == ("S", "高", 1.5)
    assert not {f"emp_p000{n}" for n in (2, 3, 4)} & {str(v) for row in rows for v in row}


@pytest.mark.parametrize("args, user, code, says", [
    (("advance", "2026-Q3"), "emp_p0001", 5, "may not run the review"),
    (("advance", "nope"), None, 4, "no review cycle 'nope'"),
    (("rate", "2026-Q3", "--org", "P0001", "--as", "manager", "--score", "4"), "mgr_d1", 1, "manager rating"),
    (("rate", "2026-Q3", "--org", "P0001", "--as", "self", "--score", "9"), "emp_p0001", 1, "off the scale"),
    (("close", "2026-Q3"), "mgr_d1", 1, "closes after calibration"),
    (("calibrate", "2026-Q3", "--org", "P0001", "--grade", "A", "--reason", "x"), "mgr_d1", 1, "calibration stage"),
])
def test_refusals_say_why_with_their_exit_code(w, args, user, code, says):
    js(run(w, "open", "2026-Q3", "--period", "2026-Q3", "--org", "D1-SAL-T1"))
    js(run(w, "advance", "2026-Q3"))  # in the self review
    r = run(w, *args, user=user)
    assert r.returncode == code and says in r.stderr, (r.returncode, r.stderr)


def test_feedback_and_the_retrospective_from_the_command_line(w):
    js(run(w, "open", "2026-Q3", "--period", "2026-Q3", "--org", "D1-SAL-T1"))
    assert js(run(w, "note", "2026-Q3", "--org", "P0001", "--text", "面谈纪要", user="mgr_d1"))["id"] >= 1
    item = js(run(w, "plan", "2026-Q3", "--org", "P0001", "--metric", "training_hours", "--owner", "emp_p0001",
                  "--due", "2099-12-31", "--title", "每月 20 小时培训", user="mgr_d1"))
    assert (item["origin"], item["period"], item["status"]) == ("review:2026-Q3:P0001", "2026-Q3", "open")
    retro = js(run(w, "retro", "--org", "D1-SAL-T1", "--period", "2026-Q3", user="mgr_d1"))
    assert [a["id"] for a in retro["actions"]] == [item["id"]]
    assert retro["actions"][0]["movement"]["since"] == "2026-Q3"
    r = run(w, "note", "2026-Q3", "--org", "P0001", "--text", "x", user="emp_p0001")
    assert r.returncode == 5 and "may not run the review" in r.stderr
    r = run(w, "plan", "2026-Q3", "--org", "P0001", "--metric", "training_hours", "--owner", "emp_p0001",
            "--due", "someday", "--title", "x")
    assert r.returncode == 2 and "is not a date" in r.stderr
