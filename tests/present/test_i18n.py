"""UI strings: every key in both languages; status rules and problems read in Chinese.

No English message is copied here: each one is made by the code that writes it (a status, a
refused import, a query past its budget, a refusal), so a change of wording that the Chinese
patterns no longer match fails here instead of reaching the screen in English."""

import datetime as dt
import re
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from kpi_core.auth import users
from kpi_core.engine import attainment as att
from kpi_core.ingest.facts.load import import_facts
from kpi_core.ingest.files import FileRefused
from kpi_core.ingest.org_file import import_org
from kpi_core.model import access
from kpi_core.model.errors import AccessDenied, DiskFull, KpiError, ValidationFailed
from kpi_core.present import cockpit
from kpi_core.present.i18n import STRINGS, problem_text, rule_text
from kpi_core.query.api import Query, run
from kpi_core.store import org
from kpi_core.store.warehouse import open_warehouse

# What an English message says that no Chinese text does (quoted cells and codes aside).
ENGLISH = re.compile(r"\b(the|is|are|not|may|has|have|holds|write|cell|cells|disk|user|code|sheet|row|column|"
                     r"unknown|duplicate|outside|computed|period|value|unit|units|needs|role)\b")


def test_every_string_has_both_languages():
    missing = [k for k, v in STRINGS.items() if not v.get("zh") or "en" not in v]
    assert missing == []


@pytest.mark.parametrize("actual, target, direction, expected", [
    (110, 100, "higher_is_better", "达成率 110.0% ≥ 达标阈值 100.0%"),
    (95, 100, "higher_is_better", "达成率 95.0% ≥ 预警阈值 90.0%，低于达标阈值 100.0%"),
    (50, 100, "higher_is_better", "达成率 50.0% 低于预警阈值 90.0%"),
    (0, 0, "lower_is_better", "零目标已达成（0 ≤ 0）"),
    (2, 0, "lower_is_better", "零目标未达成（2 不满足 ≤ 0）"),
    (None, 100, "higher_is_better", "没有实际值"),
    (5, None, "higher_is_better", "没有目标"),
])
def test_rules_in_chinese(actual, target, direction, expected):
    rule = att.status(actual, target, direction).rule
    assert rule_text(rule, "zh") == expected
    assert rule_text(rule, "en") == rule


def in_chinese(message: str) -> str:
    """The Chinese of a message the code wrote, checked to be a translation (not the English back)."""
    zh = problem_text(message, "zh")
    assert zh != message, f"no Chinese for {message!r}"
    assert not ENGLISH.search(zh), zh
    assert problem_text(message, "en") == message
    return zh


@pytest.mark.slow
def test_the_broken_example_file_reads_in_chinese(demo_path):
    """Every problem the broken example file has in the demo company (whose codes it names) has a
    Chinese text."""
    r = import_facts(open_warehouse(demo_path), "actuals",
                     Path(__file__).resolve().parents[2] / "data/examples/broken_actuals.xlsx", dry_run=True)
    assert r.batch is None and len(r.errors) == 11, [e.message for e in r.errors]
    for e in r.errors:
        in_chinese(e.message)


# --- the messages of reading exactly, of identity and of access, each made by its code path ---------

def _csv(tmp_path: Path, row: str, header: str = "metric,org,period,actual") -> Path:
    path = tmp_path / "upload.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    return path


def _xlsx(tmp_path: Path, rows: list[list], change=lambda ws: None) -> Path:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    change(wb.active)
    path = tmp_path / "upload.xlsx"
    wb.save(path)
    return path


def _refused(wh, path: Path) -> str:
    """The one problem an upload of actuals is refused for."""
    r = import_facts(wh, "actuals", path, dry_run=True)
    assert r.batch is None and len(r.errors) == 1, [e.message for e in r.errors]
    return r.errors[0].message


def _cell(value: str):
    return lambda wh, tmp_path, monkeypatch: _refused(wh, _csv(tmp_path, f"revenue,EAST,2025-01,{value}"))


def _formula(saved: str | None):
    """D3 a formula written by openpyxl (no saved result), or with `saved` as its result while the
    workbook asks Excel to recalculate on opening (as XlsxWriter writes)."""
    def make(wh, tmp_path, monkeypatch):
        path = _xlsx(tmp_path, [["metric", "org", "period", "actual"], ["revenue", "EAST", "2025-01", 100],
                                ["revenue", "SOUTH", "2025-01", "=D2*2"]])
        if saved is not None:
            with zipfile.ZipFile(path) as zf:
                parts = {n: zf.read(n) for n in zf.namelist()}
            sheet = "xl/worksheets/sheet1.xml"
            parts[sheet] = parts[sheet].replace(b"<f>D2*2</f><v />", f"<f>D2*2</f><v>{saved}</v>".encode())
            with zipfile.ZipFile(path, "w") as zf:
                for n, data in parts.items():
                    zf.writestr(n, data)
        return _refused(wh, path)
    return make


WIDE = [["metric", "org", "2025-01", "2025-02", "2025-03"], ["revenue", "EAST", 1, 2, 3],
        ["revenue", "SOUTH", 4, 5, 6], ["revenue", "SVC", 7, 8, 9]]


