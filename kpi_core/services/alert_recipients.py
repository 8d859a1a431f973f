"""Who hears of an alert and what each is told: users by name, a unit's manager or team lead, the
metric's owner, channels; one notice per recipient per check, in their language and naming only
the units they may read (SPEC §9 "Recipients and channels")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from kpi_core.auth import users
from kpi_core.model import access
from kpi_core.model.access import Actor
from kpi_core.model.alert import AlertRule
from kpi_core.model.messages import Msg
from kpi_core.model.metric import Metric
from kpi_core.model.notice import Notice
from kpi_core.model.org import OrgTree
from kpi_core.store import prefs
from kpi_core.store.warehouse import Warehouse

DEFAULT_LANG = "zh"


@dataclass(frozen=True)
class Person:
    name: str
    actor: Actor
    lang: str


@dataclass(frozen=True)
class Told:
    """One thing to tell about a rule × metric × unit: it fired, resolved, or is still firing."""

    rule: str
    metric: str
    org: str
    period: str | None
    state: str          # firing | resolved
    reason: Msg | None
    value: float | None
    repeat: bool = False  # a renotice of an alert still firing


def staff(wh: Warehouse) -> dict[str, Person]:
    """Every active user with their access and language (default zh)."""
    out = {}
    for u in users.list_users(wh):
        if u.active:
            lang = prefs.get(wh, u.name, "lang") or DEFAULT_LANG
            out[u.name] = Person(u.name, u.actor(), lang if lang in ("zh", "en") else DEFAULT_LANG)
    return out


def holders(role: str, org: str, tree: OrgTree, people: dict[str, Person]) -> list[str]:
    """The users with `role` whose units include `org`, else its nearest ancestor that has one."""
    for code in reversed(tree.unit(org).path):
        found = sorted(p.name for p in people.values() if p.actor.role == role and code in p.actor.orgs)
        if found:
            return found
    return []


def people_for(rule: AlertRule, metric: Metric | None, org: str, tree: OrgTree,
               people: dict[str, Person]) -> list[str]:
    """The users a rule tells about one metric × unit (active ones, once each)."""
    out: list[str] = []
    for r in rule.notify:
        if r.user is not None:
            out.append(r.user)
        elif r.unit_role == "metric_owner":
            out += [metric.owner] if metric is not None and metric.owner else []
        elif r.unit_role is not None and org in tree:
            out += holders(r.unit_role, org, tree, people)
    return [n for n in dict.fromkeys(out) if n in people]


def channels_of(rule: AlertRule) -> list[str]:
    return [r.channel for r in rule.notify if r.channel is not None]


def _org_name(tree: OrgTree, org: str) -> str:
    return f"{tree.unit(org).name} ({org})" if org in tree else org


def _metric_name(metrics: dict[str, Metric], code: str, lang: str) -> str:
    m = metrics.get(code)
    return m.display_name(lang) if m is not None else code


def _state_word(t: Told) -> Msg:
    return Msg("alert_told_still_firing") if t.repeat else Msg(f"alert_state_{t.state}")


def link(t: Told) -> str:
    return "?" + urlencode({"org": t.org, **({"period": t.period} if t.period else {})})


def notice(items: list[Told], lang: str, tree: OrgTree, metrics: dict[str, Metric]) -> Notice:
    """One notice about `items` (already kept to what its reader may see), in `lang`."""
    first = items[0]
    if len(items) == 1:
        subject = Msg("alert_subject_one", state=_state_word(first), rule=first.rule,
                      metric=_metric_name(metrics, first.metric, lang), org=_org_name(tree, first.org),
                      period=first.period or "-")
        ref = f"alert:{first.rule}:{first.metric}:{first.org}:{first.period or '-'}"
    else:
        firing, resolved = sum(t.state == "firing" for t in items), sum(t.state == "resolved" for t in items)
        # "7 firing", "2 resolved" or both: a count of none is left out
        subject = (Msg("alert_subject_many", firing=firing, resolved=resolved) if firing and resolved
                   else Msg("alert_subject_firing", n=firing) if firing else Msg("alert_subject_resolved", n=resolved))
        rules = {t.rule for t in items}
        ref = f"alert:{first.rule}" if len(rules) == 1 else "alert"
    lines, rows = [], []
    for t in items:
        reason = t.reason.render(lang) if t.reason is not None else ""
        lines.append(Msg("alert_line", state=_state_word(t), rule=t.rule, metric=_metric_name(metrics, t.metric, lang),
                         org=_org_name(tree, t.org), period=t.period or "-", reason=reason).render(lang))
        rows.append({"rule": t.rule, "metric": t.metric, "org": t.org, "period": t.period,
                     "state": "firing" if t.repeat else t.state, "value": t.value, "reason": reason})
    return Notice("alert", subject.render(lang), "\n".join(lines), ref=ref, link=link(first), rows=tuple(rows))


def for_people(items: Iterable[tuple[Told, list[str]]], people: dict[str, Person], tree: OrgTree,
               metrics: dict[str, Metric]) -> list[tuple[str, Notice]]:
    """One notice per user, listing what they are told about, cut to the units they may read."""
    mine: dict[str, list[Told]] = {}
    for t, names in items:
        for name in names:
            p = people[name]
            if t.org in tree and access.can(p.actor, tree, "read", t.org):
                mine.setdefault(name, []).append(t)
    return [(name, notice(told, people[name].lang, tree, metrics)) for name, told in sorted(mine.items())]


def for_channels(items: Iterable[tuple[Told, list[str]]], langs: dict[str, str], tree: OrgTree,
                 metrics: dict[str, Metric]) -> list[tuple[str, Notice]]:
    """One notice per channel covering its rules' scope, in the channel's language (zh unless set)."""
    theirs: dict[str, list[Told]] = {}
    for t, channels in items:
        for c in channels:
            theirs.setdefault(c, []).append(t)
    return [(c, notice(told, langs.get(c) or DEFAULT_LANG, tree, metrics)) for c, told in sorted(theirs.items())]


def failure_notice(rule: str, error: str, lang: str) -> Notice:
    """What the admins are told when a rule cannot be evaluated."""
    return Notice("system", Msg("alert_failed_subject", rule=rule).render(lang),
                  Msg("alert_failed_body", rule=rule, error=error).render(lang), ref=f"alert-failure:{rule}")
