"""A notification as it leaves the product: already rendered for one recipient (language, access)."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("alert", "subscription", "action", "system")


@dataclass(frozen=True)
class Attachment:
    name: str
    mime: str
    content: bytes


@dataclass(frozen=True)
class Notice:
    """What one recipient is told. Whoever builds it has already kept to the recipient's access:
    the stores and channels below send it as it is."""

    kind: str                    # one of KINDS
    subject: str
    body: str                    # plain text, lines separated by \n
    ref: str | None = None       # what it is about, e.g. "alert:cost_red:cost:D1:2026-10"
    link: str | None = None      # app-relative, e.g. "?org=D1&period=2026-10"
    rows: tuple[dict, ...] = ()  # a small table that goes with it
    attachments: tuple[Attachment, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"notice kind {self.kind!r} is not one of {KINDS}")
