"""The app's pages and which roles see them in the menu (settings as data).

The menu only leaves out pages a role has no use for; every page still asks kpi_core, which
refuses whatever the signed-in user may not see or change."""

from __future__ import annotations

from pages import through_app

through_app()  # never straight from this folder: see pages/__init__.py

# key: (script, title key, icon, roles that see it; None = everyone)
PAGES: dict[str, tuple[str, str, str, frozenset[str] | None]] = {
    "cockpit": ("pages/cockpit.py", "cockpit", ":material/speed:", None),
    "boards": ("pages/boards.py", "boards", ":material/dashboard_customize:", None),
    "metrics": ("pages/metrics.py", "metric_center", ":material/menu_book:", None),
    "upload": ("pages/upload.py", "upload", ":material/upload_file:", frozenset({"admin", "manager", "team_lead"})),
    "targets": ("pages/targets.py", "targets_page", ":material/flag:", frozenset({"admin", "manager", "executive"})),
    "scorecards": ("pages/scorecards.py", "scorecards", ":material/checklist:", None),
    "actions": ("pages/actions.py", "ac_title", ":material/task_alt:", None),
    "alerts": ("pages/alerts.py", "alerts_page", ":material/notifications_active:", None),
    "inbox": ("pages/inbox.py", "inbox", ":material/inbox:", None),
    "reviews": ("pages/reviews.py", "reviews", ":material/rate_review:", None),
    "start": ("pages/start.py", "start", ":material/rocket_launch:", frozenset({"admin"})),
    "admin": ("pages/admin.py", "admin", ":material/settings:", frozenset({"admin"})),
    "overview": ("pages/overview.py", "home", ":material/dashboard:", frozenset({"admin", "executive"})),
}


def menu(role: str) -> list[str]:
    """The page keys in the menu of a role, in order."""
    return [key for key, (_path, _title, _icon, roles) in PAGES.items() if roles is None or role in roles]
