"""The org tree: company → division → department → team → person, any depth; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from kpi_core.model.errors import NotFound
from kpi_core.model.messages import Msg
from kpi_core.model.text import is_invisible, key, visible


@dataclass(frozen=True)
class OrgUnit:
    code: str
    name: str
    parent: str | None
    depth: int
    path: tuple[str, ...]  # codes from the root down to this unit


@dataclass
class OrgTree:
    """The current tree, with children lists and name lookup."""

    units: dict[str, OrgUnit] = field(default_factory=dict)
    children: dict[str | None, list[str]] = field(default_factory=dict)
    _keys: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def root(self) -> str | None:
        roots = self.children.get(None, [])
        return roots[0] if roots else None

    def __contains__(self, code: str) -> bool:
        return code in self.units

    def __len__(self) -> int:
        return len(self.units)

    def unit(self, code: str) -> OrgUnit:
        if code not in self.units:
            raise NotFound(Msg("model_no_org_unit", unit=visible(code)))
        return self.units[code]

    def find(self, text: object) -> list[str]:
        """The codes `text` names when compared folded and without letter case (SPEC §5): one,
        or none; several only where codes made before that rule collide."""
        if not self._keys and self.units:
            for code in self.units:
                self._keys.setdefault(key(code), []).append(code)
        return self._keys.get(key(text), [])

    def resolve(self, text: object) -> str:
        """The code of the unit `text` names (a code typed in another width or case, a link);
        NotFound naming it otherwise."""
        codes = self.find(text)
        if len(codes) == 1:
            return codes[0]
        if codes:
            raise NotFound(Msg("model_org_code_matches_several", unit=visible(text), units=visible(", ".join(codes))))
        raise NotFound(Msg("model_no_org_unit", unit=visible(text)))

    def subtree(self, code: str) -> list[str]:
        """The unit and everything below it, parents before children."""
        self.unit(code)
        out, stack = [], [code]
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(reversed(self.children.get(c, [])))
        return out

    def by_name(self) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {}
        for u in self.units.values():
            names.setdefault(u.name, []).append(u.code)
        return names


def build_tree(rows: list[tuple[str, str, str | None]]) -> OrgTree:
    """A tree from (code, name, parent) rows already known to be valid."""
    t = OrgTree()
    parent_of = {c: p for c, _, p in rows}
    for code, _, parent in rows:
        t.children.setdefault(parent, []).append(code)
    for code, name, parent in rows:
        path, p = [code], parent
        while p is not None and len(path) <= len(rows):
            path.append(p)
            p = parent_of.get(p)
        path.reverse()
        t.units[code] = OrgUnit(code, name, parent, len(path) - 1, tuple(path))
    return t


def tree_problems(rows: dict[str, tuple[str, str | None]]) -> list[tuple[str, str]]:
    """(code, message) for unknown parents, cycles and more than one root."""
    out = []
    for code, (_, parent) in rows.items():
        if parent is not None and parent not in rows:
            out.append((code, Msg("model_org_parent_unknown", parent=parent)))
    roots = [c for c, (_, p) in rows.items() if p is None]
    if len(roots) > 1:
        out += [(c, Msg("model_org_several_roots", roots=", ".join(roots[:5]))) for c in roots[1:]]
    for code in rows:
        seen, p = {code}, rows[code][1]
        while p is not None and p in rows:
            if p in seen:
                out.append((code, Msg("model_org_cycle", unit=code)))
                break
            seen.add(p)
            p = rows[p][1]
    return out


def clean_name(v: object) -> str:
    """A unit's name as stored: trimmed, invisible characters removed (two names that look the
    same are the same), otherwise as written."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return "".join(ch for ch in str(v) if ch in " \t" or not is_invisible(ch)).strip()
