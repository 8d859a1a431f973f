"""kpi alerts: (being built; see issue 15)."""
