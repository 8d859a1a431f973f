"""Alert rules in the warehouse: the rules (versioned, audited), the state of each rule × metric ×
unit, the log of its transitions and the rules that fail; acknowledging and snoozing (SPEC §9).

The check that moves states is kpi_core/services/alerts.py; it writes through the functions
here inside one transaction, together with the notifications a change causes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from kpi_core.model import access
from kpi_core.model.access import Actor, as_actor
from kpi_core.model.alert import AlertRule, channel_names, check_rule, document, parse_rules, to_yaml
from kpi_core.model.errors import NotFound, ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.store import audit
from kpi_core.store.dictionary import ApplyResult
from kpi_core.store.dictionary import current as current_metrics
from kpi_core.store.org import tree as org_tree
from kpi_core.store.warehouse import Warehouse, now

STATES = ("ok", "firing", "acknowledged", "resolved")
SHOWN_STATES = (*STATES, "snoozed")


# ------------------------------------------------------------------ reasons kept as code and parameters


def reason_json(reason: Msg | None) -> str | None:
    """A reason as stored: its code and parameters (messages among them kept as messages)."""
    return None if reason is None else json.dumps(_plain(reason), ensure_ascii=False)


def _plain(value: object) -> object:
    if isinstance(value, Msg):
        return {"$msg": value.code, "params": {k: _plain(v) for k, v in value.params.items()}}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def reason_msg(text: str | None) -> Msg | None:
    """A stored reason as the message it was."""
    return None if text is None else _message(json.loads(text))


def _message(value: object) -> object:
    if isinstance(value, dict) and "$msg" in value:
        return Msg(value["$msg"], **{k: _message(v) for k, v in value["params"].items()})
    if isinstance(value, list):
        return [_message(v) for v in value]
    return value


# ------------------------------------------------------------------ rules


def current_rules(wh: Warehouse) -> dict[str, AlertRule]:
    """Every rule's latest version, unless that removed it, by code."""
    with wh.connect() as con:
        return rules_in(con)


def rules_in(con: duckdb.DuckDBPyConnection) -> dict[str, AlertRule]:
    rows = con.execute(
        "SELECT definition FROM alert_rule_version v WHERE NOT removed AND version = "
        "(SELECT max(version) FROM alert_rule_version w WHERE w.code = v.code) ORDER BY code").fetchall()
    return {r.code: r for r in (AlertRule.model_validate(json.loads(d)) for (d,) in rows)}


def get_rule(wh: Warehouse, code: str) -> AlertRule:
    rule = current_rules(wh).get(code)
    if rule is None:
        raise NotFound(Msg("alert_no_rule", rule=code))
    return rule


@dataclass
class FileRules:
    """What an alerts file holds: its rules, the problems found, and the channels it also defines
    (applied by `channels apply`, not here)."""

    rules: list[AlertRule]
    problems: list[Msg]
    channels: list[str]


def read_file(path: str | Path) -> FileRules:
    path = Path(path)
    if not path.is_file():
        raise NotFound(Msg("store_no_such_path", path=str(path)))
    return read_text(path.read_text(encoding="utf-8"), path.name)


def read_text(text: str, source: str) -> FileRules:
    """An alerts document's rules, problems and channel names (a file's text, or the page's editor)."""
    raw, others = document(text, source)
    rules, problems = parse_rules(raw, source)
    return FileRules(rules, problems, channel_names(others))


def _known(wh: Warehouse) -> tuple[set[str], set[str]]:
    """The user names and channel names the warehouse has."""
    with wh.connect() as con:
        users = {n for (n,) in con.execute("SELECT name FROM app_user").fetchall()}
        channels = {n for (n,) in con.execute("SELECT name FROM channel").fetchall()}
    return users, channels


