"""A reason is required to change the metric dictionary, settings or targets, and to revert a
batch: the core's write functions refuse none (or only spaces), so the CLI refuses exactly what
the app refuses; dry runs and writes that change nothing need none."""

import pytest

from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model import reasons
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.metric import Metric
from kpi_core.model.reasons import required_reason
from kpi_core.present.i18n import problem_text
from kpi_core.services import metric_catalog as catalog
from kpi_core.services import planning
from kpi_core.services.cascade import cascade
from kpi_core.services.revert import revert
from kpi_core.store import audit, dictionary, settings
from kpi_core.store.warehouse import open_warehouse
from tests.cli.test_commands import cli
from tests.engine.test_phasing import table

BLANK = [None, "", "   ", "\t\n", "\u3000", "\u200b", " \u200b\ufeff "]


@pytest.mark.parametrize("reason, expected", [
    *[(b, None) for b in BLANK],
    ("wrong file", "wrong file"),
    ("  late correction \n", "late correction"),
    ("年中调整", "年中调整"),
    ("\u200bx", "\u200bx"),  # something visible: kept as written (trimmed)
])
def test_required_reason(reason, expected):
    if expected is None:
        with pytest.raises(ValidationFailed, match="^a reason is required to revert a batch$"):
            required_reason(reason, reasons.REVERT)
    else:
        assert required_reason(reason, reasons.REVERT) == expected


def _batch(wh) -> int:
    return import_table(wh, "actuals", table([("revenue", "EAST", "2025-01", 5)]), source="t").batch


# (what, the change it names, a write of it with this reason; `b` is a batch of actuals)
WRITES = [
    ("metrics", "change the metric dictionary",
     lambda wh, b, r: dictionary.apply_metrics(wh, [Metric(code="x1", name="X", source="manual")], reason=r)),
    ("metric editor", "change the metric dictionary",
     lambda wh, b, r: catalog.apply_text(wh, "code: x1\nname: X\nsource: manual\n", reason=r)),
    ("a setting", "change settings", lambda wh, b, r: settings.put(wh, "fiscal_year_start", "4", reason=r)),
    ("settings", "change settings",
     lambda wh, b, r: settings.put_many(wh, {"default_green": "1.1", "default_amber": "0.95"}, reason=r)),
    ("cascade", "cascade targets",
     lambda wh, b, r: cascade(wh, "revenue", "SALES", 2025, total=100.0, reason=r)),
    ("target edit", "change targets",
     lambda wh, b, r: planning.save_targets(wh, [("revenue", "SALES", "2025", 100.0)], reason=r)),
    ("revert", "revert a batch", lambda wh, b, r: revert(wh, b, reason=r)),
]


@pytest.mark.parametrize("what, change, write", WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize("reason", [None, "", "  ", "\u200b"])
def test_each_write_refuses_a_missing_reason_and_writes_nothing(wh, what, change, write, reason):
    batch = _batch(wh)
    before = len(audit.search(wh)), wh.data_version()
    with pytest.raises(ValidationFailed, match=f"^a reason is required to {change}$"):
        write(wh, batch, reason)
    assert (len(audit.search(wh)), wh.data_version()) == before
    write(wh, batch, " because ")  # the same write with a reason goes through, the reason kept trimmed
    assert audit.search(wh, limit=1)[0]["reason"] == "because"


@pytest.mark.parametrize("write", [
    lambda wh: dictionary.apply_metrics(wh, [Metric(code="x1", name="X", source="manual")], dry_run=True),
    lambda wh: catalog.apply_text(wh, "code: x1\nname: X\nsource: manual\n", reason=None, dry_run=True),
    lambda wh: dictionary.apply_metrics(wh, [dictionary.get(wh, "revenue")]),  # unchanged: nothing written
    lambda wh: cascade(wh, "revenue", "SALES", 2025, total=100.0, dry_run=True),
], ids=["metrics dry run", "editor check", "unchanged metrics", "cascade dry run"])
def test_what_writes_nothing_needs_no_reason(wh, write):
    before = len(audit.search(wh))
    write(wh)
    assert len(audit.search(wh)) == before


@pytest.mark.parametrize(("change", "zh"), [
    (reasons.METRICS, "请填写原因：修改指标库须说明原因"), (reasons.SETTINGS, "请填写原因：修改设置须说明原因"),
    (reasons.TARGETS, "请填写原因：修改目标须说明原因"), (reasons.CASCADE, "请填写原因：分解目标须说明原因"),
    (reasons.REVERT, "请填写原因：撤销批次须说明原因")])
def test_the_refusal_reads_in_chinese(change, zh):
    with pytest.raises(ValidationFailed) as refused:
        required_reason("  ", change)
    assert problem_text(refused.value, "zh") == zh


# --- the CLI refuses the same input ------------------------------------------------------------

CLI_WRITES = [
    (["metrics", "apply", "{metric}"], "change the metric dictionary"),
    (["settings", "set", "fiscal_year_start", "4"], "change settings"),
    (["targets", "cascade", "--metric", "revenue", "--org", "SALES", "--year", "2025", "--total", "100"],
     "cascade targets"),
    (["batches", "revert", "{batch}"], "revert a batch"),
]


@pytest.mark.parametrize("args, change", CLI_WRITES, ids=[" ".join(a[:2]) for a, _ in CLI_WRITES])
@pytest.mark.parametrize("reason, code", [(None, 1), ("  ", 1), ("because", 0)])
def test_the_cli_refuses_a_missing_reason(wh_path, tmp_path, args, change, reason, code):
    wh = open_warehouse(wh_path)
    metric = tmp_path / "m.yaml"
    metric.write_text("metrics:\n  - {code: x1, name: X, source: manual}\n", encoding="utf-8")
    files = {"metric": str(metric), "batch": str(_batch(wh))}
    args = [files[a[1:-1]] if a.startswith("{") else a for a in args]
    before = len(audit.search(wh))
    r = cli(wh_path, *args, *(["--reason", reason] if reason is not None else []))
    assert r.returncode == code, r.stderr
    if code:
        assert f"a reason is required to {change}" in r.stderr
        assert len(audit.search(wh)) == before
    else:
        assert audit.search(wh, limit=1)[0]["reason"] == "because"
