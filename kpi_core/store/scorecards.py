"""Scorecards per unit in the warehouse: the current one of each unit, versions with reasons,
YAML apply and export (the definition and its checks are kpi_core/model/scorecard.py)."""

from __future__ import annotations

import json
from pathlib import Path

from kpi_core.model import access, reasons, yamldoc
from kpi_core.model.access import Actor, as_actor
from kpi_core.model.errors import NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.scorecard import ScorecardDef, check, parse, to_yaml
from kpi_core.store import audit
from kpi_core.store.dictionary import ApplyResult
from kpi_core.store.dictionary import current as current_metrics
from kpi_core.store.org import tree as org_tree
from kpi_core.store.warehouse import Warehouse, now

CHANGE = "doing_scorecards"


def _canonical(card: ScorecardDef) -> str:
    return json.dumps(card.definition(), sort_keys=True, ensure_ascii=False)


def current(wh: Warehouse) -> dict[str, ScorecardDef]:
    """Every unit's own scorecard (its latest version, unless that removed it), by unit code."""
    with wh.connect() as con:
        rows = con.execute(
            "SELECT definition FROM scorecard_version v WHERE NOT removed AND version = "
            "(SELECT max(version) FROM scorecard_version w WHERE w.org = v.org) ORDER BY org").fetchall()
    return {c.org: c for c in (ScorecardDef.model_validate(json.loads(d)) for (d,) in rows)}


def history(wh: Warehouse, org: str) -> list[dict]:
    """Every version of a unit's scorecard, oldest first, with who, when and why."""
    with wh.connect() as con:
        rows = con.execute("SELECT version, definition, removed, reason, user_name, created_at "
                           "FROM scorecard_version WHERE org = ? ORDER BY version", [org]).fetchall()
    return [{"version": v, "definition": json.loads(d), "removed": r, "reason": why, "user": u, "at": at.isoformat()}
            for v, d, r, why, u, at in rows]


def read_file(path: str | Path) -> tuple[list[ScorecardDef], list[Msg]]:
    """Definitions and problems from a YAML file holding a `scorecards:` list."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(Msg("store_no_such_path", path=str(path)))
    return parse(yamldoc.items(path.read_text(encoding="utf-8"), "scorecards", path.name), path.name)


def apply_file(wh: Warehouse, path: str | Path, *, reason: str | None = None, user: str | Actor = "admin",
               dry_run: bool = False) -> ApplyResult:
    cards, problems = read_file(path)
    return apply(wh, cards, problems=problems, reason=reason, user=user, dry_run=dry_run)


def apply_raw(wh: Warehouse, raw: list, *, reason: str | None = None, user: str | Actor = "admin",
              dry_run: bool = False) -> ApplyResult:
    """Definitions as plain data (an editor's rows), checked like a file's."""
    cards, problems = parse(raw, "scorecard")
    return apply(wh, cards, problems=problems, reason=reason, user=user, dry_run=dry_run)


def apply(wh: Warehouse, cards: list[ScorecardDef], *, problems: list[Msg] | None = None,
          reason: str | None = None, user: str | Actor = "admin", dry_run: bool = False) -> ApplyResult:
    """Create or update units' scorecards, all or nothing. Admins set any unit's; managers those in
    their subtree. A change needs a reason, kept with the new version."""
    actor = as_actor(user)
    access.require(actor, "scorecards")
    tree = org_tree(wh)
    metrics = current_metrics(wh)
    problems = list(problems or [])
    for card in cards:
        problems += check(card, metrics, tree)
    if problems:
        raise ValidationFailed(Msg("store_scorecard_problems", n=len(problems)), problems)
    for card in cards:
        access.check(actor, tree, "scorecards", card.org)
    existing = current(wh)
    result = ApplyResult()
    changes = []
    for card in cards:
        old = existing.get(card.org)
        if old is not None and _canonical(old) == _canonical(card):
            result.unchanged.append(card.org)
            continue
        (result.updated if old else result.created).append(card.org)
        changes.append((card, old))
    if dry_run or not changes:
        return result
    reason = reasons.required_reason(reason, CHANGE)
    with wh.transaction() as con:
        _write(con, actor.name, reason, [(c, old, False) for c, old in changes])
    return result


def remove(wh: Warehouse, org: str, *, reason: str | None = None, user: str | Actor = "admin") -> None:
    """The unit stops having its own scorecard and inherits its nearest ancestor's again."""
    actor = as_actor(user)
    access.require(actor, "scorecards")
    access.check(actor, org_tree(wh), "scorecards", org)
    old = current(wh).get(org)
    if old is None:
        raise NotFound(Msg("store_no_scorecard", org=org))
    reason = reasons.required_reason(reason, CHANGE)
    with wh.transaction() as con:
        _write(con, actor.name, reason, [(old, old, True)])


def _write(con, user: str, reason: str, changes: list[tuple[ScorecardDef, ScorecardDef | None, bool]]) -> None:
    """New versions and their audit entries, in the caller's transaction."""
    versions = dict(con.execute("SELECT org, max(version) FROM scorecard_version GROUP BY org").fetchall())
    at = now()
    for card, old, removed in changes:
        con.execute("INSERT INTO scorecard_version VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [card.org, versions.get(card.org, 0) + 1, json.dumps(card.definition(), ensure_ascii=False),
                     user, at, reason, removed])
        action = "delete" if removed else ("update" if old else "create")
        audit.record(con, user, action, "scorecard", card.org, before=old.definition() if old else None,
                     after=None if removed else card.definition(), reason=reason)


def export(wh: Warehouse, out: str | Path | None = None) -> str:
    """Every unit's own scorecard as YAML; written to `out` when given."""
    text = to_yaml(list(current(wh).values()))
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text
