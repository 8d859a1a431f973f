"""Start the app and its scheduler together, in one process: `python serve.py [streamlit options]`
(what `make run` does). The jobs (alert checks, deliveries, subscriptions, reminders) start with
the server, before anyone opens a page, and share the process — and so the warehouse file —
with the app. `streamlit run app.py` alone starts them at the first visit instead."""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.web import cli as streamlit_cli

from kpi_core.jobs import schedule
from kpi_core.model.config import jobs_enabled, warehouse_path
from kpi_core.store.warehouse import open_warehouse

if __name__ == "__main__":
    if jobs_enabled():
        schedule.start(open_warehouse(warehouse_path(), timeout=10))
    sys.argv = ["streamlit", "run", str(Path(__file__).with_name("app.py")), *sys.argv[1:]]
    sys.exit(streamlit_cli.main())