def apply_rules(wh: Warehouse, rules: list[AlertRule], *, problems: list[Msg] | None = None,
                channels_defined: list[str] = (), reason: str | None = None, user: str | Actor = "admin",
                dry_run: bool = False) -> ApplyResult:
    """Create or update rules, all or nothing (admins only: rules reach every unit's numbers).
    A channel may be one the same file defines for `channels apply`."""
    name = access.acting(user, "settings")
    problems = list(problems or [])
    users, channels = _known(wh)
    metrics, tree = current_metrics(wh), org_tree(wh)
    for rule in rules:
        problems += check_rule(rule, metrics, tree, users, channels | set(channels_defined))
    if problems:
        raise ValidationFailed(Msg("alert_rule_problems", n=len(problems)), problems)
    existing, result, changes = current_rules(wh), ApplyResult(), []
    for rule in rules:
        old = existing.get(rule.code)
        if old is not None and _canonical(old) == _canonical(rule):
            result.unchanged.append(rule.code)
            continue
        (result.updated if old else result.created).append(rule.code)
        changes.append((rule, old, False))
    if not dry_run and changes:
        with wh.transaction(bump=False) as con:
            _write(con, name, reason, changes)
    return result


def apply_file(wh: Warehouse, path: str | Path, *, reason: str | None = None, user: str | Actor = "admin",
               dry_run: bool = False) -> tuple[ApplyResult, list[str]]:
    """Apply a file's rules; returns the result and the channels the file defines (not applied)."""
    return apply_found(wh, read_file(path), reason=reason, user=user, dry_run=dry_run)


def apply_text(wh: Warehouse, text: str, *, source: str = "alerts.yaml", reason: str | None = None,
               user: str | Actor = "admin") -> tuple[ApplyResult, list[str]]:
    """Apply the rules of an alerts document given as text (the page's editor), checked as a file's."""
    return apply_found(wh, read_text(text, source), reason=reason, user=user)


def apply_found(wh: Warehouse, found: FileRules, *, reason: str | None = None, user: str | Actor = "admin",
                dry_run: bool = False) -> tuple[ApplyResult, list[str]]:
    """Apply rules already read (from a file or the page's editor); returns the result and the file's channels."""
    result = apply_rules(wh, found.rules, problems=found.problems, channels_defined=found.channels,
                         reason=reason, user=user, dry_run=dry_run)
    return result, found.channels


def remove_rule(wh: Warehouse, code: str, *, reason: str | None = None, user: str | Actor = "admin") -> None:
    """The rule stops being checked; its states and events stay in the log."""
    name = access.acting(user, "settings")
    old = get_rule(wh, code)
    with wh.transaction(bump=False) as con:
        _write(con, name, reason, [(old, old, True)])


def _canonical(rule: AlertRule) -> str:
    return json.dumps(rule.definition(), sort_keys=True, ensure_ascii=False)


def _write(con, user: str, reason: str | None, changes: list[tuple[AlertRule, AlertRule | None, bool]]) -> None:
    versions = dict(con.execute("SELECT code, max(version) FROM alert_rule_version GROUP BY code").fetchall())
    at = now()
    for rule, old, removed in changes:
        con.execute("INSERT INTO alert_rule_version VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [rule.code, versions.get(rule.code, 0) + 1, json.dumps(rule.definition(), ensure_ascii=False),
                     removed, user, at, reason])
        action = "delete" if removed else ("update" if old else "create")
        audit.record(con, user, action, "alert_rule", rule.code, before=old.definition() if old else None,
                     after=None if removed else rule.definition(), reason=reason)


def export(wh: Warehouse) -> str:
    return to_yaml(list(current_rules(wh).values()))


# ------------------------------------------------------------------ states


@dataclass
class AlertState:
    id: int
    rule: str
    metric: str
    org: str
    state: str
    period: str | None
    since: dt.datetime
    value: float | None
    reason: Msg | None
    last_notified_at: dt.datetime | None
    snoozed_until: dt.date | None
    acked_by: str | None
    acked_at: dt.datetime | None
    checked_at: dt.datetime

    def snoozed(self, today: dt.date) -> bool:
        return self.snoozed_until is not None and today <= self.snoozed_until

    def shown(self, today: dt.date) -> str:
        """The state as listed: `snoozed` while a snooze lasts."""
        return "snoozed" if self.snoozed(today) else self.state

    def as_dict(self, today: dt.date) -> dict:
        out = asdict(self)
        out["reason"] = self.reason  # a Msg: its English text in JSON, the reader's language on a page
        out["state"] = self.shown(today)
        return out


