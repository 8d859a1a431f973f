"""`python -m kpi_core`."""

from .cli import main

main(prog_name="python -m kpi_core")
