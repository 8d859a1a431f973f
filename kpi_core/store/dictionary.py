"""The metric dictionary (指标中心) in the warehouse: current definitions, versions with reasons,
YAML apply and export (the model and its checks are kpi_core/model/metric.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kpi_core.engine.phasing import BUILT_IN
from kpi_core.model import reasons, yamldoc
from kpi_core.model.access import Actor, acting
from kpi_core.model.errors import NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.metric import DatasetSource, Metric, check_references, parse_metrics, to_yaml
from kpi_core.store import audit
from kpi_core.store.datasets import column_names
from kpi_core.store.partials import refresh
from kpi_core.store.phasing import profiles
from kpi_core.store.warehouse import Warehouse, now


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _canonical(definition: dict) -> str:
    return json.dumps(definition, sort_keys=True, ensure_ascii=False)


def load_yaml_files(path: str | Path) -> list[tuple[str, dict]]:
    """(file name, raw metric dict) pairs from a YAML file or a directory of them."""
    path = Path(path)
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise NotFound(Msg("store_no_yaml_files", path=str(path)))
    elif path.is_file():
        files = [path]
    else:
        raise NotFound(Msg("store_no_such_path", path=str(path)))
    out: list[tuple[str, dict]] = []
    for f in files:
        for raw in yamldoc.items(f.read_text(encoding="utf-8"), "metrics", f.name):
            out.append((f.name, raw))
    return out


def current(wh: Warehouse) -> dict[str, Metric]:
    """The latest version of every metric, by code."""
    with wh.read() as con:
        rows = con.execute("SELECT code, definition FROM metric ORDER BY code").fetchall()
    return {code: Metric.model_validate(json.loads(d)) for code, d in rows}


def get(wh: Warehouse, code: str) -> Metric:
    m = current(wh).get(code)
    if m is None:
        raise NotFound(Msg("store_no_metric", metric=code))
    return m


def dataset_columns(wh: Warehouse) -> dict[str, list[str]]:
    with wh.read() as con:
        rows = con.execute("SELECT name, columns FROM dataset").fetchall()
    return {name: [c["name"] for c in json.loads(cols)] for name, cols in rows}


def apply(wh: Warehouse, path: str | Path, *, reason: str | None = None, user: str = "admin",
          dry_run: bool = False) -> ApplyResult:
    """Create or update definitions from YAML; all or nothing; changed ones get a new version
    (with the reason, which a change needs)."""
    metrics, problems = parse_metrics(load_yaml_files(path))
    return apply_metrics(wh, metrics, problems=problems, reason=reason, user=user, dry_run=dry_run)


def _check_phasing(wh: Warehouse, metrics: list[Metric]) -> list[Msg]:
    """A named phasing profile must exist before a metric uses it."""
    named = {m.phasing for m in metrics} - set(BUILT_IN)
    if not named:
        return []
    with wh.connect() as con:
        known = profiles(con)
    return [Msg("store_phasing_undefined", metric=m.code, profile=m.phasing, known=[*BUILT_IN, *sorted(known)])
            for m in metrics if m.phasing in named and m.phasing not in known]


def _check_linked(wh: Warehouse, metrics: list[Metric]) -> list[Msg]:
    """A metric on a linked dataset reads its time and org unit by the link's columns: the
    refresh groups the source's rows by them (another column would be a different number)."""
    with wh.connect() as con:
        links = {n: (t, o) for n, t, o in con.execute(
            "SELECT name, time_column, org_column FROM linked_dataset").fetchall()}
    return [Msg("store_metric_linked_columns", metric=m.code, has_time=m.source.time_column,
                has_org=m.source.org_column, dataset=m.source.dataset, time=links[m.source.dataset][0],
                org=links[m.source.dataset][1])
            for m in metrics if isinstance(m.source, DatasetSource) and m.source.dataset in links
            and (m.source.time_column, m.source.org_column) != links[m.source.dataset]]


def apply_metrics(wh: Warehouse, metrics: list[Metric], *, problems: list[str] | None = None,
                  reason: str | None = None, user: str | Actor = "admin", dry_run: bool = False) -> ApplyResult:
    """Validate `metrics` against the whole dictionary and store the changed ones (admins only).

    A change needs a reason (kept with the new versions); a dry run, or applying definitions
    that are all unchanged, writes nothing and needs none."""
    user = acting(user, "metrics")
    problems = list(problems or [])
    existing = current(wh)
    merged = {**existing, **{m.code: m for m in metrics}}
    problems += check_references(merged, dataset_columns(wh))
    problems += _check_phasing(wh, metrics)
    problems += _check_linked(wh, metrics)
    if problems:
        raise ValidationFailed(Msg("store_metric_problems", n=len(problems)), problems)
    result = ApplyResult()
    with wh.connect() as con:
        versions = dict(con.execute("SELECT code, max(version) FROM metric_version GROUP BY code").fetchall())
    changes = []
    for m in metrics:
        old = existing.get(m.code)
        if old is not None and _canonical(old.definition()) == _canonical(m.definition()):
            result.unchanged.append(m.code)
            continue
        (result.updated if old else result.created).append(m.code)
        changes.append((m, old, versions.get(m.code, 0) + 1))
    if dry_run or not changes:
        return result
    reason = reasons.required_reason(reason, reasons.METRICS)
    with wh.transaction() as con:
        at = now()
        for m, old, version in changes:
            con.execute("INSERT INTO metric_version VALUES (?, ?, ?, ?, ?, ?)",
                        [m.code, version, json.dumps(m.definition(), ensure_ascii=False), reason, user, at])
            audit.record(con, user, "update" if old else "create", "metric", m.code,
                         before=old.definition() if old else None, after=m.definition(), reason=reason)
        _build_partials(con, [(m, version) for m, _, version in changes])
    return result


def _build_partials(con, changed: list[tuple[Metric, int]]) -> None:
    """New versions of dataset metrics get their month × org partials (engine/aggregate.py)."""
    for m, version in changed:
        if isinstance(m.source, DatasetSource):
            refresh(con, m, version, column_names(con, m.source.dataset))


def history(wh: Warehouse, code: str) -> list[dict]:
    """Every version of a metric, oldest first, with who, when and why."""
    with wh.connect() as con:
        rows = con.execute(
            "SELECT version, definition, reason, user_name, created_at FROM metric_version "
            "WHERE code = ? ORDER BY version", [code]).fetchall()
    if not rows:
        raise NotFound(Msg("store_no_metric", metric=code))
    return [{"version": v, "definition": json.loads(d), "reason": r, "user": u, "at": at.isoformat()}
            for v, d, r, u, at in rows]


def export(wh: Warehouse, out_dir: str | Path | None = None) -> str:
    """The whole dictionary as YAML; written to out_dir/metrics.yaml when given."""
    text = to_yaml(list(current(wh).values()))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.yaml").write_text(text, encoding="utf-8")
    return text
