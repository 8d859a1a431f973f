"""YAML documents of definitions as code (metrics, boards): one top-level key holding a list."""

from __future__ import annotations

import yaml

from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg


def items(text: str, key: str, source: str) -> list:
    """The list under `key`, the document's only top-level key; refused naming `source` otherwise."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(Msg("model_yaml_invalid", source=source, detail=str(exc))) from None
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise ValidationFailed(Msg("model_yaml_needs_list", source=source, key=key))
    extra = set(doc) - {key}
    if extra:
        raise ValidationFailed(Msg("model_yaml_unknown_keys", source=source, keys=", ".join(sorted(extra))))
    return doc[key]
