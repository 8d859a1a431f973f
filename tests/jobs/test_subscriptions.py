"""Subscriptions sent as their user: checks on save, the digest from the query API's own cells,
the attachments, the schedule and 'after each import' (on a copy of the demo company)."""

import datetime as dt
import io

import openpyxl
import pyarrow as pa
import pytest
from PIL import Image

from kpi_core.auth import users
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.jobs import subscriptions as subs
from kpi_core.model.errors import AccessDenied, ValidationFailed
from kpi_core.model.periods import parse_period
from kpi_core.query.api import Query, latest_month, run
from kpi_core.query.scorecard import unit_scorecard
from kpi_core.store import outbox, prefs
from kpi_core.store import subscriptions as store
from kpi_core.store.org import tree as org_tree
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.slow
NOW = dt.datetime.combine(DEMO_TODAY, dt.time(12, 0)).astimezone()


@pytest.fixture
def wh(demo_path):
    return open_warehouse(demo_path)


@pytest.mark.parametrize(("item", "by", "code"), [
    ({"user": "nobody", "cockpit": "D1"}, "admin", "store_subscription_unknown_user"),
    ({"user": "mgr_d1", "cockpit": "D2"}, "admin", "store_subscription_unknown_unit"),
    ({"user": "mgr_d1", "cockpit": "NOPE"}, "admin", "store_subscription_unknown_unit"),
    ({"user": "mgr_d1", "board": "no_such_board"}, "admin", "store_subscription_unknown_board"),
])
def test_a_subscription_its_user_could_not_read_is_refused(wh, item, by, code):
    with pytest.raises(ValidationFailed) as err:
        subs.apply(wh, [item], by=by)
    assert [p.code for p in err.value.problems] == [code]
    assert store.listed(wh) == []


def test_only_an_admin_saves_someone_elses(wh):
    with pytest.raises(AccessDenied):
        subs.apply(wh, [{"user": "ceo", "cockpit": "HQ"}], by=users.actor(wh, "mgr_d1"))
    done = subs.apply(wh, [{"user": "mgr_d1", "cockpit": "D1"}], by=users.actor(wh, "mgr_d1"))
    assert done["created"] == ["mgr_d1:cockpit:D1"]
    assert subs.apply(wh, [{"user": "mgr_d1", "cockpit": "D1"}], by="admin")["unchanged"] == ["mgr_d1:cockpit:D1"]


def test_the_cockpit_digest_is_the_query_apis_cells_as_its_user(wh):
    subs.apply(wh, [{"user": "mgr_d1", "cockpit": "D1", "schedule": "daily"}])
    notice = subs.render(wh, store.listed(wh)[0].sub, today=DEMO_TODAY)
    tree = org_tree(wh)
    period = latest_month(wh, DEMO_TODAY)
    codes = unit_scorecard(wh, tree, "D1", period, today=DEMO_TODAY).codes
    p = parse_period(period)
    cells = {(c.metric, c.period): c for c in run(wh, Query(tuple(codes), org="D1", first=p.shift(-1).label,
                                                              last=period), today=DEMO_TODAY).cells}
    turned_red = [m for m in codes if cells[(m, period)].status == "red"
                  and cells.get((m, p.shift(-1).label)) and cells[(m, p.shift(-1).label)].status != "red"]
    assert tree.units["D1"].name in notice.subject and period in notice.subject
    assert len(notice.rows) == len(codes)
    assert {r["单位"] for r in notice.rows} == {tree.units["D1"].name}  # only D1, the user's unit
    if turned_red:
        assert "转红" in notice.body
    assert notice.link == f"?org=D1&period={period}"
    png, xlsx = notice.attachments
    assert Image.open(io.BytesIO(png.content)).size[0] > 400
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert ws.max_row == 3 + len(codes)  # title, a blank line, the header, one row per metric


def test_a_board_is_rendered_at_the_users_part_in_their_language(wh):
    prefs.put(wh, "mgr_d1", "lang", "en")
    subs.apply(wh, [{"user": "mgr_d1", "board": "executive_bsc"}])
    notice = subs.render(wh, store.listed(wh)[0].sub, today=DEMO_TODAY)
    assert notice.subject.startswith("[KPI Cockpit] Board")
    units = {r["Unit"] for r in notice.rows}
    assert units == {org_tree(wh).units["D1"].name}  # the board shows HQ; this user reads D1 only
    kinds = [a.mime for a in notice.attachments]
    assert kinds == ["image/png", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    assert "HQ" not in str(openpyxl.load_workbook(io.BytesIO(notice.attachments[1].content)).sheetnames)


def test_after_each_import_goes_once_per_import(wh):
    subs.apply(wh, [{"user": "lead_t1", "cockpit": "D1-SAL-T1", "schedule": "after_import"}])
    assert subs.run_due(wh, NOW) == []  # made after the last import: waits for the next one
    import_table(wh, "actuals", pa.table({"metric": ["headcount"], "org": ["D1-SAL-T1"], "period": ["2026-11"],
                                          "value": [15.0]}), source="t")
    assert subs.run_due(wh, NOW) == ["lead_t1:cockpit:D1-SAL-T1"]
    assert subs.run_due(wh, NOW) == []
    box = outbox.inbox(wh, "lead_t1")
    assert len(box) == 1 and box[0].kind == "subscription" and box[0].ref == "subscription:lead_t1:cockpit:D1-SAL-T1"


def test_a_daily_subscription_goes_at_its_moment_once(wh):
    # its time of day two hours after it is made: the moment before that was 22 hours before it
    at = (dt.datetime.now().astimezone() + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    subs.apply(wh, [{"user": "ceo", "cockpit": "HQ", "schedule": "daily", "at": f"{at:%H:%M}"}])
    assert subs.run_due(wh, at - dt.timedelta(minutes=1), today=DEMO_TODAY) == []
    assert subs.run_due(wh, at, today=DEMO_TODAY) == ["ceo:cockpit:HQ"]
    assert subs.run_due(wh, at + dt.timedelta(hours=1), today=DEMO_TODAY) == []
    assert subs.run_due(wh, at + dt.timedelta(days=1), today=DEMO_TODAY) == ["ceo:cockpit:HQ"]
    assert len(outbox.inbox(wh, "ceo")) == 2


def test_a_subscription_that_can_no_longer_be_shown_says_so(wh):
    subs.apply(wh, [{"user": "mgr_d1", "cockpit": "D1"}])
    users.update(wh, "mgr_d1", orgs=["D2"])
    notice = subs.render(wh, store.listed(wh)[0].sub, today=DEMO_TODAY)
    assert "已无法查看" in notice.subject and notice.rows == () and notice.attachments == ()
