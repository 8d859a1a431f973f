"""What pydantic found wrong with a model (a metric, a board), as a message."""

from __future__ import annotations

from kpi_core.model.messages import Msg


def field_problem(e: dict) -> str:
    """One pydantic error: our own message as raised by a check (its code kept), else pydantic's text."""
    if e["type"] == "extra_forbidden":
        return Msg("model_unknown_field")
    error = (e.get("ctx") or {}).get("error")
    if isinstance(error, ValueError) and error.args and isinstance(error.args[0], Msg):
        return error.args[0]
    return e["msg"].replace("Value error, ", "")
