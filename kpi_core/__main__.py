"""`python -m kpi_core`."""

from kpi_core.cli.main import main

main(prog_name="python -m kpi_core")
