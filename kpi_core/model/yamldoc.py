"""YAML documents of definitions as code (metrics, boards): one top-level key holding a list."""

from __future__ import annotations

import yaml

from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg


def invalid(source: str, text: str, exc: yaml.YAMLError) -> Msg:
    """A YAML syntax error in the reader's language: where it is and that line's text (the parser's
    own explanation is English prose, so it is left out)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return Msg("model_yaml_unreadable", source=source)
    lines = text.splitlines()
    shown = lines[mark.line].strip()[:80] if mark.line < len(lines) else ""
    return Msg("model_yaml_invalid", source=source, line=mark.line + 1, column=mark.column + 1, text=shown or "—")


def items(text: str, key: str, source: str) -> list:
    """The list under `key`, the document's only top-level key; refused naming `source` otherwise."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(invalid(source, text, exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise ValidationFailed(Msg("model_yaml_needs_list", source=source, key=key))
    extra = set(doc) - {key}
    if extra:
        raise ValidationFailed(Msg("model_yaml_unknown_keys", source=source, keys=", ".join(sorted(extra))))
    return doc[key]
