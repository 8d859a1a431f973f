"""YAML documents of definitions as code (metrics, boards): one top-level key holding a list."""

from __future__ import annotations

import yaml

from kpi_core.model.errors import ValidationFailed


def items(text: str, key: str, source: str) -> list:
    """The list under `key`, the document's only top-level key; refused naming `source` otherwise."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise ValidationFailed(f"{source} must hold '{key}:' with a list of {key}")
    extra = set(doc) - {key}
    if extra:
        raise ValidationFailed(f"{source}: unknown top-level key(s): {', '.join(sorted(extra))}")
    return doc[key]
