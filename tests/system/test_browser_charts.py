"""Charts a person can read, in headless Chromium at 1440 and 390 px, in Chinese and English: a
board with every tile type, and the cockpit's heat map, over long Chinese unit and metric names.
The axis labels Vega draws (SVG <text>) are read back: numbers in the viewer's words (万/亿, or
K/M/B), rates in %, nothing rotated, every name shown and none overlapping another.
Screenshots go to test-artifacts/browser/charts_*.png."""

import re
import shutil
import time

import pytest

from kpi_core.model.messages import catalog
from tests.system.test_browser import ARTIFACTS, _people, idle, launch, serve, sign_in

pytestmark = pytest.mark.slow

LONG_UNITS = {"D1": "华东区域智能制造装备销售事业部", "D2": "华南区域新能源汽车零部件事业部",
              "D5": "新能源装备与储能系统集成事业部"}
LONG_METRICS = {
    "supplier_on_time_rate": ("核心供应商按期足量交货达成率", "On-time in-full delivery rate of key suppliers"),
    "revenue": ("主营业务销售收入（含税口径）", "Main business sales revenue (tax included)")}
TILES = [
    {"id": "card", "type": "kpi_card", "metrics": ["revenue"], "place": {"row": 0, "order": 0, "width": 3}},
    {"id": "gauge", "type": "gauge", "metrics": ["gross_margin"], "place": {"row": 0, "order": 1, "width": 3}},
    {"id": "mixed", "type": "trend", "metrics": ["revenue", "gross_margin"],
     "place": {"row": 0, "order": 2, "width": 6}},
    {"id": "heat", "type": "heatmap", "place": {"row": 1, "order": 0, "width": 12},
     "metrics": ["revenue", "gross_margin", "active_customers", "customer_satisfaction", "on_time_delivery",
                 "first_pass_yield", "supplier_on_time_rate", "peak_capacity_utilization", "employee_turnover_rate"]},
    {"id": "bars", "type": "bar_by_org", "metrics": ["revenue"], "place": {"row": 2, "order": 0, "width": 6}},
    {"id": "rank", "type": "ranking", "metrics": ["revenue"], "top": 6, "place": {"row": 2, "order": 1, "width": 6}},
    {"id": "bullet", "type": "bullet", "metrics": ["revenue", "gross_margin", "active_customers", "headcount",
                                                   "defect_rate"], "place": {"row": 3, "order": 0, "width": 6}},
    {"id": "rate", "type": "trend", "metrics": ["gross_margin"], "place": {"row": 3, "order": 1, "width": 6}},
    {"id": "table", "type": "table", "metrics": ["revenue", "gross_margin"], "scope": "children",
     "place": {"row": 4, "order": 0, "width": 6}},
    {"id": "note", "type": "text", "text": "每月 5 日前完成上月数据上报。",
     "place": {"row": 4, "order": 1, "width": 6}},
    {"id": "card2", "type": "scorecard", "place": {"row": 5, "order": 0, "width": 12}},
]
CHARTS = ("gauge", "mixed", "heat", "bars", "rank", "bullet", "rate")


