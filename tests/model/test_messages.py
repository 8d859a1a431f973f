"""Messages as codes (kpi_core/model/messages.py): every code the code uses has a text in both
languages, the texts take the same parameters, and Chinese texts are Chinese."""

import ast
import pickle
import re
from pathlib import Path

import pytest

from kpi_core.model import messages
from kpi_core.model.messages import LANGS, CatalogError, Msg, catalog, fields, render

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "kpi_core").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"])


def _used_codes() -> dict[str, str]:
    """Every literal code given to Msg(...) in the code, with where it is used."""
    out = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Msg"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                out.setdefault(node.args[0].value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return out


def _constants() -> set[str]:
    """Every string constant in the code (a code chosen from a table is one of them)."""
    return {node.value for path in SOURCES for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


USED = _used_codes()
CONSTANTS = _constants()


def test_both_catalogs_hold_the_same_codes():
    assert sorted(set(catalog("en")) ^ set(catalog("zh"))) == []


@pytest.mark.parametrize("code", sorted(catalog("en")))
def test_a_code_takes_the_same_parameters_in_both_languages(code):
    assert fields(catalog("zh")[code]) == fields(catalog("en")[code])


@pytest.mark.parametrize("code", sorted(USED))
def test_every_code_the_code_uses_has_a_text_in_each_language(code):
    missing = [lang for lang in LANGS if code not in catalog(lang)]
    assert missing == [], f"{USED[code]}: Msg('{code}') has no text in {missing}"


def test_every_code_in_the_catalogs_is_used():
    """A text nothing shows any more goes (codes built at run time are listed where they are made)."""
    dynamic = {c for c in catalog("en") if any(c.startswith(p) for p in messages.DYNAMIC_PREFIXES)}
    assert sorted(set(catalog("en")) - CONSTANTS - dynamic) == []


# Latin words a Chinese text may keep: names of files, tools, settings and formats.
KEEP = re.compile(r"`[^`]+`|\{[a-z_0-9]+\}|KPI_[A-Z_]+|--[a-z-]+|Excel|LibreOffice|CSV|XLSX?|xlsx?|ODS|YAML|SQL|JSON|"
                  r"OIDC|UTF-8|GBK|ID|KPI|PNG|SVG|DuckDB|[A-Z]{1,3}\d*|[0-9a-z_]+\(\)|[a-z0-9_]+_[a-z0-9_]+|"
                  r"e\.g\.|\.xlsx|\.xls|\.csv|python -m kpi_core[^，。；]*")


@pytest.mark.parametrize("code", sorted(catalog("zh")))
def test_a_chinese_text_has_no_english_sentence(code):
    words = re.findall(r"[A-Za-z]{3,}", KEEP.sub("", catalog("zh")[code]))
    assert words == [], f"{code}: {catalog('zh')[code]}"


@pytest.mark.parametrize("code", sorted(catalog("en")))
def test_an_english_text_has_no_chinese_unless_it_quotes(code):
    """English texts name Chinese headers only as examples (in quotes or brackets)."""
    text = re.sub(r"['\"“（(][^'\"”）)]*['\"”）)]", "", catalog("en")[code])
    assert re.findall(r"[\u4e00-\u9fff]+", text) == []


def test_a_message_is_its_english_text_and_renders_in_chinese():
    m = Msg("reason_required", doing=Msg("doing_revert"))
    assert m == "a reason is required to revert a batch"
    assert m.render("zh") == "请填写原因：撤销批次须说明原因"
    assert render(m, "en") == str(m)
    assert render("plain text", "zh") == "plain text"


def test_a_message_survives_pickling_with_its_code():
    m = Msg("reason_required", doing=Msg("doing_revert"))
    back = pickle.loads(pickle.dumps(m))
    assert (back, back.code, back.render("zh")) == (m, "reason_required", m.render("zh"))


def test_an_unknown_code_or_parameter_is_refused():
    with pytest.raises(CatalogError, match="no en text"):
        Msg("no_such_code")
    with pytest.raises(CatalogError, match="does not fit"):
        Msg("reason_required")  # its parameter is missing
