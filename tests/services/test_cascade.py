"""Cascade bounds in kpi_core.services.cascade: the uplift (0.5 to 3) and the method are the
core's to check, so the CLI refuses what the app's targets page does not offer."""

import math

import pytest

from kpi_core.model.errors import ValidationFailed
from kpi_core.services.cascade import METHODS, UPLIFT, cascade
from tests.cli.test_commands import cli


def test_the_page_and_the_cli_offer_the_cores_methods():
    assert METHODS == ("equal", "last_year", "headcount", "weights") and UPLIFT == (0.5, 3.0)


@pytest.mark.parametrize("uplift, refused", [
    (0.5, False), (1.0, False), (1.05, False), (3.0, False),
    (0.49, True), (3.01, True), (0.0, True), (-1.0, True), (math.nan, True), (math.inf, True),
])
@pytest.mark.parametrize("dry_run", [True, False])
def test_uplift_bounds(wh, uplift, refused, dry_run):
    go = lambda: cascade(wh, "revenue", "SALES", 2025, total=100.0, uplift=uplift, dry_run=dry_run,  # noqa: E731
                         reason="plan")
    if refused:
        with pytest.raises(ValidationFailed, match="is outside 0.5 to 3"):
            go()
    else:
        splits, _ = go()
        assert sum(s.target for s in splits) == pytest.approx(100.0 * uplift)


@pytest.mark.parametrize("method", ["nope", "", "EQUAL"])
def test_an_unknown_method_is_refused(wh, method):
    with pytest.raises(ValidationFailed, match=f"no cascade method '{method}'"):
        cascade(wh, "revenue", "SALES", 2025, method, total=100.0, dry_run=True)


@pytest.mark.parametrize("uplift, code", [("5", 1), ("0.1", 1), ("1.5", 0)])
def test_the_cli_refuses_the_same_uplift(wh_path, uplift, code):
    r = cli(wh_path, "targets", "cascade", "--metric", "revenue", "--org", "SALES", "--year", "2025",
            "--total", "100", "--uplift", uplift, "--dry-run")
    assert r.returncode == code, r.stderr
    assert ("is outside 0.5 to 3" in r.stderr) == bool(code)
