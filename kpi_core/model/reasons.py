"""Why a change was made: the changes a person must explain, and the check every way in shares.

The metric dictionary, the warehouse settings, targets (edited or cascaded) and reverting a batch
change what everyone reads, so each write says why. The write functions in kpi_core call
`required_reason`, so the CLI, the pages and scripts refuse the same input: no reason, or one
that is only spaces or invisible characters.
"""

from __future__ import annotations

from kpi_core.model.errors import ValidationFailed
from kpi_core.model.messages import Msg
from kpi_core.model.text import is_invisible

# What each change is called in the refusal ("a reason is required to <change>"): a message code.
METRICS = "doing_metrics"
SETTINGS = "doing_settings"
TARGETS = "doing_targets"
CASCADE = "doing_cascade"
REVERT = "doing_revert"


def required_reason(reason: object, change: str) -> str:
    """The reason, trimmed; ValidationFailed when there is none, or nothing a reader can see."""
    text = "" if reason is None else str(reason).strip()
    if not any(not ch.isspace() and not is_invisible(ch) for ch in text):
        raise ValidationFailed(Msg("reason_required", doing=Msg(change)))
    return text
