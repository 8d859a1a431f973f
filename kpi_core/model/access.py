"""Who may read and change what (SPEC §7): roles as data, scopes as sets of org units.

Every read and write in kpi_core that the app or the CLI reaches takes an `Actor`. A plain
string in place of an actor is a trusted in-process caller (a script, the demo loader, a
test): it acts with the admin role under that name, as the CLI does without `--user`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from kpi_core.model.errors import AccessDenied
from kpi_core.model.messages import Msg
from kpi_core.model.org import OrgTree

Role = Literal["admin", "executive", "manager", "team_lead", "employee"]
ROLES: tuple[Role, ...] = ("admin", "executive", "manager", "team_lead", "employee")

# How far each role reaches: "all" the tree, the "subtree" of the user's own units, "own" units
# (plus their team's total, read-only), or None (not at all).
Reach = Literal["all", "subtree", "own"] | None
RULES: dict[Role, dict[str, Reach]] = {
    #              read        actuals     targets     boards      scorecards (what a unit is judged on)
    #              reviews (run a review cycle: move it on, choose raters, rate as manager, calibrate)
    "admin":     {"read": "all", "actuals": "all", "targets": "all", "boards": "all", "scorecards": "all",
                  "reviews": "all"},
    "executive": {"read": "all", "actuals": None, "targets": None, "boards": "all", "scorecards": None,
                  "reviews": None},
    "manager":   {"read": "subtree", "actuals": None, "targets": "subtree", "boards": "subtree",
                  "scorecards": "subtree", "reviews": "subtree"},
    "team_lead": {"read": "subtree", "actuals": "subtree", "targets": None, "boards": None, "scorecards": None,
                  "reviews": None},
    "employee":  {"read": "own", "actuals": None, "targets": None, "boards": None, "scorecards": None,
                  "reviews": None},
}
# Capabilities that are the admin's alone: the dictionary, the org tree, datasets and source
# databases, settings, users, the audit log and closing periods.
ADMIN_ONLY = frozenset({"metrics", "org", "datasets", "settings", "users", "audit", "periods"})

Capability = Literal["read", "actuals", "targets", "boards", "scorecards", "reviews"]


@dataclass(frozen=True)
class Actor:
    """A user acting: name (for the record), role, and the org units they belong to."""

    name: str
    role: Role = "admin"
    orgs: tuple[str, ...] = field(default=())

    def reach(self, capability: Capability) -> Reach:
        return RULES[self.role][capability]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def describe(self) -> Msg:
        """Who this is, as a refusal names them: 'li (team_lead of EAST)'."""
        if self.orgs:
            return Msg("actor_of_units", name=self.name, role=Msg(f"role_{self.role}"), units=", ".join(self.orgs))
        return Msg("actor", name=self.name, role=Msg(f"role_{self.role}"))


def as_actor(user: str | Actor) -> Actor:
    """An Actor as it is; a name is a trusted caller with the admin role."""
    return user if isinstance(user, Actor) else Actor(str(user), "admin")


def units(actor: Actor, tree: OrgTree, capability: Capability = "read") -> frozenset[str] | None:
    """The units the actor may read (or write, for a write capability); None means all of them."""
    reach = actor.reach(capability)
    if reach == "all":
        return None
    own = [o for o in actor.orgs if o in tree]
    if reach == "subtree":
        return frozenset(u for o in own for u in tree.subtree(o))
    if reach == "own":  # only reading reaches "own": the user's units and their team's total
        return frozenset(own) | frozenset({tree.unit(o).parent for o in own} - {None})
    return frozenset()


def home(actor: Actor, tree: OrgTree) -> str | None:
    """Where the actor starts: the top of the tree if they read it all, else their first unit."""
    if actor.reach("read") == "all":
        return tree.root
    return next((o for o in actor.orgs if o in tree), None)


def can(actor: Actor, tree: OrgTree, capability: Capability, unit: str) -> bool:
    allowed = units(actor, tree, capability)
    return allowed is None or unit in allowed


def check(actor: Actor, tree: OrgTree, capability: Capability, unit: str) -> None:
    """Refuse, naming the unit, unless the actor may use `capability` on it."""
    if not can(actor, tree, capability, unit):
        raise AccessDenied(Msg(f"access_unit_{capability}", who=actor.describe(), unit=unit))


def outside(actor: Actor, tree: OrgTree, capability: Capability, wanted: Iterable[str]) -> list[str]:
    """The units of `wanted` the actor may not use `capability` on, in order, once each."""
    allowed = units(actor, tree, capability)
    if allowed is None:
        return []
    return list(dict.fromkeys(u for u in wanted if u not in allowed))


# Every capability a refusal may name (each has a doing_<capability> text in the catalogs).
CAPABILITIES = ("read", "actuals", "targets", "boards", "scorecards", "reviews", "metrics", "org", "datasets",
                "settings", "users", "audit", "periods")


def doing(capability: str) -> Msg:
    """What a capability lets a user do, as a refusal says it: "… may not load actuals"."""
    return Msg(f"doing_{capability}")


def roles_with(capability: str) -> list[Role]:
    """The roles that have a capability at all, in ROLES order."""
    if capability in ADMIN_ONLY:
        return ["admin"]
    return [r for r in ROLES if RULES[r].get(capability) is not None]


def require(actor: Actor, capability: str) -> None:
    """Refuse unless the actor's role has the capability at all (admin-only ones included)."""
    if actor.role not in roles_with(capability):
        roles = [Msg(f"role_{r}") for r in roles_with(capability)]
        either = roles[0] if len(roles) == 1 else Msg("either", first=roles[:-1], last=roles[-1])
        raise AccessDenied(Msg("access_needs_role", who=actor.describe(), doing=doing(capability), roles=either))


def visible_units(actor: Actor, tree: OrgTree, wanted: Iterable[str], capability: Capability = "read") -> list[str]:
    """`wanted` cut down to what the actor may read (or use `capability` on), order kept."""
    allowed = units(actor, tree, capability)
    return [u for u in wanted if allowed is None or u in allowed]


def acting(user: str | Actor, capability: str) -> str:
    """The name to record for a change that needs `capability`; refused unless the user has it."""
    actor = as_actor(user)
    require(actor, capability)
    return actor.name
