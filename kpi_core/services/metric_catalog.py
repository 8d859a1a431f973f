"""The metric center (指标中心) as data: search and facets, lineage, where a metric is used,
version diffs, and editing from YAML text with the same checks as `metrics apply`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import yaml

from kpi_core.engine.formula import components
from kpi_core.model.access import Actor
from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.metric import DatasetSource, FormulaSource, Metric
from kpi_core.store import dictionary
from kpi_core.store.warehouse import Warehouse

FACETS = ("perspective", "kind", "owner", "tags")
EDITOR = Msg("services_metric_editor")  # where the metric center's definitions come from, as a problem names it


def search(metrics: dict[str, Metric], text: str = "", **facets: str | None) -> list[str]:
    """Codes matching the words of `text` (code, names, description, tags) and every facet given."""
    words = [w.lower() for w in text.split()]
    out = []
    for code, m in metrics.items():
        hay = " ".join(filter(None, [m.code, m.name, m.name_en, m.description, m.owner, *m.tags])).lower()
        if not all(w in hay for w in words):
            continue
        ok = True
        for name, want in facets.items():
            if not want:
                continue
            have = getattr(m, name)
            ok = ok and (want in have if isinstance(have, list) else have == want)
        if ok:
            out.append(code)
    return out


def facet_values(metrics: dict[str, Metric], name: str) -> list[str]:
    vals: set[str] = set()
    for m in metrics.values():
        v = getattr(m, name)
        vals.update(v if isinstance(v, list) else [v] if v else [])
    return sorted(vals)


@dataclass
class Lineage:
    source: str                      # dataset | manual | formula
    dataset: str | None = None
    measure: str | None = None
    filter: str | None = None
    components: list[str] = field(default_factory=list)
    used_by: list[str] = field(default_factory=list)  # formulas that name this metric


def lineage(metrics: dict[str, Metric], code: str) -> Lineage:
    m = metrics[code]
    src = m.source
    out = Lineage(m.source_type)
    if isinstance(src, DatasetSource):
        out.dataset, out.measure, out.filter = src.dataset, src.measure, src.filter
    elif isinstance(src, FormulaSource):
        out.components = components(src.formula)
    out.used_by = sorted(c for c, other in metrics.items()
                         if isinstance(other.source, FormulaSource) and code in components(other.source.formula))
    return out


def definition_yaml(definition: dict) -> str:
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=100)


def version_diff(history: list[dict], old: int, new: int) -> str:
    """A unified diff of two versions' definitions, as YAML."""
    by = {h["version"]: h["definition"] for h in history}
    a, b = definition_yaml(by[old]).splitlines(), definition_yaml(by[new]).splitlines()
    return "\n".join(difflib.unified_diff(a, b, f"v{old}", f"v{new}", lineterm=""))


def apply_text(wh: Warehouse, text: str, *, reason: str | None, user: str | Actor = "admin",
               dry_run: bool = False) -> dictionary.ApplyResult:
    """Apply metrics written as YAML (a `metrics:` list, or one metric mapping)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(Msg("services_not_yaml", error=str(exc))) from None
    if isinstance(doc, dict) and "metrics" not in doc:
        doc = {"metrics": [doc]}
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), list):
        raise ValidationFailed(Msg("services_yaml_shape", key="metrics:"))
    return apply_definitions(wh, doc["metrics"], reason=reason, user=user, dry_run=dry_run)


def apply_definitions(wh: Warehouse, items: list, *, reason: str | None, user: str | Actor = "admin",
                      dry_run: bool = False, source: str = EDITOR) -> dictionary.ApplyResult:
    """Check definitions (raw mappings, as YAML reads them) with every check of `metrics apply`
    and, unless a dry run, store the changed ones with the reason. The YAML editor and the
    metric form (services/metric_form.py) both come here."""
    metrics, problems = dictionary.parse_metrics([(source, item) for item in items])
    if problems:
        raise ValidationFailed(Msg("services_problems", n=len(problems)), problems)
    return dictionary.apply_metrics(wh, metrics, reason=reason, user=user, dry_run=dry_run)