def _hidden(change):
    return lambda wh, tmp_path, monkeypatch: _refused(wh, _xlsx(tmp_path, WIDE, change))


def _colliding_codes(wh, tmp_path, monkeypatch):
    """Two units that fold together, as a warehouse made before creation refused them may hold."""
    with wh.transaction() as con:
        con.execute("INSERT INTO batch VALUES (900, 'org', NULL, NULL, 'old', NULL, 'admin', now(), 1, 1, 0, "
                    "'loaded', NULL, NULL, NULL)")
        con.execute("INSERT INTO org_unit_version VALUES ('Ｅast', '旧东区', 'OPS', 99, 900)")
    return _refused(wh, _csv(tmp_path, "revenue,east,2025-01,7"))


def _org_refused(row: str):
    def make(wh, tmp_path, monkeypatch):
        r = import_org(wh, _csv(tmp_path, row, header="code,name,parent"), dry_run=True)
        assert r.batch is None and len(r.errors) == 1, [e.message for e in r.errors]
        return r.errors[0].message
    return make


def _raised(kind, act):
    def make(wh, tmp_path, monkeypatch):
        with pytest.raises(kind) as exc:
            act(wh, tmp_path, monkeypatch)
        return exc.value.args[0]  # the message, with its code
    return make


def _hidden_sheet(wh, tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["请在隐藏页填写"])
    ws = wb.create_sheet("数据")
    ws.append(["metric", "org", "period", "actual"])
    ws.append(["revenue", "EAST", "2025-01", 1])
    ws.sheet_state = "hidden"
    wb.save(tmp_path / "b.xlsx")
    import_facts(wh, "actuals", tmp_path / "b.xlsx", dry_run=True)


def _disk_full(wh, tmp_path, monkeypatch):
    """A write DuckDB cannot finish for want of space, as it says so."""
    with wh.transaction():
        raise duckdb.IOException("IO Error: Could not write file \"w.duckdb.wal\": No space left on device")


def _too_many_cells(wh, tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_MAX_CELLS_QUERY", "1000")
    run(wh, Query(("revenue", "cost"), "HQ", "subtree", "month", "2000-01", "2025-12"))


def _same_user_other_case(wh, tmp_path, monkeypatch):
    users.add(wh, "li", "employee", orgs=["EAST"])
    users.add(wh, "LI", "employee", orgs=["EAST"])


def _bad_link(wh, tmp_path, monkeypatch):
    _place, problems = cockpit.place_from({"org": "[x](http://e)", "period": "2025-01"}, org.tree(wh),
                                          dt.date(2025, 6, 1))
    assert len(problems) == 1, problems
    return problems[0]


MADE = {
    "superscript digit": _cell("10²"),
    "invisible character": _cell("1\u200b00"),
    "sign in accounting brackets": _cell('"(-1,200)"'),
    "two units": _cell("12%%"),
    "infinite": _cell("1e999"),
    "too large": _cell("1e300"),
    "too many digits": _cell("12345678901234567"),
    "spaces inside": _cell("12 34"),
    "no such day": lambda wh, tmp_path, monkeypatch: _refused(wh, _csv(tmp_path, "revenue,EAST,2026-02-30,5")),
    "formula without result": _formula(None),
    "formula Excel recalculates": _formula("0"),
    "percentage for a CNY metric": _cell("12%"),
    "another currency": lambda wh, tmp_path, monkeypatch: _refused(
        wh, _csv(tmp_path, "revenue,EAST,2025-01,5", header="metric,org,period,实际值(千美元)")),
    "hidden row": _hidden(lambda ws: setattr(ws.row_dimensions[3], "hidden", True)),
    "hidden column": _hidden(lambda ws: setattr(ws.column_dimensions["D"], "hidden", True)),
    "merged cells": _hidden(lambda ws: ws.merge_cells("E2:E3")),
    "hidden sheet": _raised(FileRefused, _hidden_sheet),
    "codes that collide": _colliding_codes,
    "code folds onto another": _org_refused("east,新东区,OPS"),
    "control character": _org_refused('"\x1bX",名,HQ'),
    "disk full": _raised(DiskFull, _disk_full),
    "query too big": _raised(KpiError, _too_many_cells),
    "user name differs by case": _raised(ValidationFailed, _same_user_other_case),
    "link to no unit": _bad_link,
}


@pytest.mark.parametrize("case", MADE)
def test_the_messages_of_reading_exactly_and_of_identity_read_in_chinese(wh, tmp_path, monkeypatch, case):
    message = MADE[case](wh, tmp_path, monkeypatch)
    in_chinese(message)


@pytest.mark.parametrize("capability", [c for c in access.CAPABILITIES
                                        if set(access.roles_with(c)) != set(access.ROLES)])
def test_every_refusal_of_a_role_reads_in_chinese(capability):
    for role in (r for r in access.ROLES if r not in access.roles_with(capability)):
        with pytest.raises(AccessDenied) as refused:
            access.require(access.Actor("zhang", role, ("EAST",)), capability)
        zh = in_chinese(refused.value.args[0])
        assert zh.startswith(f"zhang（{STRINGS[f'role_{role}']['zh']}，单位 EAST）无权"), zh