_COLUMNS = ("id, rule, metric, org, state, period, since, value, reason, last_notified_at, snoozed_until, "
            "acked_by, acked_at, checked_at")


def _state(row: tuple) -> AlertState:
    values = list(row)
    values[8] = reason_msg(values[8])
    return AlertState(*values)


def states_in(con: duckdb.DuckDBPyConnection, rule: str | None = None) -> dict[tuple[str, str, str], AlertState]:
    """The states (of one rule, or all) by (rule, metric, org)."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM alert_state WHERE ? IS NULL OR rule = ? ORDER BY id",
                       [rule, rule]).fetchall()
    return {(s.rule, s.metric, s.org): s for s in map(_state, rows)}


def new_state(con: duckdb.DuckDBPyConnection, rule: str, metric: str, org: str, state: str, *, period: str | None,
              value: float | None, reason: Msg | None, at: dt.datetime) -> AlertState:
    row = con.execute(
        f"INSERT INTO alert_state (rule, metric, org, state, period, since, value, reason, checked_at) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
        [rule, metric, org, state, period, at, value, reason_json(reason), at]).fetchall()[0]
    return _state(row)


def save_state(con: duckdb.DuckDBPyConnection, s: AlertState) -> None:
    """Write back a state's changeable columns."""
    con.execute("UPDATE alert_state SET state = ?, period = ?, since = ?, value = ?, reason = ?, "
                "last_notified_at = ?, snoozed_until = ?, acked_by = ?, acked_at = ?, checked_at = ? WHERE id = ?",
                [s.state, s.period, s.since, s.value, reason_json(s.reason), s.last_notified_at, s.snoozed_until,
                 s.acked_by, s.acked_at, s.checked_at, s.id])


