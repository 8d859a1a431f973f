"""kpi channels: (being built; see issue 15)."""
