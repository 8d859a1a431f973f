"""The package layout holds: imports at module level, no private names across modules, files with
one job. (The layers and the absence of cycles are import-linter's contract in `.importlinter`,
run by `make lint`; this checks what import-linter cannot see.)"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = sorted((ROOT / "kpi_core").rglob("*.py"))
CODE = CORE + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]

# Files that may be longer than MAX_LINES, with the most lines each may have: data tables, and
# debts to pay (a file on this list may shrink, never grow).
MAX_LINES = 420
LONGER = {
    "kpi_core/ingest/xlsx_peek.py": 447,  # one OOXML reader: styles, hidden rows, formulas, merged cells
}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path):
    """(statement, is at module level) for every import of kpi_core in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kpi_core"):
            yield node, id(node) in top
        elif isinstance(node, ast.Import) and any(a.name.startswith("kpi_core") for a in node.names):
            yield node, id(node) in top


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_kpi_core_imports_at_module_level(path):
    """A function-local import is how a cycle hides; the layers leave none to hide."""
    local = [f"line {n.lineno}: {ast.unparse(n)}" for n, at_top in _imports(path) if not at_top]
    assert local == []


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_is_imported_from_another_module(path):
    me = _module(path)
    private = [f"line {n.lineno}: {n.module}.{a.name}" for n, _ in _imports(path) if isinstance(n, ast.ImportFrom)
               for a in n.names if a.name.startswith("_") and n.module != me]
    assert private == []


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_file_has_one_job(path):
    rel = str(path.relative_to(ROOT))
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LONGER.get(rel, MAX_LINES), f"{rel} has {lines} lines; split it by concern"


def test_the_longer_list_names_only_long_files():
    """An entry for a file that has been split (or removed) goes, so the list stays true."""
    stale = {rel: most for rel, most in LONGER.items()
             if not (ROOT / rel).exists() or len((ROOT / rel).read_text(encoding="utf-8").splitlines()) <= MAX_LINES}
    assert stale == {}


def test_the_layer_contract_names_every_package():
    """Every subpackage of kpi_core is in the layers contract, so none escapes it."""
    contract = (ROOT / ".importlinter").read_text(encoding="utf-8")
    layers = contract.split("layers =", 1)[1].split("\n\n", 1)[0]
    named = {name.strip() for line in layers.splitlines() for name in line.split("|") if name.strip()}
    packages = {p.parent.name for p in (ROOT / "kpi_core").glob("*/__init__.py")}
    assert named == packages


def test_the_tests_mirror_the_packages():
    """tests/<package>/ for each package of kpi_core (and tests/system/ for what crosses them)."""
    packages = {p.parent.name for p in (ROOT / "kpi_core").glob("*/__init__.py")}
    test_dirs = {p.parent.name for p in (ROOT / "tests").glob("*/__init__.py")}
    assert test_dirs - {"system"} == packages


PAGES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]


def _downloads(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "download_button":
            yield node


def test_the_pages_have_download_buttons():
    assert sum(1 for p in PAGES for _ in _downloads(p)) >= 8


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_download_reruns_nothing(path):
    """Streamlit reruns the page after a download by default, and the rerun replaces every download
    button's file id: a second download clicked before the new ids reach the browser gets "file
    not found" and nothing (seen under load in the browser tests). A download changes nothing."""
    rerunning = [f"line {n.lineno}" for n in _downloads(path)
                 if not any(k.arg == "on_click" and isinstance(k.value, ast.Constant) and k.value.value == "ignore"
                            for k in n.keywords)]
    assert rerunning == []
