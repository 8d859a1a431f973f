"""The command line: `python -m kpi_core [--warehouse PATH] COMMAND`, thin over kpi_core.

Exit codes: 0 done; 1 input refused (nothing written); 2 usage error; 3 warehouse busy;
4 not found; 5 not allowed (role or org scope); 6 the disk is full (nothing written).

Without `--user` the CLI is the local admin (whoever can run it can open the warehouse file
anyway); with `--user NAME` it acts with that user's role and org units.
"""

from kpi_core.cli import (  # noqa: F401
    actions,
    alerts,
    audit,
    batches,
    boards,
    channels,
    explain,
    forecast,
    imports,
    init,
    jobs,
    metrics,
    org,
    query,
    reviews,
    scorecards,
    settings,
    subscriptions,
    targets,
    users,
)
from kpi_core.cli.app import main

__all__ = ["main"]
