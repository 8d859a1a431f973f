"""On a failed browser test: a screenshot and the text of every page it left open, so a failure
in CI (a timeout, most often) can be read afterwards in test-artifacts/failed/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FAILED = Path(__file__).resolve().parents[2] / "test-artifacts" / "failed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and browser is not None:
        _keep_pages(browser, re.sub(r"[^\w.-]+", "_", item.nodeid.rpartition("::")[2])[:120])
    return report


def _keep_pages(browser, name: str) -> None:
    """Each open page's screenshot and visible text (best effort: the page may be gone)."""
    FAILED.mkdir(parents=True, exist_ok=True)
    for i, page in enumerate(p for c in browser.contexts for p in c.pages):
        try:
            page.screenshot(path=str(FAILED / f"{name}_{i}.png"), full_page=True, timeout=20_000)
            (FAILED / f"{name}_{i}.txt").write_text(f"{page.url}\n\n{page.inner_text('body', timeout=20_000)}")
        except Exception as exc:  # noqa: BLE001 - a closed page or a hung renderer: say so, go on
            (FAILED / f"{name}_{i}.txt").write_text(f"could not keep the page: {exc}")