def add_event(con: duckdb.DuckDBPyConnection, s: AlertState, state: str, at: dt.datetime) -> int:
    """Log one transition (firing or resolved) of a state, with its reason."""
    return con.execute(
        "INSERT INTO alert_event (state_id, rule, metric, org, period, state, value, reason, happened_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [s.id, s.rule, s.metric, s.org, s.period, state, s.value, reason_json(s.reason), at]).fetchall()[0][0]


def list_states(wh: Warehouse, actor: str | Actor = "admin", *, today: dt.date | None = None) -> list[dict]:
    """The state of each current rule × metric × unit the actor may read, as
    {id, rule, metric, org, period, state, …} with state ok|firing|acknowledged|resolved|snoozed."""
    actor, today = as_actor(actor), today or now().date()
    tree = org_tree(wh)
    with wh.connect() as con:
        rules = rules_in(con)
        found = states_in(con)
    return [s.as_dict(today) for s in found.values()
            if s.rule in rules and s.org in tree and access.can(actor, tree, "read", s.org)]


def events(wh: Warehouse, actor: str | Actor = "admin", *, limit: int = 200) -> list[dict]:
    """The latest transitions the actor may read, newest first."""
    actor, tree = as_actor(actor), org_tree(wh)
    with wh.connect() as con:
        rows = con.execute("SELECT id, state_id, rule, metric, org, period, state, value, reason, happened_at "
                           "FROM alert_event ORDER BY id DESC LIMIT ?", [limit * 4]).fetchall()
    keys = ("id", "state_id", "rule", "metric", "org", "period", "state", "value", "reason", "happened_at")
    out = []
    for row in rows:
        e = dict(zip(keys, row, strict=True))
        if e["org"] in tree and access.can(actor, tree, "read", e["org"]):
            e["reason"] = reason_msg(e["reason"])
            out.append(e)
    return out[:limit]


def _one(wh: Warehouse, actor: Actor, state_id: int) -> AlertState:
    """A state the actor may read; NotFound for one that is not there or out of their reach (a
    unit they may not read is not confirmed to exist)."""
    with wh.connect() as con:
        rows = con.execute(f"SELECT {_COLUMNS} FROM alert_state WHERE id = ?", [state_id]).fetchall()
    tree = org_tree(wh)
    if not rows or not (rows[0][3] in tree and access.can(actor, tree, "read", rows[0][3])):
        raise NotFound(Msg("alert_no_state", id=state_id))
    return _state(rows[0])


def ack(wh: Warehouse, state_id: int, user: str | Actor = "admin", *, at: dt.datetime | None = None) -> AlertState:
    """Acknowledge a firing alert: no more notices until it resolves (audited)."""
    actor, at = as_actor(user), at or now()
    s = _one(wh, actor, state_id)
    with wh.transaction(bump=False) as con:
        s = _state(con.execute(f"SELECT {_COLUMNS} FROM alert_state WHERE id = ?", [state_id]).fetchall()[0])
        if s.state != "firing":
            raise ValidationFailed(Msg("alert_ack_not_firing", id=state_id, state=Msg(f"alert_state_{s.state}")))
        before = {"state": s.state}
        s.state, s.acked_by, s.acked_at, s.since = "acknowledged", actor.name, at, at
        save_state(con, s)
        audit.record(con, actor.name, "acknowledge", "alert", _key(s), before=before,
                     after={"state": s.state, "period": s.period})
    return s


def snooze(wh: Warehouse, state_id: int, until: dt.date, user: str | Actor = "admin", *,
           today: dt.date | None = None) -> AlertState:
    """No notices for this rule × metric × unit up to and including `until` (audited); the state
    keeps following the data meanwhile."""
    actor, today = as_actor(user), today or now().date()
    if until < today:
        raise ValidationFailed(Msg("alert_snooze_past", until=until.isoformat(), today=today.isoformat()))
    s = _one(wh, actor, state_id)
    with wh.transaction(bump=False) as con:
        before = {"snoozed_until": s.snoozed_until}
        con.execute("UPDATE alert_state SET snoozed_until = ? WHERE id = ?", [until, state_id])
        audit.record(con, actor.name, "snooze", "alert", _key(s), before=before, after={"snoozed_until": until})
    s.snoozed_until = until
    return s


def _key(s: AlertState) -> str:
    return f"{s.rule}:{s.metric}:{s.org}"


# ------------------------------------------------------------------ failing rules and who is told


def failures_in(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The rules whose evaluation fails, with the error."""
    return dict(con.execute("SELECT rule, error FROM alert_failure").fetchall())


def set_failure(con: duckdb.DuckDBPyConnection, rule: str, error: str, at: dt.datetime) -> bool:
    """Record that a rule fails; True when this is news (it did not fail, or failed otherwise)."""
    old = failures_in(con).get(rule)
    if old == error:
        con.execute("UPDATE alert_failure SET last_checked_at = ? WHERE rule = ?", [at, rule])
        return False
    con.execute("DELETE FROM alert_failure WHERE rule = ?", [rule])
    con.execute("INSERT INTO alert_failure VALUES (?, ?, ?, ?)", [rule, error, at, at])
    return True


def clear_failure(con: duckdb.DuckDBPyConnection, rule: str) -> bool:
    """The rule evaluates again; True when it had been failing."""
    return bool(con.execute("DELETE FROM alert_failure WHERE rule = ? RETURNING rule", [rule]).fetchall())


def admins_in(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [n for (n,) in con.execute("SELECT name FROM app_user WHERE role = 'admin' AND active "
                                      "ORDER BY name").fetchall()]


def channel_langs(wh: Warehouse) -> dict[str, str]:
    """The language each channel's messages are written in, where its definition sets one."""
    with wh.connect() as con:
        rows = con.execute("SELECT name, definition FROM channel").fetchall()
    langs = {name: json.loads(d).get("lang") for name, d in rows}
    return {name: lang for name, lang in langs.items() if lang in ("zh", "en")}
