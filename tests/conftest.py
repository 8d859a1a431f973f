"""Shared fixtures: a tiny company (3 org levels, 7 metrics) in a warehouse built once per session.

Tests that write get their own copy of that warehouse file (`wh`), so they never see each
other's batches; building the template once keeps the suite fast.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import openpyxl
import pytest

from kpi_core.ingest.datasets import import_file
from kpi_core.store import dictionary
from kpi_core.store.org import import_org_rows
from kpi_core.store.warehouse import open_warehouse

# No scheduler in the tests' apps and servers (they inherit this); the tests that are about the
# jobs run them directly, or start a server with KPI_JOBS=on themselves.
os.environ["KPI_JOBS"] = "off"

ORG = [
    ("HQ", "总公司", None),
    ("SALES", "销售部", "HQ"),
    ("OPS", "运营部", "HQ"),
    ("EAST", "华东组", "SALES"),
    ("SOUTH", "华南组", "SALES"),
    ("SVC", "客服组", "OPS"),
]

METRICS_YAML = """
metrics:
  - code: revenue
    name: 销售收入
    name_en: Revenue
    unit: CNY
    frequency: month
    time_agg: sum
    source: manual
  - code: cost
    name: 成本
    name_en: Cost
    unit: CNY
    direction: lower_is_better
    source: manual
  - code: gross_margin
    name: 毛利率
    name_en: Gross margin
    unit: "%"
    source: {formula: (revenue - cost) / revenue}
  - code: nps
    name: 客户净推荐值
    name_en: NPS
    unit: score
    frequency: quarter
    time_agg: avg
    org_agg: none
    source: manual
  - code: on_time_rate
    name: 准时率
    name_en: On-time rate
    unit: "%"
    time_agg: avg
    org_agg: avg
    allowed: {min: 0, max: 1}
    source: manual
  - code: headcount
    name: 人数
    name_en: Headcount
    unit: count
    time_agg: last
    allowed: {min: 0}
    source: manual
  - code: orders
    name: 订单数
    name_en: Orders
    unit: count
    source:
      dataset: sales_orders
      measure: count(*)
      time_column: order_date
      org_column: dept
"""


@pytest.fixture(scope="session")
def template_warehouse(tmp_path_factory) -> Path:
    """A warehouse file with the org tree and the metric dictionary, built once."""
    root = tmp_path_factory.mktemp("template")
    path = root / "template.duckdb"
    wh = open_warehouse(path)
    import_org_rows(wh, ORG, source="t")
    orders = root / "sales_orders.csv"
    orders.write_text("order_date,dept,amount\n2025-01-05,EAST,10\n", encoding="utf-8")
    import_file(wh, "sales_orders", orders)
    yaml_path = root / "metrics.yaml"
    yaml_path.write_text(METRICS_YAML, encoding="utf-8")
    dictionary.apply(wh, yaml_path, reason="test company")
    return path


@pytest.fixture
def wh_path(template_warehouse, tmp_path) -> Path:
    """A private copy of the template warehouse file."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(template_warehouse, path)
    return path


@pytest.fixture
def wh(wh_path):
    """The private warehouse, with one connection held open for the test.

    Nested `wh.connect()` calls share it, so each call does not reopen the file (which costs
    ~50 ms); the CLI run in-process opens its own connection to the same database. A test that
    runs the CLI in a subprocess must use `wh_path` alone (this connection would lock it out).
    """
    wh = open_warehouse(wh_path)
    with wh.connect():
        yield wh


def write_xlsx(path: Path, rows: list[list[object]], *, title: str = "Sheet1",
               merges: tuple[str, ...] = ()) -> Path:
    """An .xlsx with one sheet holding `rows` (None = empty cell, [] = blank row)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    for rng in merges:
        ws.merge_cells(rng)
    wb.save(path)
    return path


@pytest.fixture
def xlsx(tmp_path):
    """write_xlsx into the test's tmp dir: xlsx(rows, name='f.xlsx', title=..., merges=...)."""

    def make(rows, name: str = "upload.xlsx", **kw) -> Path:
        return write_xlsx(tmp_path / name, rows, **kw)

    return make



DEMO_TODAY = __import__("datetime").date(2026, 11, 27)


def signed_in(at, wh_path, name: str):
    """An AppTest session signed in as user `name` with a real session token, as after the
    sign-in form (the app checks the session on every run; sign-in itself: test_app_login.py)."""
    from kpi_core.auth import users
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(wh_path)
    at.session_state["actor"] = users.actor(wh, name)
    at.session_state["session_token"] = users.start_session(wh, users.actor(wh, name))
    return at


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo company loaded into a warehouse file, built once per session (about 15 s)."""
    from kpi_core.demo.load import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    wh = open_warehouse(path)
    wh.summary = load_demo(wh, today=DEMO_TODAY)
    return path


@pytest.fixture
def demo_path(demo_template, tmp_path) -> Path:
    """A private copy of the demo warehouse, for tests that write."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    return path


@pytest.fixture(autouse=True)
def _streamlit_after_its_first_run(monkeypatch):
    """AppTest starts every run as a new server would: in Streamlit's legacy folder mode (there is a
    `pages/` folder), which the app leaves with a rerun (pages/__init__.py). A rerun drops a button's
    click, so AppTest runs here as every run after a server's first does: with that mode off. The
    first run of a real server is tested in a browser (test_browser_hostile.py)."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def without_folder_mode(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", without_folder_mode)
