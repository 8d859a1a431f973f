"""kpi actions: (being built; see issue 15)."""
