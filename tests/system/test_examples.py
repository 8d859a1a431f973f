"""The example files in data/examples/ against the demo company: the good ones load whole,
the broken one gives exactly the errors listed here."""

import pytest

from kpi_core.ingest.facts.load import import_facts
from kpi_core.model.config import PROJECT_ROOT
from kpi_core.store.warehouse import open_warehouse

pytestmark = pytest.mark.slow
EXAMPLES = PROJECT_ROOT / "data" / "examples"


@pytest.mark.parametrize("kind, name, facts", [
    ("actuals", "团队月度实绩_宽表_2026.xlsx", 65),
    ("actuals", "actuals_long_en.xlsx", 8),
    ("targets", "targets_gbk.csv", 7),
])
def test_good_examples_load_whole(demo_path, kind, name, facts):
    r = import_facts(open_warehouse(demo_path), kind, EXAMPLES / name)
    assert r.errors == [] and r.batch is not None and r.loaded == facts


def test_wide_template_values(demo_path):
    wh = open_warehouse(demo_path)
    import_facts(wh, "actuals", EXAMPLES / "团队月度实绩_宽表_2026.xlsx")
    with wh.connect() as con:
        got = dict(con.execute("SELECT metric || '/' || org || '/' || period, value FROM actual "
                               "WHERE batch_id = (SELECT max(id) FROM batch)").fetchall())
    assert got["headcount/D1-SAL-T1/2026-11"] == 16
    assert got["budget_utilization/D1-SAL/2026-04"] == pytest.approx(1.013)
    assert "customer_complaints/D1-CS/2026-11" not in got  # the empty cell
    assert len(got) == 65


BROKEN = [
    (3, "实际值", "12", "also on row 10"),
    (4, "指标", "headcnt", "unknown metric 'headcnt'"),
    (5, "组织", "D9-XXX", "unknown org unit 'D9-XXX'"),
    (6, "实际值", "十二", "is not a number"),
    (7, "期间", "2026-Q1", "is a quarter, but headcount is reported by month"),
    (8, "指标", "revenue", "computed from dataset 'sales_orders'"),
    (9, "指标", "gross_margin", "computed from formula"),
    (10, "实际值", "13", "also on row 3"),
    (11, "实际值", "95", "outside what supplier_on_time_rate allows (0..1)"),
    (12, "期间", "2026-13", "month 13 is not 1-12"),
    (13, "实际值", "-3", "outside what headcount allows (0..)"),
]


def test_broken_example_lists_every_error_and_writes_nothing(demo_path):
    wh = open_warehouse(demo_path)
    with wh.connect() as con:
        before = con.execute("SELECT count(*) FROM batch").fetchall()
    r = import_facts(wh, "actuals", EXAMPLES / "broken_actuals.xlsx")
    assert r.batch is None and r.loaded == 0 and r.rejected == 11
    got = [(e.row, e.column, e.value) for e in r.errors]
    assert got == [(row, col, val) for row, col, val, _ in BROKEN]
    for e, (_, _, _, fragment) in zip(r.errors, BROKEN, strict=True):
        assert fragment in e.message
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM batch").fetchall() == before
