"""Load the deterministic demo company (kpi_core.demo.company) into a warehouse, through the same
validated paths a user's imports take."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import yaml

from kpi_core.auth import users
from kpi_core.demo.company import generate
from kpi_core.ingest.datasets import import_arrow
from kpi_core.ingest.facts.from_arrow import import_table
from kpi_core.model.config import PROJECT_ROOT
from kpi_core.store import boards, dictionary, org, scorecards
from kpi_core.store.warehouse import Warehouse

Progress = Callable[[str, int, int], None]
DEMO_BOARDS = PROJECT_ROOT / "data" / "demo" / "boards.yaml"
# One user per role, without passwords (there is no default password): the admin made at first
# run sets theirs on the Admin page, or `users passwd NAME`.
DEMO_USERS = (("ceo", "executive", ("HQ",)), ("mgr_d1", "manager", ("D1",)),
              ("lead_t1", "team_lead", ("D1-SAL-T1",)), ("emp_p0001", "employee", ("P0001",)))


def load_demo(wh: Warehouse, *, today: dt.date | None = None, progress: Progress | None = None) -> dict:
    """Generate and load the demo company in one transaction; returns counts and seconds taken.

    One transaction, so a build that is stopped halfway leaves an empty warehouse that the
    next `init --demo` fills, never half a company.
    """
    step = progress or (lambda *_: None)
    t0 = time.perf_counter()
    steps = 6
    step("generate", 0, steps)
    demo = generate(today or dt.date.today())
    raw = [("metrics.yaml", m) for m in yaml.safe_load(demo.metrics_yaml)["metrics"]]
    metrics, problems = dictionary.parse_metrics(raw)
    with wh.transaction():
        step("org", 1, steps)
        org.import_org_rows(wh, demo.org, source="demo: org tree")
        step("datasets", 2, steps)
        for name, table in demo.datasets.items():
            import_arrow(wh, name, table, source=f"demo: {name}")
        step("metrics", 3, steps)
        dictionary.apply_metrics(wh, metrics, problems=problems, reason="demo company")
        step("actuals", 4, steps)
        import_table(wh, "actuals", demo.actuals, source="demo: actuals")
        step("targets", 5, steps)
        import_table(wh, "targets", demo.targets, source="demo: targets")
        boards.apply(wh, DEMO_BOARDS.read_text(encoding="utf-8"), source="demo boards", reason="demo company")
        scorecards.apply(wh, list(demo.scorecards), reason="demo company")
        for name, role, units in DEMO_USERS:
            users.add(wh, name, role, orgs=units)
    step("done", steps, steps)
    return {
        "org_units": len(demo.org), "metrics": len(metrics),
        "datasets": {n: t.num_rows for n, t in demo.datasets.items()},
        "actuals": demo.actuals.num_rows, "targets": demo.targets.num_rows,
        "periods": f"{demo.first_period}..{demo.last_period}",
        "boards": len(boards.all_boards(wh)),
        "scorecards": len(scorecards.current(wh)),
        "users": f"{', '.join(n for n, _, _ in DEMO_USERS)} (no passwords yet; "
                 "create the admin: python -m kpi_core users add NAME --role admin)",
        "seconds": round(time.perf_counter() - t0, 1),
    }