@pytest.fixture(scope="module")
def server(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("charts") / "demo.duckdb"
    shutil.copyfile(demo_template, path)
    _people(path)
    _long_names_and_a_board(path)
    yield from serve(path)


def _long_names_and_a_board(path) -> None:
    """Three divisions and two metrics renamed long; a board with every tile type."""
    from kpi_core.store import boards, dictionary, org
    from kpi_core.store.warehouse import open_warehouse

    wh = open_warehouse(path)
    tr = org.tree(wh)
    org.import_org_rows(wh, [(c, LONG_UNITS.get(c, u.name), u.parent) for c, u in tr.units.items()], source="test")
    ms = dictionary.current(wh)
    dictionary.apply_metrics(wh, [ms[c].model_copy(update={"name": zh, "name_en": en})
                                  for c, (zh, en) in LONG_METRICS.items()], reason="long names")
    boards.save(wh, boards.Board(code="charts_all", title="全部图块 All tiles", owner="ceo", share="everyone",
                                 filters={"org": "HQ", "grain": "month"}, tiles=TILES))


@pytest.fixture(scope="module")
def browser(server):
    yield from launch()


READ = """scope => [...document.querySelectorAll(scope)].map(el => {
    const chart = el.querySelector('[data-testid="stVegaLiteChart"]') || el;
    const texts = sel => [...chart.querySelectorAll(sel)].map(t => {
        const r = t.getBoundingClientRect();
        return {text: t.textContent, lines: [...t.querySelectorAll('tspan')].map(s => s.textContent),
                box: [r.left, r.top, r.right, r.bottom], shown: getComputedStyle(t).opacity !== '0'
                      && t.getAttribute('opacity') !== '0', transform: t.getAttribute('transform') || ''};
    });
    return {svg: !!chart.querySelector('svg.marks'), canvas: !!chart.querySelector('canvas'),
            labels: texts('.role-axis-label text'), titles: texts('.role-axis-title text'),
            width: chart.getBoundingClientRect().width};
})"""


def _read(pg, scope: str) -> dict:
    found = pg.evaluate(READ, scope)
    assert found, f"no chart in {scope}"
    return found[0]


def _overlaps(labels: list[dict]) -> list[tuple[str, str]]:
    """Pairs of shown labels whose boxes overlap (by more than half a pixel each way)."""
    shown = [x for x in labels if x["shown"] and x["text"].strip()]
    out = []
    for i, a in enumerate(shown):
        for b in shown[i + 1:]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = a["box"], b["box"]
            if min(r1, r2) - max(l1, l2) > 0.5 and min(b1, b2) - max(t1, t2) > 0.5:
                out.append((a["text"], b["text"]))
    return out


def _numbers(chart: dict) -> list[str]:
    """The axis labels that are numbers (not names, not periods)."""
    return [x["text"] for x in chart["labels"] if x["shown"] and re.fullmatch(r"[−-]?[\d.,]+\D{0,2}", x["text"])
            and not re.fullmatch(r"\d{4}-\d{2}", x["text"])]


def _fit_and_shoot(pg, name: str) -> None:
    """The whole page in one picture: the viewport made as tall as Streamlit's scrolling main area."""
    height = pg.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    pg.set_viewport_size({"width": pg.viewport_size["width"], "height": min(max(height + 100, 900), 12000)})
    time.sleep(1.5)  # Vega redraws at the new size
    idle(pg)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _open(browser, server, width: int, lang: str, link: str):
    ctx = browser.new_context(viewport={"width": width, "height": 1400}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    sign_in(pg, server, "ceo")
    pg.goto(f"{server}/{link}{'&' if '?' in link else '?'}lang={lang}")
    return ctx, pg


def _no_rotation(chart: dict) -> None:
    for x in chart["labels"] + chart["titles"]:
        assert "rotate" not in x["transform"], x


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [1440, 390])
def test_every_board_tile_reads_at_desktop_and_phone_width(server, browser, width, lang):
    ctx, pg = _open(browser, server, width, lang, "boards?board=charts_all")
    try:
        pg.wait_for_function(
            "n => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] svg.marks').length >= n",
            arg=len(CHARTS))
        idle(pg)
        _fit_and_shoot(pg, f"charts_board_{lang}_{width}")
        charts = {tid: _read(pg, f".st-key-tile_{tid}") for tid in CHARTS}
        for tid, chart in charts.items():
            assert chart["svg"] and not chart["canvas"], tid  # SVG: its labels are there to read
            assert chart["width"] <= width, (tid, chart["width"])
            _no_rotation(chart)
            assert _overlaps(chart["labels"]) == [], (tid, _overlaps(chart["labels"]))
        numbers = [n for tid in CHARTS for n in _numbers(charts[tid])]
        assert not [n for n in numbers if re.search(r"\d[kGm]$", n)], numbers  # never d3's SI suffixes
        if lang == "zh":
            assert any(n.endswith(("亿", "万")) for n in numbers), numbers
            assert not [n for n in numbers if re.search(r"\d[KMB]$", n)], numbers
        else:
            assert any(n.endswith(("M", "K", "B")) for n in numbers) and not [n for n in numbers if "亿" in n]
        for tid in ("rate", "bullet", "rank"):  # rates and shares of target: a % axis, never 0–1
            rates = _numbers(charts[tid])
            assert rates and all(n.endswith("%") for n in rates), (tid, rates)
        # The heat map shows every unit and metric, each label whole or ending in … (the tooltip has the rest).
        heat = [x for x in charts["heat"]["labels"] if x["shown"]]
        units = ["华东区域智能制造装备销售事业部", "华南区域新能源汽车零部件事业部", "智能装备事业部", "精密部件事业部",
                 "新能源装备与储能系统集成事业部", "集团职能中心"]
        for name in units:
            assert any(x["text"] == name or (x["text"].endswith("…") and name.startswith(x["text"][:-1]))
                       for x in heat), (name, [x["text"] for x in heat])
        assert len(heat) == len(units) + 9
        ranked = [x for x in charts["rank"]["labels"] if x["shown"] and not x["text"].endswith("%")]
        assert len(ranked) >= 5  # every ranked unit named
        # The picks still cross-filter the board: a ranking bar (its figure on it lets the click through)
        said = catalog(lang)["ui_cross_filter"].split("{unit}")[0].strip()
        pg.locator(".st-key-tile_rank .mark-rect path").first.click()
        pg.get_by_text(re.compile(re.escape(said) + ".*智能装备事业部")).wait_for()
        idle(pg)  # and a trend's period: the nearest point to a click
        box = pg.locator(".st-key-tile_rate svg.marks").bounding_box()
        pg.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.5)
        pg.get_by_text(re.compile(re.escape(said) + r".*\d{4}-\d{2}")).wait_for()
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [1440, 390])
def test_the_cockpit_heat_map_reads_at_desktop_and_phone_width(server, browser, width, lang):
    ctx, pg = _open(browser, server, width, lang, "?org=HQ")
    try:
        pg.wait_for_selector(".st-key-heat svg.marks")
        idle(pg)
        _fit_and_shoot(pg, f"charts_cockpit_{lang}_{width}")
        chart = _read(pg, ".st-key-heat")
        labels = [x for x in chart["labels"] if x["shown"]]
        assert chart["width"] <= width and len(labels) == len(chart["labels"]) > 6
        assert _overlaps(labels) == [], _overlaps(labels)
        _no_rotation(chart)
        for name in LONG_UNITS.values():  # a column each, its name wrapped (… only where the column is narrow)
            assert any(x["text"] == name or (x["text"].endswith("…") and name.startswith(x["text"][:-1]))
                       for x in labels), (name, [x["text"] for x in labels])
        if width == 1440:
            assert any(x["text"] == LONG_UNITS["D1"] for x in labels)  # whole on a wide screen
    finally:
        ctx.close()
