"""The UI in the reader's language: labels from the catalogs' ui_* codes, and messages, status rules and
problems rendered from their codes (kpi_core/model/messages.py)."""

from __future__ import annotations

from kpi_core.model.messages import LANGS, Msg, catalog, render
from kpi_core.model.problems import Problem

# The UI's strings, from the ui_* codes of the catalogs (kpi_core/model/catalog/<lang>/ui.yaml).
STRINGS: dict[str, dict[str, str]] = {code[3:]: {lang: catalog(lang)[code] for lang in LANGS}
                                      for code in catalog("en") if code.startswith("ui_")}


def t(key: str, lang: str) -> str:
    """The string for `key` in `lang` (the key itself where the catalogs have none)."""
    return catalog(lang).get(f"ui_{key}", key)


def rule_text(rule: object, lang: str) -> str:
    """A status rule in the UI language."""
    return render(rule, lang) if rule else ""


def problem_line(p: Problem, lang: str) -> str:
    """A Problem as one line, where it is first (row, column, value), in the UI language."""
    where = ("at_row" if p.row is not None else "in_file") + ("_column" if p.column else "") + (
        "_value" if p.value != "" else "")
    message = p.message if isinstance(p.message, Msg) else problem_text(p.message, lang)
    return Msg(f"present_problem_{where}", row=p.row, column=p.column, value=p.value, message=message).render(lang)


def problem_text(message: object, lang: str) -> str:
    """A problem or a refusal in the UI language: a message from its catalogs, an exception by its
    message, a Problem with where it is (text that is no message is shown as it is)."""
    if isinstance(message, BaseException):
        message = message.args[0] if message.args and isinstance(message.args[0], Msg) else str(message)
    if isinstance(message, Problem):
        return problem_line(message, lang)
    return render(message, lang)
