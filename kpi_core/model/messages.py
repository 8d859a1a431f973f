"""Messages as codes: what the product tells a person is a code and its parameters; the words live
in the zh and en catalogs (kpi_core/model/catalog/<lang>/*.yaml) and are filled in the reader's
language when shown.

A `Msg` is also the English text itself (a `str`), so the CLI, logs, JSON output and every
comparison with English read as before; a page or an export renders it with `render(msg, lang)`.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

import yaml

LANGS = ("zh", "en")
# Codes made at run time from a fixed set (a role, a capability): each case is in the catalogs.
DYNAMIC_PREFIXES = ("role_", "doing_", "present_problem_", "ui_", "ingest_workbook_", "access_unit_",
                    "jobs_digest_col_", "jobs_digest_status_", "model_subscription_field_",
                    "model_subscription_schedule_", "model_subscription_weekday_",
                    # review cycles: columns, states, kinds, potentials and refusals named from data
                    "review_col_", "review_kind_", "review_may_not_rate_", "review_packet_action_",
                    "review_potential_", "review_state_")
CATALOG_DIR = Path(__file__).with_name("catalog")


class CatalogError(Exception):
    """A catalog is not what the code needs: a missing or repeated code, a bad template."""


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every code's template in `lang`, from all the YAML files of that language."""
    if lang not in LANGS:
        raise CatalogError(f"no catalog for language '{lang}'")
    out: dict[str, str] = {}
    for path in sorted((CATALOG_DIR / lang).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for code, text in data.items():
            if code in out:
                raise CatalogError(f"{path.name}: code '{code}' is also in another {lang} catalog file")
            if not isinstance(text, str):
                raise CatalogError(f"{path.name}: code '{code}' has no text")
            out[code] = text
    return out


def fields(template: str) -> set[str]:
    """The parameters a template fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Msg(str):
    """A message: its English text, its code and its parameters (which may be messages too)."""

    code: str
    params: dict[str, object]

    def __new__(cls, code: str, /, **params: object) -> Msg:
        text = _fill(code, params, "en")
        self = super().__new__(cls, text)
        self.code, self.params = code, params
        return self

    def __reduce__(self):  # pickled (st.cache_data, processes) as code and parameters
        return (_remake, (self.code, self.params))

    def render(self, lang: str) -> str:
        """The message in `lang`."""
        return _fill(self.code, self.params, lang)


def _remake(code: str, params: dict[str, object]) -> Msg:
    return Msg(code, **params)


def _fill(code: str, params: dict[str, object], lang: str) -> str:
    template = catalog(lang).get(code)
    if template is None:
        raise CatalogError(f"message code '{code}' has no {lang} text")
    values = {k: render(v, lang) for k, v in params.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise CatalogError(f"{lang} text of '{code}' does not fit its parameters {sorted(params)}: {exc}") from exc


def render(message: object, lang: str) -> str:
    """A message in `lang`; anything else as its text (a list joined by the language's comma)."""
    if isinstance(message, Msg):
        return message.render(lang)
    if isinstance(message, list | tuple):
        return ("、" if lang == "zh" else ", ").join(render(m, lang) for m in message)
    return str(message)
