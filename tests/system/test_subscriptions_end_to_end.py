"""A subscription end to end, through a real SMTP server on 127.0.0.1: saved by its user, an
import makes it due, it is rendered as that user and e-mailed with its PNG and Excel file; the
next check sends nothing."""

import datetime as dt
import io

import openpyxl
import pyarrow as pa
import pytest
from PIL import Image

from kpi_core.auth import users
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.jobs import subscriptions as subs
from kpi_core.services.delivery import deliver_due
from kpi_core.store import channels, outbox
from kpi_core.store.org import tree as org_tree
from kpi_core.store.warehouse import open_warehouse
from tests.conftest import DEMO_TODAY
from tests.notify_servers import smtp_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow
MAIL = "lead_t1@example.com"
NOW = dt.datetime.combine(DEMO_TODAY, dt.time(9, 0)).astimezone()


def test_an_after_import_subscription_is_mailed_once_with_its_picture_and_workbook(demo_path, tmp_path,
                                                                                   smtp_server):  # noqa: F811
    wh = open_warehouse(demo_path)
    users.update(wh, "lead_t1", email=MAIL)
    f = tmp_path / "channels.yaml"
    f.write_text(f"channels:\n  - {{name: mail, kind: email, host: {smtp_server.host}, port: {smtp_server.port}, "
                 "sender: kpi@example.com, default: true}\n", encoding="utf-8")
    channels.apply_file(wh, f, reason="test")
    subs.apply(wh, [{"user": "lead_t1", "cockpit": "D1-SAL-T1", "schedule": "after_import"}],
               by=users.actor(wh, "lead_t1"))
    import_table(wh, "actuals", pa.table({"metric": ["headcount"], "org": ["D1-SAL-T1"], "period": ["2026-11"],
                                          "value": [15.0]}), source="upload")
    assert subs.run_due(wh, NOW, today=DEMO_TODAY) == ["lead_t1:cockpit:D1-SAL-T1"]
    deliver_due(wh, NOW)
    [envelope] = smtp_server.envelopes
    assert envelope.recipients == [MAIL]
    msg = smtp_server.messages[0]
    assert org_tree(wh).units["D1-SAL-T1"].name in str(msg["Subject"])
    files = {p.get_filename(): p.get_payload(decode=True) for p in msg.walk() if p.get_filename()}
    png = next(v for k, v in files.items() if k.endswith(".png"))
    xlsx = next(v for k, v in files.items() if k.endswith(".xlsx"))
    assert Image.open(io.BytesIO(png)).format == "PNG"
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert sheet.max_row > 3 and sheet["A3"].value == "指标"
    # the inbox has it too, and nothing more goes until the next import
    assert [m.kind for m in outbox.inbox(wh, "lead_t1")] == ["subscription"]
    assert subs.run_due(wh, NOW + dt.timedelta(minutes=5), today=DEMO_TODAY) == []
    deliver_due(wh, NOW + dt.timedelta(minutes=5))
    assert len(smtp_server.envelopes) == 1
