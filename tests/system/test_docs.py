"""The docs say what the code is. README.md documents every command, warehouse setting and
KPI_* environment variable; docs/ARCHITECTURE.md names every package and every layer of the
import contract, at its level; every kpi_core module, path or name either of them mentions exists."""

from __future__ import annotations

import ast
import configparser
import importlib
import re
from pathlib import Path

import click
import pytest

import kpi_core
from kpi_core.cli.main import main
from kpi_core.store.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]  # where the docs and .importlinter are
KPI = Path(kpi_core.__file__).resolve().parent  # the package the docs describe
DOCS = {name: (ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/ARCHITECTURE.md")}
README, ARCHITECTURE = DOCS["README.md"], DOCS["docs/ARCHITECTURE.md"]

FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`]+)`")


def fenced_lines(text: str) -> list[str]:
    return [line.strip() for block in FENCED.findall(text) for line in block.splitlines() if line.strip()]


def inline_spans(text: str) -> list[str]:
    """The inline code spans of the text outside fenced blocks, each on one line."""
    return [" ".join(s.split()) for s in INLINE.findall(FENCED.sub("", text))]


# --- commands -------------------------------------------------------------------------------

def command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every command and group under the CLI's root, as typed: 'users', 'users add', …"""
    out = []
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        out.append(" ".join(path))
        if isinstance(cmd, click.Group):
            out += command_paths(cmd, path)
    return out


def documented_commands(text: str) -> list[str]:
    """Code that starts with a command: inline spans, and the lines of fenced blocks (with their
    `a | b` alternatives split)."""
    return [part.strip() for code in inline_spans(text) + fenced_lines(text) for part in code.split(" | ")]


def is_documented(path: str, text: str) -> bool:
    starts = re.compile(rf"{re.escape(path)}(?:\s|$)")
    return (re.search(rf"python -m kpi_core {re.escape(path)}(?![\w-])", text) is not None
            or any(starts.match(code) for code in documented_commands(text)))


@pytest.mark.parametrize("path", command_paths())
def test_every_command_is_in_the_readme(path):
    assert is_documented(path, README), f"README.md does not show `python -m kpi_core {path}`"


# --- settings and the environment -----------------------------------------------------------

@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_every_warehouse_setting_is_in_the_readme(key):
    assert key in inline_spans(README), f"README.md does not name the setting `{key}`"


def environment_variables() -> list[str]:
    """KPI_* names kpi_core reads: string constants that are such a name whole (os.environ.get,
    _env_float, click's envvar=), not messages that quote one."""
    names = set()
    for path in KPI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"KPI_[A-Z0-9_]+",
                                                                                               node.value):
                names.add(node.value)
    return sorted(names)


def test_the_scan_finds_the_environment_variables():
    """So the test below cannot pass by finding none."""
    assert {"KPI_WAREHOUSE", "KPI_LOCK_TIMEOUT"} <= set(environment_variables())


@pytest.mark.parametrize("name", environment_variables())
def test_every_environment_variable_is_in_the_readme(name):
    assert name in {s.lstrip("$") for s in inline_spans(README)}, f"README.md does not name `{name}`"


# --- packages and layers --------------------------------------------------------------------

def subpackages() -> list[str]:
    """Every package inside kpi_core, as a path: 'cli', 'ingest/facts', …"""
    return sorted(p.parent.relative_to(KPI).as_posix() for p in KPI.rglob("__init__.py") if p.parent != KPI)


def named(span: str) -> str:
    """A code span as a package path: `kpi_core/ingest/facts/`, `ingest.facts` → ingest/facts."""
    for prefix in ("kpi_core/", "kpi_core."):
        span = span.removeprefix(prefix)
    return span.replace(".", "/").rstrip("/")


@pytest.mark.parametrize("package", subpackages())
def test_every_package_is_in_the_architecture(package):
    assert package in {named(s) for s in inline_spans(ARCHITECTURE)}, \
        f"docs/ARCHITECTURE.md does not name `{package}/`"


def contract_layers() -> dict[str, int]:
    """{package: level, 1 at the top} from the layers contract in .importlinter."""
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    lines = [line for line in config["importlinter:contract:layers"]["layers"].splitlines() if line.strip()]
    return {name.strip(): level for level, line in enumerate(lines, 1) for name in line.split("|")}


def table_layers() -> dict[str, int]:
    """{package: level} from the table of the architecture's Layers section: `| 3 | `present/` | …`."""
    section = ARCHITECTURE.split("## Layers", 1)[1].split("\n## ", 1)[0]
    return {name: int(level) for level, name in re.findall(r"^\| (\d+) \| `(\w+)/?` \|", section, re.MULTILINE)}


@pytest.mark.parametrize("layer", sorted(contract_layers()))
def test_every_layer_is_in_the_architecture_at_its_level(layer):
    assert table_layers().get(layer) == contract_layers()[layer], \
        f"docs/ARCHITECTURE.md's Layers table should put `{layer}/` at level {contract_layers()[layer]}"


def test_the_layers_table_names_only_layers_of_the_contract():
    assert set(table_layers()) <= set(contract_layers())


# --- what the docs name exists ----------------------------------------------------------------

PACKAGES = [p for p in subpackages() if "/" not in p]
TOP = "|".join(PACKAGES)


def mentioned_paths() -> list[tuple[str, str]]:
    """(doc, path) of every kpi_core or pages path a doc mentions: `kpi_core/query/api.py`,
    `kpi_core/engine/`, `pages/common.py`, and paths inside a package such as `store/partials.py`."""
    found = set()
    for doc, text in DOCS.items():
        found |= {(doc, m) for m in re.findall(r"(?:kpi_core|pages)/[\w/]+(?:\.py)?", text)}
        found |= {(doc, f"kpi_core/{m}") for m in re.findall(rf"(?<![\w/.])(?:{TOP})/[\w/]*\w\.py\b", text)}
    return sorted(found)


@pytest.mark.parametrize(("doc", "path"), mentioned_paths(), ids=lambda v: v)
def test_every_path_the_docs_mention_exists(doc, path):
    assert (KPI.parent / path).exists(), f"{doc} mentions {path}, which does not exist"


def mentioned_names() -> list[tuple[str, str]]:
    """(doc, dotted name) of every code span naming something in kpi_core: `query.api.run`,
    `store.warehouse.Warehouse.transaction`, `kpi_core.engine.formula`."""
    pattern = re.compile(rf"(?:kpi_core\.)?(?:{TOP})(?:\.\w+)+")
    return sorted({(doc, s) for doc, text in DOCS.items() for s in inline_spans(text) if pattern.fullmatch(s)})


def resolves(dotted: str) -> bool:
    """Whether the longest importable module prefix of kpi_core.<dotted> has the rest as attributes."""
    parts = dotted.removeprefix("kpi_core.").split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(["kpi_core", *parts[:cut]]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            if not hasattr(found, attr):
                return False
            found = getattr(found, attr)
        return True
    return False


@pytest.mark.parametrize(("doc", "name"), mentioned_names(), ids=lambda v: v)
def test_every_name_the_docs_mention_exists(doc, name):
    assert resolves(name), f"{doc} names `{name}`, which is not in kpi_core"
